"""Records are tamper-evident: editing any stored contract, signature, item, registration,
certificate or audit event with raw SQL is found by verification; and the auditor's
bundle can be checked from its bytes alone."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa

from contracts import service as svc
from exchange.audit import verify_chain
from exchange.models import AuditEvent
from tests.integration.test_contracts_support import (
    contract_of,
    make_deal,
    money_status,
    operator,
    sign_both,
)

BASE_URL = "https://www.example-exchange.cn"


@pytest.fixture()
def chain(session, clock, monkeypatch):  # type: ignore[no-untyped-def]
    """A deal through to a registration and a certificate, committed (visible to raw SQL)."""
    deal = make_deal(session, clock)
    op = operator(session, clock)
    svc.set_non_technical_items(session, op, contract_of(session, deal).ref, [svc.ItemInput("设备", 1_000_000)],
                                clock=clock)
    contract = sign_both(session, clock, deal)
    reg = svc.register(session, op, svc.submit_registration(session, op, contract.ref, svc.RegistrationSubmission(),
                                                            clock=clock).ref, clock=clock)
    svc.register_change(session, op, reg.ref, {"subject": "一种关节减速器（变更后名称）"}, "名称更正", clock=clock)
    money_status(monkeypatch)
    cert = svc.issue_certificate(session, op, deal.ref, clock=clock)
    session.commit()
    return {"deal": deal, "contract": contract, "reg": reg, "cert": cert}


def tamper(session, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    session.execute(sa.text(sql), params)
    session.commit()


def mismatches(session) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    report = svc.verify_records(session)
    return {(m["kind"], m["ref"], m["problem"]) for m in report.mismatches}


def test_untouched_records_verify(session, chain):
    report = svc.verify_records(session)
    assert report.ok, report.mismatches
    assert all(report.checked[k] >= 1 for k in ("contracts", "registrations", "certificates"))


@pytest.mark.parametrize("sql, kind, problem", [
    ("UPDATE contracts SET text = text || '。' WHERE ref = :contract", "contract", "does not match its SHA-256"),
    ("UPDATE contracts SET close_reason = 'x' WHERE ref = :contract", "contract", "record hash"),
    ("UPDATE contract_signatures SET signed_at = signed_at - INTERVAL '1 day' "
     "WHERE contract_id = (SELECT id FROM contracts WHERE ref = :contract)", "contract", "record hash"),
    ("UPDATE contract_signatures SET text_sha256 = :zeros WHERE side = 'buyer' "
     "AND contract_id = (SELECT id FROM contracts WHERE ref = :contract)", "contract", "signature is over another"),
    ("UPDATE non_technical_items SET amount_fen = 1 "
     "WHERE contract_id = (SELECT id FROM contracts WHERE ref = :contract)", "contract", "record hash"),
    ("UPDATE tech_registrations SET tech_amount_fen = tech_amount_fen + 1 WHERE ref = :reg",
     "tech_registration", "record hash"),
    ("UPDATE tech_registration_changes SET reason = 'x' "
     "WHERE registration_id = (SELECT id FROM tech_registrations WHERE ref = :reg)", "tech_registration",
     "record hash"),
    ("UPDATE certificates SET state = 'revoked', revoked_at = issued_at, revoked_reason = 'x' WHERE ref = :cert",
     "certificate", "record hash"),
    ("UPDATE certificates SET data = :data WHERE ref = :cert", "certificate", "fingerprint"),
])
def test_an_edit_by_raw_sql_is_detected(session, chain, is_pg, sql, kind, problem):
    refs = {"contract": chain["contract"].ref, "reg": chain["reg"].ref, "cert": chain["cert"].ref}
    params = {k: v for k, v in refs.items() if f":{k}" in sql}
    if ":zeros" in sql:
        params["zeros"] = "0" * 64
    if ":data" in sql:
        params["data"] = json.dumps({**chain["cert"].data, "price": "¥1.00"}, ensure_ascii=False)
    if "INTERVAL" in sql and not is_pg:
        sql = sql.replace("signed_at - INTERVAL '1 day'", "datetime(signed_at, '-1 day')")
    tamper(session, sql, **params)
    ref = refs["contract" if kind == "contract" else "reg" if kind == "tech_registration" else "cert"]
    found = mismatches(session)
    assert any(k == kind and r == ref and problem in p for k, r, p in found), found
    assert {r for _, r, _ in found} == {ref}  # only the edited record


def test_an_edited_audit_event_of_a_contract_is_named(session, chain):
    seq = session.scalar(sa.select(AuditEvent.seq).where(AuditEvent.subject_ref == chain["contract"].ref,
                                                         AuditEvent.action == "contract.signed")
                         .order_by(AuditEvent.seq).limit(1))
    tamper(session, "UPDATE audit_events SET actor = 'system:forger' WHERE seq = :seq", seq=seq)
    session.expire_all()
    report = verify_chain(session)
    assert (report.ok, report.first_broken_seq) == (False, seq)


# --------------------------------------------------------------------------- the bundle
def test_the_bundle_verifies_and_a_changed_byte_shows(session, clock, chain):
    data = svc.build_bundle(session, date(2026, 3, 1), date(2026, 3, 31), base_url=BASE_URL, clock=clock)
    report = svc.verify_bundle(data)
    assert report["ok"], report["problems"]
    assert report["records_checked"] >= 3 and report["events_checked"] > 5
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        csv_text = zf.read("contracts.csv").decode("utf-8")
    cert, reg = chain["cert"], chain["reg"]
    assert {"contracts.csv", "contracts.xlsx", "registrations.csv", "certificates.csv", "records.json",
            "audit_events.jsonl", "manifest.json", "manifest.sha256", f"certificates/{cert.ref}.pdf",
            f"registrations/{reg.ref}.pdf"} <= names
    assert manifest["records_verification"]["ok"] and manifest["audit_chain"]["ok"]
    assert csv_text.startswith("\ufeff") and chain["contract"].ref in csv_text
    # One changed file, re-zipped with the old manifest: found.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "certificates.csv":
                body = body.replace(cert.ref.encode(), b"T2026-999999")
            dst.writestr(info, body)
    assert svc.verify_bundle(out.getvalue())["problems"] == ["certificates.csv does not match its SHA-256"]


def test_a_stale_record_is_flagged_in_the_bundle(session, clock, chain):
    tamper(session, "UPDATE tech_registrations SET subject = 'x' WHERE ref = :ref", ref=chain["reg"].ref)
    data = svc.build_bundle(session, date(2026, 3, 1), date(2026, 3, 31), base_url=BASE_URL, clock=clock)
    report = svc.verify_bundle(data)
    assert not report["ok"]
    assert any(chain["reg"].ref in p for p in report["problems"])


def test_the_range_is_bounded(session, clock):
    from exchange.errors import ValidationError

    for start, end, code in ((date(2026, 3, 2), date(2026, 3, 1), "invalid_range"),
                             (date(2025, 1, 1), date(2026, 3, 1), "export_range_too_long")):
        with pytest.raises(ValidationError) as exc:
            svc.build_bundle(session, start, end, base_url=BASE_URL, clock=clock)
        assert exc.value.code == code
