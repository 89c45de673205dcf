"""The whole chain through the HTTP API: list → publish → two buyers registered, deposits in,
qualified → auction with bids → award → both sign → price and fees in → transfer confirmed →
payout → registration → certificate → the auditor downloads the bundle and verifies it.

Settlement's own API moves the money, and the certificate waits for what settlement says
(``settlement.service.deal_status`` through ``contracts.service.settlement_link``).
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

from contracts import service as contracts_service
from exchange.actors import Actor
from exchange.models import Role
from tests.factories import auth, make_member, make_staff, token_for
from tests.helpers import assert_problem, confirmed_asset, ok, published_listing, register_buyer
from tests.integration.test_contracts_support import pdf_text


def idem(token: str, key: str) -> dict[str, str]:
    return auth(token, **{"Idempotency-Key": f"chain-key-{key}"})


def notify(client, token: str, **body):  # type: ignore[no-untyped-def]
    data = {"payer_name": "付款人", **body}
    return ok(client.post("/api/v1/settlement/bank-notifications", json=data, headers=auth(token)), 201)


def test_the_whole_chain(client, session, clock, monkeypatch):
    clock.set(datetime(2026, 9, 21, 2, 0, tzinfo=timezone.utc))
    seller, b1, b2 = (make_member(session, clock) for _ in range(3))
    op, aud = make_staff(session, clock), make_staff(session, clock, Role.auditor)
    session.commit()
    ts, t1, t2, to, ta = (token_for(client, u) for u in (seller, b1, b2, op, aud))

    # List and publish; two buyers register, their deposits arrive from the bank, they are qualified.
    asset = confirmed_asset(client, ts, to)
    listing = published_listing(client, ts, to, asset["ref"])
    regs = [register_buyer(client, t, listing["ref"]) for t in (t1, t2)]
    for n, reg in enumerate(regs):
        got = notify(client, to, bank_reference=f"BOC-DEP-{n}", amount_fen=reg["deposit_fen"], purpose="deposit",
                     purpose_ref=reg["ref"])
        assert got["state"] == "matched"
        ok(client.post(f"/api/v1/registrations/{reg['ref']}/decision", json={"qualify": True, "reason": ""},
                       headers=auth(to)))

    # Publicity ends (20 working days, across National Day): an auction, bids, the award.
    clock.set(datetime(2026, 10, 26, 16, 0, 1, tzinfo=timezone.utc))
    assert ok(client.get(f"/api/v1/listings/{listing['ref']}"))["state"] == "in_auction"
    auction = next(a for a in ok(client.get("/api/v1/auctions")) if a["listing_ref"] == listing["ref"])
    clock.set(datetime.fromisoformat(auction["starts_at"]) + timedelta(minutes=1))
    for n, (token, amount) in enumerate(((t1, 100_000_000), (t2, 102_000_000), (t1, 105_000_000))):
        ok(client.post(f"/api/v1/auctions/{auction['ref']}/bids", json={"amount_fen": amount},
                       headers=idem(token, f"bid-{n}")), 201)
    clock.set(datetime.fromisoformat(ok(client.get(f"/api/v1/auctions/{auction['ref']}"))["effective_end_at"]))
    assert ok(client.get(f"/api/v1/auctions/{auction['ref']}"))["hammer_price_fen"] == 105_000_000
    deal = ok(client.get("/api/v1/deals", headers=auth(t1)))[0]
    assert deal["price_fen"] == 105_000_000 and deal["state"] == "struck"

    # The contract was drawn up with the deal; both sides sign its exact text.
    contract = ok(client.get(f"/api/v1/deals/{deal['ref']}/contract", headers=auth(ts)))
    assert contract["state"] == "drafted" and "¥1,050,000.00" in contract["text"]
    assert hashlib.sha256(contract["text"].encode("utf-8")).hexdigest() == contract["text_sha256"]
    assert_problem(client.post(f"/api/v1/contracts/{contract['ref']}/sign", json={"text_sha256": contract["text_sha256"]},
                               headers=idem(t2, "loser")), 404, "contract_not_found")
    clock.advance(hours=2)
    ok(client.post(f"/api/v1/contracts/{contract['ref']}/sign", json={"text_sha256": contract["text_sha256"]},
                   headers=idem(ts, "sign-seller")))
    signed = ok(client.post(f"/api/v1/contracts/{contract['ref']}/sign", json={"text_sha256": contract["text_sha256"]},
                            headers=idem(t1, "sign-buyer")))
    assert signed["state"] == "in_force"

    # No certificate before the money is in.
    assert_problem(client.post(f"/api/v1/deals/{deal['ref']}/certificate", headers=auth(to)),
                   422, "certificate_not_issuable")

    # The price (less the applied deposit) and the buyer's fee arrive; the transfer is confirmed; payout.
    st = ok(client.get(f"/api/v1/settlement/deals/{deal['ref']}", headers=auth(t1)))
    assert st["state"] == "awaiting_payment"
    notify(client, to, bank_reference="BOC-PRICE-1", amount_fen=st["outstanding_fen"], purpose="price",
           purpose_ref=deal["ref"])
    assert ok(client.get(f"/api/v1/settlement/deals/{deal['ref']}", headers=auth(to)))["state"] == "price_in"
    ok(client.post(f"/api/v1/settlement/deals/{deal['ref']}/transfer-confirmation",
                   json={"evidence": "国家知识产权局专利权转移手续合格通知书",
                         "document_sha256": hashlib.sha256(b"CNIPA notice").hexdigest()}, headers=auth(to)))
    out = ok(client.post(f"/api/v1/settlement/deals/{deal['ref']}/payout", headers=idem(to, "payout")))
    assert out["state"] == "paid_out" and out["deal_state"] == "completed"

    # Registration: the seller submits, the operator finds nothing against it and registers.
    reg = ok(client.post(f"/api/v1/contracts/{contract['ref']}/registration", json={}, headers=auth(ts)), 201)
    assert reg["deal_amount_fen"] == reg["tech_amount_fen"] == 105_000_000
    assert ok(client.get(f"/api/v1/tech-registrations/{reg['ref']}/problems", headers=auth(to)))["problems"] == []
    reg = ok(client.post(f"/api/v1/tech-registrations/{reg['ref']}/register", json={}, headers=auth(to)))
    assert reg["state"] == "registered" and reg["tax_relief"]["income_tax_relief"] is True

    # The certificate, once; anyone can verify its code.
    ready = ok(client.get(f"/api/v1/deals/{deal['ref']}/certificate/readiness", headers=auth(ta)))
    assert ready["issuable"] and ready["settled"]
    cert = ok(client.post(f"/api/v1/deals/{deal['ref']}/certificate", headers=auth(to)), 201)
    assert_problem(client.post(f"/api/v1/deals/{deal['ref']}/certificate", headers=auth(to)),
                   409, "certificate_exists")
    assert cert["data"]["project_number"] == listing["ref"] and cert["data"]["price"] == "¥1,050,000.00"
    assert cert["data"]["publicity_start"] == "2026-09-21"
    pdf = client.get(f"/api/v1/certificates/{cert['ref']}.pdf", headers=auth(t1)).data
    text = pdf_text(pdf)
    for value in (listing["ref"], seller.party.name, b1.party.name, asset["title"], "网络竞价", "¥1,050,000.00"):
        assert value in text
    assert ok(client.get(f"/api/v1/certificates/verify/{cert['short_code']}"))["valid"] is True

    # The auditor downloads the bundle of the period and checks it from its bytes alone.
    resp = client.get("/api/v1/exports/bundle.zip", query_string={"from": "2026-09-01", "to": "2026-12-31"},
                      headers=auth(ta))
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    report = contracts_service.verify_bundle(resp.data)
    assert report["ok"], report["problems"]
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        # Independently of the service: every listed file has the stated SHA-256.
        for f in manifest["files"]:
            assert hashlib.sha256(zf.read(f["path"])).hexdigest() == f["sha256"]
        assert zf.read(f"certificates/{cert['ref']}.pdf") == pdf
        assert hashlib.sha256(zf.read("manifest.json")).hexdigest() in zf.read("manifest.sha256").decode()
        events = [json.loads(line) for line in zf.read("audit_events.jsonl").decode().splitlines()]
    assert manifest["counts"] == {"contracts": 1, "registrations": 1, "certificates": 1,
                                  "audit_events": len(events)}
    assert manifest["records_verification"]["ok"] and manifest["audit_chain"]["ok"]
    actions = {e["action"] for e in events}
    assert {"deal.struck", "contract.drafted", "contract.signed", "deal.in_force", "tech_registration.submitted",
            "tech_registration.registered", "certificate.issued"} <= actions
    assert ok(client.get("/api/v1/records/verify", headers=auth(ta)))["ok"] is True
    assert ok(client.get("/api/v1/audit/verify", headers=auth(ta)))["ok"] is True
