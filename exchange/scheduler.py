"""Scheduled jobs: each package registers its catch-up jobs here.

Correctness never waits for the scheduler: deadlines are checked when requests
arrive, and jobs only catch up. Every job runs in one transaction, committed by
``run_job``, and is safe to run twice or late. One exception: mailing notices
(``exchange.notifications.deliver_notices``) commits part-way, so that a slow
mail server never holds the database. In production the scheduler is
its own process (``exchange scheduler``); only one should run, although the
jobs lock what they touch so a second one does no harm.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from exchange.clock import Clock

log = logging.getLogger("exchange.scheduler")
JobFunc = Callable[[Session, Clock], Any]


@dataclass(frozen=True)
class Job:
    id: str
    func: JobFunc
    seconds: int
    description: str


_REGISTRY: dict[str, Job] = {}


def register_job(job_id: str, *, seconds: int, description: str) -> Callable[[JobFunc], JobFunc]:
    """Decorator used by each package's jobs.py."""
    def deco(func: JobFunc) -> JobFunc:
        _REGISTRY[job_id] = Job(job_id, func, seconds, description)
        return func

    return deco


def registered_jobs() -> list[Job]:
    _import_job_modules()
    return sorted(_REGISTRY.values(), key=lambda j: j.id)


def _import_job_modules() -> None:
    import importlib

    for pkg in ("exchange", "listings", "auctions", "settlement", "contracts"):
        try:
            importlib.import_module(f"{pkg}.jobs")
        except ModuleNotFoundError as exc:
            if exc.name != f"{pkg}.jobs":
                raise


def run_job(app: Flask, job: Job) -> Any:
    """One job, one transaction: commit on success, roll back and log on failure."""
    from exchange.db import get_db

    clock = app.extensions["exchange.clock"]
    with app.app_context():
        try:
            with get_db(app).session_scope() as session:
                result = job.func(session, clock)
            log.info("job %s done: %s", job.id, result)
            return result
        except Exception:
            log.exception("job %s failed; it will run again at its next turn", job.id)
            return None


def run_all_once(app: Flask) -> dict[str, Any]:
    return {job.id: run_job(app, job) for job in registered_jobs()}


def build_scheduler(app: Flask, *, background: bool) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    sched = (BackgroundScheduler if background else BlockingScheduler)(timezone="UTC")
    for job in registered_jobs():
        # coalesce + max_instances=1: a late or slow run is not stacked up behind itself.
        sched.add_job(run_job, "interval", seconds=job.seconds, args=[app, job], id=job.id,
                      coalesce=True, max_instances=1, misfire_grace_time=None)
    return sched
