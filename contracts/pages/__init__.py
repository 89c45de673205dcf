"""Web pages of the contracts package, on the ``contracts_web`` blueprint of ``contracts.views``.

One module per audience, like ``listings/views``: ``member`` (my contracts, the
contract page and its signature), ``operator`` (registrations due, certificates to
issue, non-technical items, changes and cancellations) and ``audit`` (lists with
filters and downloads, the audit trail and its verification). ``common`` holds the
shared helpers and the registrations with the platform (navigation, operator
queues, links from "My deals"). Views are thin: read the form, call a service,
show the result or put the refusal beside its field.
"""
