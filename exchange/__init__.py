"""The platform of the exchange: app factory, settings, database, parties and accounts, access control, money, clock, business calendar, errors, audit trail, scheduler and CLI."""
