"""Play one whole deal end to end, in accelerated time, through the exchange's own JSON API.

``exchange demo`` (and the run command, when no certificate exists yet) calls
``play_deal``: the demo seller registers a patent with evidence, the operator
confirms the rights, records the appraisal and publishes; two demo buyers
register, their deposits arrive as bank notifications and they are qualified;
publicity runs its 20 working days; the auction opens, they bid, it closes;
both sides sign the contract; the price and the buyer's fee arrive; the transfer
is confirmed and the seller paid out; the contract is registered and the
transaction certificate issued. The history is dated in the past (a FakeClock
starting ~70 days ago), so every deadline is computed by the real rules.
"""
from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from exchange.clock import BUSINESS_TZ, UTC, FakeClock
from exchange.demo import DEMO_PASSWORD

_PDF = b"%PDF-1.4\n% demo evidence\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
_CHECKLIST = {k: True for k in ("ownership", "legal_status", "consents", "encumbrances", "evidence")}


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoResult:
    deal_ref: str
    certificate_ref: str
    short_code: str
    verify_url: str
    pdf_path: Path
    listing_ref: str
    price_fen: int


def _ok(resp, status: int = 200) -> Any:  # type: ignore[no-untyped-def]
    if resp.status_code != status:
        raise DemoError(f"{resp.request.method} {resp.request.path} -> {resp.status_code}: "
                        f"{resp.get_data(as_text=True)[:400]}")
    return resp.get_json()


def _morning(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=BUSINESS_TZ).astimezone(UTC)


def play_deal(app: Flask, *, start: datetime | None = None) -> DemoResult:
    """Run the whole chain on ``app``'s database with a second app instance on a FakeClock."""
    from exchange.app import create_app
    from listings.demo import demo_patent_number

    now = app.extensions["exchange.clock"].now()
    clock = FakeClock(start or _morning((now - timedelta(days=70)).astimezone(BUSINESS_TZ).date()))
    player = create_app(app.config["ENV_NAME"], overrides={"DATABASE_URL": app.config["DATABASE_URL"],
                                                           "INSTANCE_PATH": app.instance_path,
                                                           "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                                                           "DEMO_BOT": False, "LOG_LEVEL": "WARNING"},
                          clock=clock)
    c = player.test_client()

    def token(email: str) -> str:
        return _ok(c.post("/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD,
                                                       "token_name": "demo deal"}), 201)["token"]

    def h(tok: str, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {tok}"}
        if key:
            headers["Idempotency-Key"] = f"demo-{key}-{random.getrandbits(48):x}"
        return headers

    ts, t1, t2 = token("seller@demo.example"), token("buyer1@demo.example"), token("buyer2@demo.example")
    to, ta = token("operator@demo.example"), token("auditor@demo.example")

    # 确权: the seller registers a patent with its certificate; the operator confirms the rights.
    rng = random.Random()
    asset = _ok(c.post("/api/v1/assets", headers=h(ts), json={
        "kind": "invention_patent", "title": "一种基于机器视觉的焊缝缺陷在线检测方法",
        "technical_field": "artificial_intelligence", "number": "ZL " + demo_patent_number(rng, 2020),
        "filing_date": "2020-05-12", "summary": "焊缝图像实时分割与缺陷分类，检出率99.2%。"}), 201)
    _ok(c.post(f"/api/v1/assets/{asset['ref']}/documents", headers=h(ts), content_type="multipart/form-data",
               data={"kind": "certificate", "public": "true", "file": (io.BytesIO(_PDF), "专利证书.pdf")}), 201)
    _ok(c.post(f"/api/v1/assets/{asset['ref']}/review-request", headers=h(ts)))
    _ok(c.post(f"/api/v1/assets/{asset['ref']}/review", headers=h(to),
               json={"checklist": _CHECKLIST, "confirm": True, "reasons": "权属、法律状态与登记簿一致 (demo)"}), 201)
    # 确价: a cost valuation and the filed appraisal a university seller needs.
    _ok(c.post(f"/api/v1/assets/{asset['ref']}/valuations", headers=h(ts), json={
        "method": "cost", "inputs": {"replacement_cost_fen": 80_000_000, "physical_depreciation_fen": 6_000_000}}),
        201)
    _ok(c.post(f"/api/v1/assets/{asset['ref']}/appraisals", headers=h(to), json={
        "appraiser": "上海东方资产评估有限公司 (demo)", "report_number": f"沪东评报字(2026)第{asset['ref'][-4:]}号",
        "value_fen": 78_000_000, "report_date": (clock.now() - timedelta(days=20)).date().isoformat()}), 201)
    # 挂牌: list, submit, publish.
    listing = _ok(c.post("/api/v1/listings", headers=h(ts), json={
        "asset_ref": asset["ref"], "title": "【演示】焊缝缺陷在线检测方法专利转让", "mode": "assignment",
        "price_fen": 80_000_000, "deposit_fen": 8_000_000, "increment_fen": 500_000, "free_bidding_minutes": 30,
        "qualification_conditions": "依法设立的企业法人，具备焊接装备研发能力。"}), 201)
    _ok(c.post(f"/api/v1/listings/{listing['ref']}/submit", headers=h(ts)))
    listing = _ok(c.post(f"/api/v1/listings/{listing['ref']}/publish", headers=h(to)))
    # 意向受让登记: two buyers; deposits arrive from the bank; the operator qualifies them.
    for n, tok in enumerate((t1, t2)):
        clock.advance(hours=3)
        reg = _ok(c.post(f"/api/v1/listings/{listing['ref']}/registrations", headers=h(tok),
                         json={"declaration": "本单位符合全部受让条件。"}), 201)
        _ok(c.post("/api/v1/settlement/bank-notifications", headers=h(to), json={
            "bank_reference": f"DEMO-DEP-{reg['ref']}", "amount_fen": reg["deposit_fen"], "purpose": "deposit",
            "purpose_ref": reg["ref"], "payer_name": "demo buyer"}), 201)
        _ok(c.post(f"/api/v1/registrations/{reg['ref']}/decision", headers=h(to), json={"qualify": True, "reason": ""}))
    # 竞价: publicity ends; the auction opens the next working day; bids; it closes.
    clock.set(datetime.fromisoformat(listing["publicity_ends_at"]) + timedelta(seconds=1))
    _ok(c.get(f"/api/v1/listings/{listing['ref']}"))
    auction = next(a for a in _ok(c.get("/api/v1/auctions")) if a["listing_ref"] == listing["ref"])
    clock.set(datetime.fromisoformat(auction["starts_at"]) + timedelta(minutes=2))
    price = 80_000_000
    for n, tok in enumerate((t1, t2, t1, t2, t1)):
        _ok(c.post(f"/api/v1/auctions/{auction['ref']}/bids", headers=h(tok, f"bid{n}"), json={"amount_fen": price}), 201)
        price += 1_000_000
        clock.advance(minutes=3)
    state = _ok(c.get(f"/api/v1/auctions/{auction['ref']}"))
    clock.set(datetime.fromisoformat(state["effective_end_at"]) + timedelta(seconds=1))
    state = _ok(c.get(f"/api/v1/auctions/{auction['ref']}"))
    _ok(c.post(f"/api/v1/auctions/{auction['ref']}/publish-result", headers=h(to)))
    deal = next(d for d in _ok(c.get("/api/v1/deals", headers=h(t1))) if d["listing_ref"] == listing["ref"])
    # 签约: both sides sign the exact text.
    clock.advance(hours=20)
    contract = _ok(c.get(f"/api/v1/deals/{deal['ref']}/contract", headers=h(ts)))
    for tok, who in ((ts, "seller"), (t1, "buyer")):
        _ok(c.post(f"/api/v1/contracts/{contract['ref']}/sign", headers=h(tok, f"sign-{who}"),
                   json={"text_sha256": contract["text_sha256"]}))
        clock.advance(hours=2)
    # 结算: the price (less the applied deposit) and the buyer's fee arrive; transfer; payout.
    st = _ok(c.get(f"/api/v1/settlement/deals/{deal['ref']}", headers=h(t1)))
    clock.advance(days=1)
    _ok(c.post("/api/v1/settlement/bank-notifications", headers=h(to), json={
        "bank_reference": f"DEMO-PRICE-{deal['ref']}", "amount_fen": st["outstanding_fen"], "purpose": "price",
        "purpose_ref": deal["ref"], "payer_name": "demo buyer"}), 201)
    clock.advance(days=7)
    _ok(c.post(f"/api/v1/settlement/deals/{deal['ref']}/transfer-confirmation", headers=h(to), json={
        "evidence": "国家知识产权局手续合格通知书 (demo)", "document_sha256": hashlib.sha256(b"demo").hexdigest()}))
    _ok(c.post(f"/api/v1/settlement/deals/{deal['ref']}/payout", headers=h(to, "payout")))
    # 认定登记 and 交易凭证.
    reg = _ok(c.post(f"/api/v1/contracts/{contract['ref']}/registration", headers=h(ts), json={}), 201)
    _ok(c.post(f"/api/v1/tech-registrations/{reg['ref']}/register", headers=h(to), json={}))
    cert = _ok(c.post(f"/api/v1/deals/{deal['ref']}/certificate", headers=h(to)), 201)
    pdf = c.get(f"/api/v1/certificates/{cert['ref']}.pdf", headers=h(ta))
    if pdf.status_code != 200:
        raise DemoError(f"certificate PDF: {pdf.status_code}")
    out = Path(app.instance_path) / "certificates" / f"{cert['ref']}.pdf"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf.data)
    player.extensions["exchange.db"].engine.dispose()
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    return DemoResult(deal_ref=deal["ref"], certificate_ref=cert["ref"], short_code=cert["short_code"],
                      verify_url=f"{base}/verify/{cert['short_code']}", pdf_path=out, listing_ref=listing["ref"],
                      price_fen=state["hammer_price_fen"])
