"""What auditors download: contract records as CSV (UTF-8 with BOM, opens in Excel) and
XLSX, registrations and certificates as CSV, and a ZIP bundle for a date range.

The bundle holds the CSVs and the XLSX, every certificate and registration proof
PDF of the range, ``records.json`` (each record in its canonical form with its
``record_hash``, so the hashes can be recomputed offline), ``audit_events.jsonl``
(the audit events of the range with their chain hashes) and ``manifest.json``
listing the SHA-256 of every file, with ``manifest.sha256`` for the manifest
itself. ``verify_bundle`` checks a bundle from its bytes alone.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from auctions.models import Deal
from contracts import domain as cd
from contracts.models import Certificate, Contract, TechRegistration
from contracts.service import labels as lb
from contracts.service.certificates import CertificateQuery, certificates_query
from contracts.service.contracts import ContractQuery, contracts_query, signature_of, within
from contracts.service.documents import certificate_pdf, registration_pdf
from contracts.service.records import record_of, verify_records
from contracts.service.registration import RegistrationQuery, registrations_query
from exchange.audit import event_hash, verify_chain
from exchange.clock import Clock, format_local, local_date, to_local
from exchange.errors import ValidationError
from exchange.jsonable import canonical_json, jsonable
from exchange.models import AuditEvent
from exchange.money import Money

MAX_RANGE_DAYS = 366
MAX_ROWS = 100_000
_TIME = "%Y-%m-%d %H:%M:%S"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _yuan(fen: int | None, currency: str = "CNY") -> Decimal | None:
    return None if fen is None else Money(fen, currency).to_decimal()


def _t(value: datetime | None) -> str:
    return format_local(value, _TIME)


# --------------------------------------------------------------------------- rows
CONTRACT_HEADER = (
    "合同编号 Contract", "成交编号 Deal", "挂牌项目 Listing", "状态 State", "合同类型 Type", "子类 Subtype",
    "合同名称 Title", "卖方 Seller", "卖方代码 Seller code", "买方 Buyer", "买方代码 Buyer code", "标的 Asset",
    "标的号码 Asset no.", "交易方式 Mode", "成交价 Price (yuan)", "币种 Currency", "非技术性项目 Non-technical (yuan)",
    "技术交易额 Technology amount (yuan)", "起草时间 Drafted", "签约期限 Sign by", "卖方签署 Seller signed",
    "买方签署 Buyer signed", "生效时间 In force", "结束时间 Closed", "结束原因 Close reason",
    "文本SHA-256 Text SHA-256", "登记编号 Registration No.", "登记状态 Registration state",
    "凭证编号 Certificate", "凭证状态 Certificate state", "记录哈希 Record hash",
)


def contract_rows(session: Session, contracts: Sequence[Contract]) -> list[list[Any]]:
    """One row per contract (amounts as Decimal yuan, times in Shanghai time)."""
    ids = [c.id for c in contracts]
    regs: dict[int, TechRegistration] = {}
    certs: dict[int, Certificate] = {}
    if ids:
        for r in session.scalars(sa.select(TechRegistration).where(TechRegistration.contract_id.in_(ids))
                                 .order_by(TechRegistration.id)):
            regs[r.contract_id] = r  # the latest submission of each contract
        for c in session.scalars(sa.select(Certificate).where(Certificate.contract_id.in_(ids))):
            certs[c.contract_id] = c
    rows = []
    for c in contracts:
        deal = c.deal
        cur = deal.currency
        non_tech = sum(i.amount_fen for i in c.non_technical_items)
        seller_sig, buyer_sig = signature_of(c, cd.SigningSide.SELLER), signature_of(c, cd.SigningSide.BUYER)
        reg, cert = regs.get(c.id), certs.get(c.id)
        rows.append([
            c.ref, deal.ref, deal.listing.ref if deal.listing else "", c.state.value,
            lb.label(lb.CONTRACT_TYPE, c.contract_type), lb.label(lb.SUBTYPE, c.subtype), c.title,
            deal.seller.name, deal.seller.id_code, deal.buyer.name, deal.buyer.id_code, deal.asset.title,
            deal.asset.number or deal.asset.ref, lb.label(lb.MODE, deal.mode), _yuan(deal.price_fen, cur), cur,
            _yuan(non_tech, cur), _yuan(deal.price_fen - non_tech, cur), _t(c.drafted_at), _t(deal.sign_by),
            _t(seller_sig.signed_at if seller_sig else None), _t(buyer_sig.signed_at if buyer_sig else None),
            _t(c.in_force_at), _t(c.closed_at), c.close_reason or "", c.text_sha256,
            (reg.registration_number or "") if reg else "", reg.state.value if reg else "",
            cert.ref if cert else "", cert.state.value if cert else "", c.record_hash,
        ])
    return rows


REGISTRATION_HEADER = (
    "登记申请 Registration", "登记编号 Registration No.", "状态 State", "合同编号 Contract", "合同名称 Contract name",
    "合同类型 Type", "子类 Subtype", "技术领域 Technical field", "知识产权类型 IP type", "卖方 Seller",
    "卖方地区 Seller region", "卖方类型 Seller entity", "买方 Buyer", "买方地区 Buyer region", "买方类型 Buyer entity",
    "成交额 Deal amount (yuan)", "技术交易额 Technology amount (yuan)", "签订日期 Signed", "提交时间 Submitted",
    "办理期限 Due on", "期限暂定 Provisional", "逾期标记 Overdue flagged", "决定时间 Decided", "登记日期 Registered on",
    "未予登记原因 Refusal reasons", "增值税免征 VAT exempt", "所得税减免 Income-tax relief", "记录哈希 Record hash",
)


def registration_rows(registrations: Sequence[TechRegistration]) -> list[list[Any]]:
    rows = []
    for r in registrations:
        parties = {p.get("role"): p for p in r.parties}
        s, b = parties.get("seller", {}), parties.get("buyer", {})
        relief = r.tax_relief or {}
        rows.append([
            r.ref, r.registration_number or "", r.state.value, r.contract.ref, r.contract_name,
            lb.label(lb.CONTRACT_TYPE, r.contract_type), lb.label(lb.SUBTYPE, r.subtype), r.technical_field, r.ip_type,
            s.get("name", ""), s.get("region_code", ""), s.get("entity_type", ""), b.get("name", ""),
            b.get("region_code", ""), b.get("entity_type", ""), _yuan(r.deal_amount_fen, r.currency),
            _yuan(r.tech_amount_fen, r.currency), r.signing_date.isoformat() if r.signing_date else "",
            _t(r.submitted_at), r.due_on.isoformat(), "yes" if r.due_provisional else "", _t(r.overdue_flagged_at),
            _t(r.decided_at), r.registered_on.isoformat() if r.registered_on else "",
            "; ".join(p["reason"] for p in r.refusal_reasons or []),
            "yes" if relief.get("vat_exempt") else "", "yes" if relief.get("income_tax_relief") else "",
            r.record_hash,
        ])
    return rows


CERTIFICATE_HEADER = (
    "凭证编号 Certificate", "验证码 Code", "状态 State", "成交编号 Deal", "合同编号 Contract", "项目编号 Project",
    "出让方 Seller", "受让方 Buyer", "成交价 Price (yuan)", "出具时间 Issued", "撤销时间 Revoked",
    "撤销原因 Revocation reason", "数据指纹 Fingerprint", "记录哈希 Record hash",
)


def certificate_rows(certificates: Sequence[Certificate]) -> list[list[Any]]:
    return [[c.ref, c.short_code, c.state.value, c.deal.ref, c.contract.ref, c.data.get("project_number", ""),
             c.data.get("seller", ""), c.data.get("buyer", ""), _yuan(c.data.get("price_fen"),
                                                                    c.data.get("currency", "CNY")),
             _t(c.issued_at), _t(c.revoked_at), c.revoked_reason or "", c.fingerprint, c.record_hash]
            for c in certificates]


# --------------------------------------------------------------------------- formats
def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    # A cell a spreadsheet would run as a formula (CSV injection) is shown as text instead.
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell_text(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


#: The one time an XLSX export carries: its bytes depend on the data alone, so two exports of the same
#: records hash the same (the time of an export is in the bundle's manifest and the HTTP response).
XLSX_STAMP = datetime(2000, 1, 1)
_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)")


def _reproducible(xlsx: bytes) -> bytes:
    """openpyxl stamps the save time into docProps/core.xml and each ZIP entry: replace both."""
    stamp = XLSX_STAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(lambda m: m.group(1) + stamp + m.group(3), data)
            zf.writestr(zipfile.ZipInfo(info.filename, date_time=XLSX_STAMP.timetuple()[:6]), data,
                        compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "contracts") -> bytes:
    """The rows as a workbook, byte for byte the same for the same rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([v if isinstance(v, Decimal) else _cell_text(v) for v in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return _reproducible(buf.getvalue())


# --------------------------------------------------------------------------- selections
def check_range(start: date | None, end: date | None, *, required: bool = False) -> None:
    if required and (start is None or end is None):
        raise ValidationError("Give the start and end dates of the range.", code="range_required")
    if start is not None and end is not None:
        if end < start:
            raise ValidationError("The end of the range is before its start.", code="invalid_range")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(f"A range covers at most {MAX_RANGE_DAYS} days.", code="export_range_too_long")


def select_contracts(session: Session, q: ContractQuery) -> list[Contract]:
    check_range(q.drafted_from, q.drafted_to)
    deal = selectinload(Contract.deal)
    stmt = contracts_query(q).options(
        selectinload(Contract.signatures), selectinload(Contract.non_technical_items),
        deal.selectinload(Deal.seller), deal.selectinload(Deal.buyer), deal.selectinload(Deal.asset),
        deal.selectinload(Deal.listing))
    return list(session.scalars(stmt.limit(MAX_ROWS)))


def contracts_csv(session: Session, q: ContractQuery) -> bytes:
    return to_csv(CONTRACT_HEADER, contract_rows(session, select_contracts(session, q)))


def contracts_xlsx(session: Session, q: ContractQuery) -> bytes:
    return to_xlsx(CONTRACT_HEADER, contract_rows(session, select_contracts(session, q)))


# --------------------------------------------------------------------------- the bundle
@dataclass(frozen=True)
class BundleFile:
    path: str
    data: bytes


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _event_line(ev: AuditEvent) -> dict[str, Any]:
    return {"seq": ev.seq, "occurred_at": ev.occurred_at.isoformat(), "actor_user_id": ev.actor_user_id,
            "actor": ev.actor, "action": ev.action, "subject_type": ev.subject_type, "subject_ref": ev.subject_ref,
            "before": ev.before, "after": ev.after, "reason": ev.reason, "prev_hash": ev.prev_hash, "hash": ev.hash}


def build_bundle(session: Session, start: date, end: date, *, base_url: str, clock: Clock) -> bytes:
    """The ZIP bundle of everything recorded from ``start`` to ``end`` (Shanghai dates, inclusive)."""
    check_range(start, end, required=True)
    # Verify first: it reads every record afresh, so the files below show what is stored.
    records_report, chain_report = verify_records(session).as_dict(), verify_chain(session).as_dict()
    contracts = select_contracts(session, ContractQuery(drafted_from=start, drafted_to=end))
    regs = list(session.scalars(
        registrations_query(RegistrationQuery(submitted_from=start, submitted_to=end), today=local_date(clock.now()))
        .options(selectinload(TechRegistration.contract), selectinload(TechRegistration.changes)).limit(MAX_ROWS)))
    certs = list(session.scalars(certificates_query(CertificateQuery(issued_from=start, issued_to=end))
                                 .options(selectinload(Certificate.deal), selectinload(Certificate.contract))
                                 .limit(MAX_ROWS)))
    events = list(session.scalars(within(sa.select(AuditEvent), AuditEvent.occurred_at, start, end)
                                  .order_by(AuditEvent.seq)))
    files = [
        BundleFile("contracts.csv", to_csv(CONTRACT_HEADER, contract_rows(session, contracts))),
        BundleFile("contracts.xlsx", to_xlsx(CONTRACT_HEADER, contract_rows(session, contracts))),
        BundleFile("registrations.csv", to_csv(REGISTRATION_HEADER, registration_rows(regs))),
        BundleFile("certificates.csv", to_csv(CERTIFICATE_HEADER, certificate_rows(certs))),
    ]
    files += [BundleFile(f"certificates/{c.ref}.pdf", certificate_pdf(c, base_url=base_url)) for c in certs]
    files += [BundleFile(f"registrations/{r.ref}.pdf", registration_pdf(r)) for r in regs
              if r.state in (cd.RegistrationState.REGISTERED, cd.RegistrationState.CHANGED)]
    records = [{"record": jsonable(record_of(obj)), "record_hash": obj.record_hash}
               for obj in (*contracts, *regs, *certs)]
    files.append(BundleFile("records.json", json.dumps(records, ensure_ascii=False, indent=1,
                                                         sort_keys=True).encode("utf-8")))
    files.append(BundleFile("audit_events.jsonl", "".join(
        json.dumps(_event_line(ev), ensure_ascii=False, sort_keys=True) + "\n" for ev in events).encode("utf-8")))
    manifest = {
        "exchange_bundle": 1,
        "range": {"from": start.isoformat(), "to": end.isoformat(), "timezone": "Asia/Shanghai"},
        "generated_at": clock.now().isoformat(),
        "counts": {"contracts": len(contracts), "registrations": len(regs), "certificates": len(certs),
                   "audit_events": len(events)},
        "files": [{"path": f.path, "sha256": _sha(f.data), "size": len(f.data)} for f in files],
        "records_verification": records_report,
        "audit_chain": chain_report,
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    stamp = to_local(clock.now()).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in (*files, BundleFile("manifest.json", manifest_bytes),
                  BundleFile("manifest.sha256", f"{_sha(manifest_bytes)}  manifest.json\n".encode())):
            zf.writestr(zipfile.ZipInfo(f.path, date_time=stamp), f.data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def bundle_name(start: date, end: date) -> str:
    return f"exchange-records-{start.isoformat()}-{end.isoformat()}.zip"


def verify_bundle(data: bytes) -> dict[str, Any]:
    """Check a bundle from its bytes alone: the manifest's own hash, every file's SHA-256,
    every record's hash, and the hash and links of the audit events it carries."""
    problems: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        manifest_bytes = zf.read("manifest.json")
        stated = zf.read("manifest.sha256").decode().split()[0] if "manifest.sha256" in names else ""
        if stated != _sha(manifest_bytes):
            problems.append("manifest.json does not match manifest.sha256")
        manifest = json.loads(manifest_bytes)
        listed = {f["path"] for f in manifest["files"]}
        for f in manifest["files"]:
            if f["path"] not in names:
                problems.append(f"{f['path']} is missing")
            elif _sha(zf.read(f["path"])) != f["sha256"]:
                problems.append(f"{f['path']} does not match its SHA-256")
        for extra in sorted(names - listed - {"manifest.json", "manifest.sha256"}):
            problems.append(f"{extra} is not in the manifest")
        records = json.loads(zf.read("records.json")) if "records.json" in names else []
        for item in records:
            if hashlib.sha256(canonical_json(item["record"]).encode("utf-8")).hexdigest() != item["record_hash"]:
                problems.append(f"record {item['record'].get('kind')} {item['record'].get('ref')} does not match "
                                f"its record hash")
        events = [json.loads(line) for line in zf.read("audit_events.jsonl").decode().splitlines() if line] \
            if "audit_events.jsonl" in names else []
    prev = None
    for ev in events:
        fields = {k: ev[k] for k in ("seq", "occurred_at", "actor_user_id", "actor", "action", "subject_type",
                                     "subject_ref", "before", "after", "reason")}
        if event_hash(fields, ev["prev_hash"]) != ev["hash"]:
            problems.append(f"audit event {ev['seq']} does not match its hash")
        if prev is not None and ev["seq"] == prev["seq"] + 1 and ev["prev_hash"] != prev["hash"]:
            problems.append(f"audit event {ev['seq']} does not link to event {prev['seq']}")
        prev = ev
    return {"ok": not problems, "files_checked": len(manifest["files"]), "records_checked": len(records),
            "events_checked": len(events), "problems": problems}

