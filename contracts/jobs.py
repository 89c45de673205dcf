"""Scheduled catch-up for contracts: the signing deadline and the registration deadlines.

Correctness does not wait for these: a signature after the deadline is refused
when it arrives. The jobs record the consequences (the default path) and flag
registrations that passed their decision date. Each deal and registration is
handled under its row lock and only once, so a second or late run does nothing.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from contracts.service import apply_signing_deadline, flag_overdue, overdue_deal_refs, overdue_refs
from exchange.clock import Clock
from exchange.scheduler import register_job


@register_job("contracts.signing_deadline", seconds=60,
              description="record the default of the side that did not sign by the deadline")
def sweep_signing_deadlines(session: Session, clock: Clock) -> dict[str, int]:
    done = {"buyer": 0, "seller": 0}
    for ref in overdue_deal_refs(session, clock):
        who = apply_signing_deadline(session, ref, clock=clock)
        if who:
            done[who] += 1
    return done


@register_job("contracts.registration_deadlines", seconds=3600,
              description="flag technology contract registrations past their decision date")
def flag_overdue_registrations(session: Session, clock: Clock) -> int:
    return sum(flag_overdue(session, ref, clock=clock) for ref in overdue_refs(session, clock))
