"""Fuzz the JSON API from its own OpenAPI document (schemathesis).

Every operation in ``/api/openapi.json`` gets a few generated requests: schema-valid ones, and a
couple that break the schema on purpose. Each request is sent four times, as an anonymous caller,
a member, an operator and an auditor. Whatever comes in:

* the answer is never a 5xx;
* every refusal is a problem document (``application/problem+json``) with a ``code`` and the
  right ``status``, and its HTTP status is one a client can act on (400/401/403/404/405/409/413/
  415/422/429);
* an auditor never succeeds at an unsafe operation, except the public and self-service ones.

Random identifiers mostly answer 404, so half of the valid examples put the reference numbers of
real objects (a deal in force and everything around it) into the path: those reach the business
rules. Each request runs inside a savepoint that is rolled back, so no example helps or hinders
the next, and the test's own transaction is rolled back at the end as usual.

Operations are read from the document at run time: a route added tomorrow is fuzzed tomorrow.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from exchange.auth import PUBLIC, SELF_SERVICE, policy_for
from exchange.models import Role
from tests import settlement_world as sw
from tests.factories import make_staff, token_for

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.generation.modes import GenerationMode  # noqa: E402
from schemathesis.transport.wsgi import WSGI_TRANSPORT  # noqa: E402

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
#: The refusals a client can act on. 400: a body that is not JSON; 415: a wrong media type.
ACCEPTABLE_4XX = {400, 401, 403, 404, 405, 409, 413, 415, 422, 429}
POSITIVE_EXAMPLES = 3
NEGATIVE_EXAMPLES = 2
ROLES = ("anonymous", "member", "operator", "auditor")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

#: Path segment before a parameter -> the table whose reference numbers fit it (others: by name).
_SEGMENT_TABLES = {"registrations": "buyer_registrations", "holds": "buyer_registrations",
                   "instruments": "credit_instruments", "entries": "journal_entries",
                   "open-licences": "open_licence_declarations"}


def _real_refs(session) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Reference numbers of the objects in the database, by table (newest first)."""
    from exchange.model_registry import load_all_models

    refs: dict[str, list[str]] = {}
    for table in load_all_models().tables.values():
        if "ref" in table.c:
            found = [r for r in session.scalars(sa.select(table.c.ref).order_by(table.c.id.desc()).limit(5)) if r]
            if found:
                refs[table.name] = found
    return refs


def _refs_for(path: str, param: str, refs: dict[str, list[str]]) -> list[str]:
    """Real values for ``{param}`` in ``path``: those of the table named by the segment before it."""
    if param == "registration_ref":
        return refs.get("buyer_registrations", [])
    segments = path.strip("/").split("/")
    before = next((segments[i - 1] for i, s in enumerate(segments) if s.startswith("{" + param + "}")), "")
    return refs.get(_SEGMENT_TABLES.get(before, before.replace("-", "_")), [])


def _world(client, session, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A deal in force (listing, registrations, auction, contract, settlement) and the people around it."""
    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    auditor = make_staff(session, clock, Role.auditor)
    session.commit()
    return {"tokens": {"anonymous": None, "member": token_for(client, w.buyers[1]),
                       "operator": token_for(client, w.op), "auditor": token_for(client, auditor)},
            "refs": _real_refs(session)}


def _operations(client) -> list[Any]:
    spec = client.get("/api/openapi.json").get_json()
    ops = [result.ok() for result in schemathesis.openapi.from_dict(spec).get_all_operations()]
    assert len(ops) >= 50, "the OpenAPI document lists suspiciously few operations"
    return ops


def _check(resp) -> str | None:  # type: ignore[no-untyped-def]
    """What is wrong with an answer, or None."""
    status = resp.status_code
    if status >= 500:
        return f"HTTP {status}: {resp.data[:300]!r}"
    if status < 400:
        return None
    if status not in ACCEPTABLE_4XX:
        return f"unexpected status {status}"
    if resp.mimetype != PROBLEM:
        return f"HTTP {status} answered as {resp.mimetype!r}, not {PROBLEM}"
    try:
        body = json.loads(resp.data)
    except ValueError:
        return f"HTTP {status}: the problem is not JSON: {resp.data[:200]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not body["code"]:
        return f"HTTP {status}: a problem without a code: {body!r}"
    if body.get("status") != status:
        return f"HTTP {status}: the problem says status {body.get('status')!r}"
    return None


class Fuzzer:
    """Sends each generated case as every role, each time in a savepoint that is rolled back."""

    def __init__(self, app, db, client, world: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
        self.app, self.client, self.world = app, client, world
        self.conn = db.sessionmaker.kw["bind"]
        self.failures: list[str] = []
        self.statuses: Counter = Counter()

    def send(self, case, op) -> None:  # type: ignore[no-untyped-def]
        if op.path.endswith("/wait"):
            case.query = {**(case.query or {}), "timeout": 0}  # a long poll would only make the run slow
        for role in ROLES:
            token = self.world["tokens"][role]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            kwargs = WSGI_TRANSPORT.serialize_case(case, headers=headers)
            if token is None:
                kwargs["headers"].pop("Authorization", None)  # the generated, random one
            savepoint = self.conn.begin_nested()
            try:
                resp = self.client.open(**kwargs)
            finally:
                savepoint.rollback()
            self.statuses[resp.status_code] += 1
            problem = _check(resp)
            if problem is None and role == "auditor" and op.method.upper() in UNSAFE and resp.status_code < 400:
                endpoint = self.app.url_map.bind("localhost").match(kwargs["path"], method=op.method.upper())[0]
                if not policy_for(self.app, endpoint, op.method.upper()) & {PUBLIC, SELF_SERVICE}:
                    problem = f"an auditor changed something: HTTP {resp.status_code}"
            if problem:
                self.failures.append(f"{op.method.upper()} {op.path} as {role}: {problem}\n"
                                     f"    {case.as_curl_command(headers=headers)}")

    def fuzz(self, op) -> None:  # type: ignore[no-untyped-def]
        params = re.findall(r"\{(\w+)\}", op.path)
        fixed = {p: refs[0] for p in params if (refs := _refs_for(op.path, p, self.world["refs"]))}
        valid = [op.as_strategy()] + ([op.as_strategy(path_parameters=fixed)] if fixed else [])
        common = dict(deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck), print_blob=False)

        def positive(case) -> None:  # type: ignore[no-untyped-def]
            self.send(case, op)

        def negative(case) -> None:  # type: ignore[no-untyped-def]
            self.send(case, op)

        given(case=st.one_of(*valid))(settings(max_examples=POSITIVE_EXAMPLES, **common)(positive))()
        try:
            broken = op.as_strategy(generation_mode=GenerationMode.NEGATIVE)
            given(case=broken)(settings(max_examples=NEGATIVE_EXAMPLES, **common)(negative))()
        except Exception as exc:  # noqa: BLE001 - an operation with nothing to break has no negative examples
            if "unsatisfiable" not in f"{type(exc).__name__} {exc}".lower():
                raise


def test_api_fuzz_never_5xx_and_refusals_are_problems(app, db, client, session, clock):
    fuzzer = Fuzzer(app, db, client, _world(client, session, clock))
    ops = _operations(client)
    for op in ops:
        fuzzer.fuzz(op)
    assert not fuzzer.failures, (f"{len(fuzzer.failures)} bad answers:\n" + "\n".join(fuzzer.failures[:40]))
    # The run reached past the doors: successes and business refusals, not only 401/404.
    sent = sum(fuzzer.statuses.values())
    assert sent >= len(ops) * len(ROLES) * POSITIVE_EXAMPLES, fuzzer.statuses
    assert sum(n for s, n in fuzzer.statuses.items() if s < 300) > len(ops), fuzzer.statuses
    assert fuzzer.statuses[409] and fuzzer.statuses[422], fuzzer.statuses


def test_fuzz_world_has_real_refs_for_most_paths(client, session, clock):
    """The fuzzer's real references reach the routes of every package (or half the run is 404s)."""
    world = _world(client, session, clock)
    for table in ("assets", "listings", "auctions", "deals", "buyer_registrations", "parties", "contracts"):
        assert world["refs"].get(table), f"no {table} in the fuzz world"
    with_params = [op for op in _operations(client) if "{" in op.path]
    covered = [op for op in with_params
               if all(_refs_for(op.path, p, world["refs"]) for p in re.findall(r"\{(\w+)\}", op.path))]
    assert len(covered) >= len(with_params) // 2, sorted({op.path for op in with_params} - {op.path for op in covered})
