"""Settlement through the API: bank notifications (idempotent), suspense, the deal's obligations,
transfer confirmation, payout, refunds, reconciliation and exports, and each party's own view."""
from __future__ import annotations

import hashlib

from exchange.models import Role
from tests import settlement_world as sw
from tests.factories import auth, make_staff, token_for
from tests.helpers import assert_problem, ok


def _idem(token: str, key: str) -> dict[str, str]:
    return auth(token, **{"Idempotency-Key": f"idem-key-{key}"})


def _notify(client, token, **body):  # type: ignore[no-untyped-def]
    data = {"bank_reference": "BK-1", "amount_fen": 1, "payer_name": "付款人", "purpose": "other"}
    data.update(body)
    return client.post("/api/v1/settlement/bank-notifications", json=data, headers=auth(token))


def test_a_deal_settled_through_the_api(client, session, clock):
    w = sw.build(session, clock, buyers=2)
    auditor = make_staff(session, clock, Role.auditor)
    session.commit()
    to, ta = token_for(client, w.op), token_for(client, auditor)
    t0, t1, ts = (token_for(client, u) for u in (w.buyers[0], w.buyers[1], w.seller))
    r0, r1 = w.regs

    # Deposits arrive from the bank integration and are matched by the registration reference.
    n0 = ok(_notify(client, to, bank_reference="BOC-0001", amount_fen=r0.deposit_fen, purpose="deposit",
                    purpose_ref=r0.ref), 201)
    assert n0["state"] == "matched" and n0["flag"] == "exact" and n0["matched_ref"] == r0.ref
    replay = _notify(client, to, bank_reference="BOC-0001", amount_fen=r0.deposit_fen, purpose="deposit",
                     purpose_ref=r0.ref)
    assert replay.status_code == 200 and replay.get_json()["ref"] == n0["ref"]
    assert_problem(_notify(client, to, bank_reference="BOC-0001", amount_fen=5, purpose="deposit",
                           purpose_ref=r0.ref), 409, "bank_reference_conflict")
    # The second buyer's money comes without a usable reference: suspense, then the operator matches it.
    n1 = ok(_notify(client, to, bank_reference="BOC-0002", amount_fen=r1.deposit_fen, purpose="deposit"), 201)
    assert n1["state"] == "suspense"
    queue = ok(client.get("/api/v1/settlement/bank-notifications?state=suspense", headers=auth(ta)))
    assert [x["ref"] for x in queue["items"]] == [n1["ref"]]
    assert_problem(client.post(f"/api/v1/settlement/bank-notifications/{n1['ref']}/match",
                               json={"target": "registration", "target_ref": r1.ref}, headers=auth(to)),
                   422, "idempotency_key_required")
    m = ok(client.post(f"/api/v1/settlement/bank-notifications/{n1['ref']}/match",
                       json={"target": "registration", "target_ref": r1.ref, "note": "汇款附言写错"},
                       headers=_idem(to, "m1")))
    assert m["state"] == "matched" and m["flag"] == "exact"
    hold = ok(client.get(f"/api/v1/settlement/holds/{r1.ref}", headers=auth(t1)))
    assert hold["state"] == "held" and hold["cash_fen"] == r1.deposit_fen
    assert_problem(client.get(f"/api/v1/settlement/holds/{r1.ref}", headers=auth(t0)), 404, "hold_not_found")

    session.expire_all()
    for reg in w.regs:
        sw.qualify(session, w, reg)
    sw.end_publicity(session, w)
    price = w.listing.price_fen
    sw.run_auction(session, w, [(0, price), (1, price + w.listing.increment_fen)])
    deal = sw.deal_of(session, w)
    sw.in_force(session, w, deal)
    session.commit()

    st = ok(client.get(f"/api/v1/settlement/deals/{deal.ref}", headers=auth(t1)))
    assert st["state"] == "awaiting_payment" and st["fee_schedule_version"] == "domain-example-1"
    assert st["applied_deposit_fen"] == r1.deposit_fen
    assert st["outstanding_fen"] == deal.price_fen - r1.deposit_fen + st["buyer_fee_fen"]
    assert_problem(client.get(f"/api/v1/settlement/deals/{deal.ref}", headers=auth(t0)), 404, "deal_not_found")
    mine = ok(client.get("/api/v1/settlement/mine", headers=auth(t1)))
    assert mine["outstanding_fen"] == st["outstanding_fen"] and mine["deals"][0]["next_due"]["seq"] == 1
    assert mine["deals"][0]["role"] == "buyer"

    # The buyer pays too much; the surplus stays as its cash, flagged.
    paid = ok(_notify(client, to, bank_reference="BOC-0003", amount_fen=st["outstanding_fen"] + 100,
                      purpose="price", purpose_ref=deal.ref), 201)
    assert paid["flag"] == "over" and paid["expected_fen"] == st["outstanding_fen"]
    st = ok(client.get(f"/api/v1/settlement/deals/{deal.ref}", headers=auth(to)))
    assert st["state"] == "price_in" and st["escrow_fen"] == deal.price_fen
    assert_problem(client.post(f"/api/v1/settlement/deals/{deal.ref}/payout", headers=_idem(to, "p0")),
                   409, "transfer_not_confirmed")
    digest = hashlib.sha256(b"CNIPA record").hexdigest()
    assert_problem(client.post(f"/api/v1/settlement/deals/{deal.ref}/transfer-confirmation",
                               json={"evidence": "x", "document_sha256": "abc"}, headers=auth(to)),
                   422, "validation_error")
    ok(client.post(f"/api/v1/settlement/deals/{deal.ref}/transfer-confirmation",
                   json={"evidence": "国家知识产权局专利权转移登记通知书", "document_sha256": digest}, headers=auth(to)))
    out = ok(client.post(f"/api/v1/settlement/deals/{deal.ref}/payout", headers=_idem(to, "p1")))
    assert out["state"] == "paid_out" and out["deal_state"] == "completed"
    assert out["seller_payout_fen"] == deal.price_fen - out["seller_fee_fen"]
    again = client.post(f"/api/v1/settlement/deals/{deal.ref}/payout", headers=_idem(to, "p1"))
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    # Even with another key, a second payout changes nothing.
    assert ok(client.post(f"/api/v1/settlement/deals/{deal.ref}/payout", headers=_idem(to, "p2")))["state"] == "paid_out"

    # The surplus is refunded once.
    buyer_ref = w.buyers[1].party.ref
    body = {"party_ref": buyer_ref, "amount_fen": 100, "reason": "多付款项退回"}
    rf = ok(client.post("/api/v1/settlement/refunds", json=body, headers=_idem(to, "rf1")), 201)
    assert rf["kind"] == "refund" and rf["amount_fen"] == 100
    assert client.post("/api/v1/settlement/refunds", json=body, headers=_idem(to, "rf1")).get_json()["ref"] == rf["ref"]
    assert_problem(client.post("/api/v1/settlement/refunds", json=body, headers=_idem(to, "rf2")),
                   422, "insufficient_cash")

    # Reconciliation: the trial balance balances and agrees with every cache; exports are CSV with a BOM.
    tb = ok(client.get("/api/v1/settlement/trial-balance", headers=auth(ta)))
    assert tb["balanced"] and tb["cache_matches"]
    fees = next(r for r in tb["accounts"] if r["account"] == "fee_income")
    assert -fees["balance_fen"] == out["buyer_fee_fen"] + out["seller_fee_fen"]
    assert ok(client.get("/api/v1/settlement/ledger/verify", headers=auth(ta)))["ok"]
    csv = client.get("/api/v1/settlement/trial-balance.csv", headers=auth(ta))
    assert csv.mimetype == "text/csv" and csv.data.startswith("\ufeff".encode()) and b"fee_income" in csv.data
    stmt = ok(client.get(f"/api/v1/settlement/deals/{deal.ref}/statement", headers=auth(ts)))
    assert {ln["kind"] for ln in stmt["lines"]} >= {"deal_payment", "deposit_applied", "payout", "disbursement"}
    assert client.get(f"/api/v1/settlement/deals/{deal.ref}/statement.csv", headers=auth(ts)).data.startswith(b"\xef\xbb\xbf")
    ps = ok(client.get(f"/api/v1/settlement/parties/{buyer_ref}/statement", headers=auth(t1)))
    assert ps["cash_available_fen"] == 0 and ps["lines"]
    assert_problem(client.get(f"/api/v1/settlement/parties/{buyer_ref}/statement", headers=auth(t0)),
                   404, "party_not_found")
    day = ok(client.get("/api/v1/settlement/reports/daily", query_string={"day": n0["value_date"]},
                        headers=auth(ta)))
    assert {r["ref"] for r in day["received"]} >= {n0["ref"], n1["ref"]}
    assert client.get("/api/v1/settlement/journal.csv", headers=auth(ta)).status_code == 200
    conf = ok(client.get(f"/api/v1/settlement/listings/{w.listing.ref}/confirmations"))
    assert conf == {"rights_confirmed": True, "appraised": False, "price_held_in_escrow": True,
                    "settled_through_exchange": True}
    seller_view = ok(client.get("/api/v1/settlement/mine", headers=auth(ts)))
    assert seller_view["deals"][0]["role"] == "seller" and seller_view["disbursements"][0]["kind"] == "payout"


def test_who_may_do_what(client, session, clock):
    w = sw.build(session, clock, buyers=1)
    auditor = make_staff(session, clock, Role.auditor)
    session.commit()
    tb, ta, to = token_for(client, w.buyers[0]), token_for(client, auditor), token_for(client, w.op)
    assert_problem(_notify(client, tb), 403, "forbidden_role")
    assert_problem(_notify(client, ta), 403, "auditor_read_only")
    assert_problem(client.get("/api/v1/settlement/trial-balance", headers=auth(tb)), 403, "forbidden_role")
    assert_problem(client.get("/api/v1/settlement/mine"), 401, "not_authenticated")
    assert_problem(client.get("/api/v1/settlement/mine", headers=auth(to)), 403, "forbidden_role")
    # Bad input: problem details with codes, nothing written.
    assert_problem(_notify(client, to, amount_fen=0), 422, "validation_error")
    assert_problem(_notify(client, to, amount_fen="100"), 422, "validation_error")
    assert_problem(_notify(client, to, purpose="gift"), 422, "validation_error")
    assert_problem(_notify(client, to, surprise=1), 422, "validation_error")
    assert_problem(_notify(client, to, bank_reference="空 格"), 422, "invalid_bank_reference")
    assert ok(client.get("/api/v1/settlement/bank-notifications", headers=auth(ta)))["meta"]["total"] == 0
    assert_problem(client.get("/api/v1/settlement/bank-notifications/PAY2026-99999999", headers=auth(ta)),
                   404, "notification_not_found")
    assert_problem(client.post("/api/v1/settlement/refunds", json={"party_ref": w.buyers[0].party.ref,
                                                                  "amount_fen": 1, "reason": "x"},
                               headers=_idem(to, "nothing")), 422, "insufficient_cash")
    assert_problem(client.post("/api/v1/settlement/deals/D2026-999999/payout", headers=_idem(to, "nd")),
                   404, "deal_not_found")


def test_credit_instruments_pledges_fees_and_settings(client, session, clock):
    w = sw.build(session, clock, buyers=1, register=False)
    auditor = make_staff(session, clock, Role.auditor)
    session.commit()
    tb, ta, to = token_for(client, w.buyers[0]), token_for(client, auditor), token_for(client, w.op)
    buyer_ref = w.buyers[0].party.ref
    # Credit: the party sees its grade, the exchange also sees why.
    own = ok(client.get(f"/api/v1/settlement/parties/{buyer_ref}/credit", headers=auth(tb)))
    assert own["grade"] == "B" and "reasons" not in own
    ok(client.post(f"/api/v1/settlement/parties/{buyer_ref}/credit-events",
                   json={"kind": "dispute", "note": "合同纠纷，仲裁中"}, headers=auth(to)), 201)
    seen = ok(client.get(f"/api/v1/settlement/parties/{buyer_ref}/credit", headers=auth(ta)))
    assert seen["score"] == 72 and seen["grade"] == "C" and any("dispute" in r["text"] for r in seen["reasons"])
    # Instruments.
    inst = ok(client.post("/api/v1/settlement/instruments", json={
        "party_ref": buyer_ref, "kind": "guarantee_letter", "issuer": "招商银行上海分行", "amount_fen": 5_000_000,
        "expires_on": "2027-03-01", "reference": "CMB-LG-1"}, headers=auth(to)), 201)
    assert inst["available_fen"] == 5_000_000 and inst["valid_today"]
    assert [i["ref"] for i in ok(client.get("/api/v1/settlement/instruments", headers=auth(tb)))] == [inst["ref"]]
    assert ok(client.patch(f"/api/v1/settlement/instruments/{inst['ref']}", json={"amount_fen": 6_000_000},
                           headers=auth(to)))["amount_fen"] == 6_000_000
    assert_problem(client.patch(f"/api/v1/settlement/instruments/{inst['ref']}", json={"amount_fen": 0},
                                headers=auth(to)), 422, "validation_error")
    gone = ok(client.delete(f"/api/v1/settlement/instruments/{inst['ref']}", json={"reason": "已退还"},
                            headers=auth(to)))
    assert gone["state"] == "revoked"
    assert_problem(client.delete(f"/api/v1/settlement/instruments/{inst['ref']}", json={"reason": "again"},
                                 headers=auth(to)), 409, "instrument_not_active")
    # Pledges.
    p = ok(client.post("/api/v1/settlement/pledges", json={
        "pledgor_ref": w.seller.party.ref, "pledgee_name": "上海银行", "secured_amount_fen": 100_000_000,
        "starts_on": "2026-03-02", "asset_refs": [w.asset.ref]}, headers=auth(to)), 201)
    asset = ok(client.get(f"/api/v1/assets/{w.asset.ref}", headers=auth(to)))
    assert [e["pledge_ref"] for e in asset["encumbrances"]] == [p["ref"]]
    assert ok(client.post(f"/api/v1/settlement/pledges/{p['ref']}/consents", json={"mode": "assignment",
                                                                                    "note": "书面同意"},
                          headers=auth(to)))["consented_modes"] == ["assignment"]
    assert_problem(client.post(f"/api/v1/settlement/pledges/{p['ref']}/consents", json={"mode": "sale", "note": "x"},
                               headers=auth(to)), 422, "validation_error")
    assert ok(client.post(f"/api/v1/settlement/pledges/{p['ref']}/release", json={"note": "已注销"},
                          headers=auth(to)))["state"] == "released"
    assert_problem(client.get(f"/api/v1/settlement/pledges/{p['ref']}", headers=auth(tb)), 404, "pledge_not_found")
    # Fees: the public schedule and quotes; a new version from today on.
    schedules = ok(client.get("/api/v1/settlement/fee-schedules"))
    assert [s["version"] for s in schedules] == ["domain-example-1"]
    # 3,000万 yuan, the top of the first band: 3.2 % and 0.24 %.
    q = ok(client.get("/api/v1/settlement/fee-quote", query_string={"price_fen": 3_000_000_000, "method": "auction"}))
    assert (q["buyer_fee_fen"], q["seller_fee_fen"]) == (96_000_000, 7_200_000)
    new = dict(schedules[0]["data"], version="2026-2", effective_from="2026-03-02", min_bidding_fen=400_000)
    ok(client.post("/api/v1/settlement/fee-schedules", json=new, headers=auth(to)), 201)
    assert_problem(client.post("/api/v1/settlement/fee-schedules", json=new, headers=auth(to)), 409,
                   "fee_schedule_exists")
    assert ok(client.get("/api/v1/settlement/fee-quote", query_string={"price_fen": 1}))["buyer_fee_fen"] == 400_000
    # Settings.
    assert ok(client.get("/api/v1/settlement/settings", headers=auth(ta)))["forfeiture_seller_share"] == "0.80"
    assert ok(client.patch("/api/v1/settlement/settings", json={"forfeiture_seller_share": "0.6"},
                           headers=auth(to)))["forfeiture_seller_share"] == "0.6"
    assert_problem(client.patch("/api/v1/settlement/settings", json={"forfeiture_seller_share": "1.5",
                                                                     "release_working_days": 2},
                                headers=auth(to)), 422, "invalid_setting")
    assert ok(client.get("/api/v1/settlement/settings", headers=auth(ta)))["release_working_days"] == 3


def test_plan_release_apply_cash_and_entries(client, session, clock):
    w = sw.build(session, clock, buyers=3)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    session.commit()
    to = token_for(client, w.op)
    t0, t1 = token_for(client, w.buyers[0]), token_for(client, w.buyers[1])
    # Instalments instead of the lump sum.
    st = ok(client.put(f"/api/v1/settlement/deals/{deal.ref}/plan", json={"down_ratio": "0.4", "count": 3},
                       headers=auth(to)))
    assert st["plan_kind"] == "instalments" and len(st["obligations"]) == 3
    assert_problem(client.put(f"/api/v1/settlement/deals/{deal.ref}/plan", json={"down_ratio": "0.1", "count": 3},
                              headers=auth(to)), 422, "down_payment_too_low")
    assert_problem(client.put(f"/api/v1/settlement/deals/{deal.ref}/plan", json={"down_ratio": "x", "count": 3},
                              headers=auth(to)), 422, "validation_error")
    # Nothing to apply yet.
    assert_problem(client.post(f"/api/v1/settlement/deals/{deal.ref}/apply-cash", headers=_idem(to, "ac")),
                   422, "insufficient_cash")
    # The loser takes its deposit back at once; the winner cannot.
    loser = w.regs[0]
    held = ok(client.post(f"/api/v1/settlement/holds/{loser.ref}/release", headers=_idem(t0, "rel")))
    assert held["state"] == "released" and held["resolution_note"] == "not the winner"
    assert_problem(client.post(f"/api/v1/settlement/holds/{w.regs[1].ref}/release", headers=_idem(t1, "rel")),
                   409, "hold_not_releasable")
    assert_problem(client.post(f"/api/v1/settlement/holds/{loser.ref}/fund", headers=_idem(to, "fund")),
                   409, "hold_not_pending")
    # Every entry can be read with its postings.
    stmt = ok(client.get(f"/api/v1/settlement/parties/{w.buyers[0].party.ref}/statement", headers=auth(t0)))
    ref = stmt["lines"][-1]["entry_ref"]
    entry = ok(client.get(f"/api/v1/settlement/entries/{ref}", headers=auth(to)))
    assert entry["kind"] == "deposit_released" and sum(p["amount_fen"] for p in entry["postings"]) == 0
    assert_problem(client.get(f"/api/v1/settlement/entries/{ref}", headers=auth(t0)), 403, "forbidden_role")
