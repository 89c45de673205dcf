"""The PDF documents: every field printed as real (embedded, extractable) Chinese
text, a page that is not blank and not tofu, the same bytes for the same data.

Needs the CJK font (Debian ``fonts-wqy-microhei``) and ``pdftoppm`` (Debian
``poppler-utils``); without them these tests fail, saying what to install.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from contracts import pdf
from contracts.domain import certificate_fingerprint, certificate_short_code
from contracts.pdf import (
    CJK_FONT_ENV,
    CertificateData,
    CjkFontError,
    ContractDocData,
    PartyLine,
    RegistrationProofData,
    SignatureLine,
    find_cjk_font,
    missing_glyphs,
    render_certificate_pdf,
    render_contract_pdf,
    render_registration_pdf,
    verification_url,
)
from exchange.errors import ValidationError
from exchange.money import Money

REPO = Path(__file__).resolve().parents[2]
BASE_URL = "https://www.example-exchange.cn"
PRICE = "¥1,234,567.89"


# --------------------------------------------------------------------------- set-up checks
@pytest.fixture(scope="module", autouse=True)
def cjk_font() -> Path:
    try:
        return find_cjk_font()
    except CjkFontError as exc:
        pytest.fail(f"The CJK font is missing (CI installs it): {exc}")


@pytest.fixture(scope="module")
def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if not found:
        pytest.fail("pdftoppm is not installed: apt-get install -y poppler-utils")
    return found


# --------------------------------------------------------------------------- data
def certificate(**changes: object) -> CertificateData:
    fields = {"project_number": "SH2026-0001", "price_fen": 123456789, "seller": "上海某某大学"}
    fp = certificate_fingerprint(fields)
    data = CertificateData(
        certificate_number="JYPZ-2026-000042",
        short_code=certificate_short_code(fp, 42),
        fingerprint=fp,
        issue_date=date(2026, 3, 12),
        project_number="SH2026-0001",
        signing_date=date(2026, 3, 5),
        publicity_start=date(2026, 1, 5),
        publicity_end=date(2026, 2, 3),
        seller="上海某某大学",
        seller_code="12310000425006117P",
        buyer="上海某某新材料科技有限公司",
        buyer_code="91310115MA1K4AB12X",
        broker="张三（技术经理人证书 TM-2025-0178）",
        subject_title="一种高导热石墨烯复合材料及其制备方法",
        subject_kind="发明专利 Invention patent",
        subject_numbers=("ZL202310123456.7",),
        trading_method="网络竞价 Online auction",
        appraisal_result="评估值 ¥1,200,000.00（上海某某资产评估有限公司，沪某评报字〔2026〕第012号）",
        price=PRICE,
        payment_method="一次性支付 Lump sum through the Exchange's settlement account",
        review_conclusion="经审核，交易主体资格合法，交易程序符合本所交易规则。 Parties qualified; rules followed.",
    )
    return dataclasses.replace(data, **changes)


def registration(**changes: object) -> RegistrationProofData:
    data = RegistrationProofData(
        registration_number="JS2026310104000123",
        contract_name="一种高导热石墨烯复合材料专利权转让合同",
        parties=(
            PartyLine(role="卖方 Seller", name="上海某某大学", credit_code="12310000425006117P",
                      region_code="310104", entity_type="高等院校 University"),
            PartyLine(role="买方 Buyer", name="上海某某新材料科技有限公司", credit_code="91310115MA1K4AB12X",
                      region_code="310115", entity_type="企业 Enterprise"),
        ),
        contract_type="技术转让 Technology transfer",
        contract_subtype="专利权转让 Patent right",
        technical_field="新材料 New materials",
        ip_type="发明专利 Invention patent",
        signing_date=date(2026, 3, 5),
        term="2026-03-05 至 2031-03-04",
        deal_amount=Money(123456789),
        technology_amount=Money(120000000),
        registration_date=date(2026, 3, 20),
        fingerprint=hashlib.sha256(b"registration record").hexdigest(),
        tax_relief=("增值税免征 VAT exempt: technology transfer.",
                    "企业所得税减免 Income-tax relief: up to 5 million yuan a year exempt, the excess halved."),
        registry="上海市徐汇区技术合同登记处",
    )
    return dataclasses.replace(data, **changes)


TEXT_SHA = hashlib.sha256("合同文本 v1".encode()).hexdigest()


def contract(**changes: object) -> ContractDocData:
    filler = "甲方应当按照本合同约定向乙方交付全部技术资料，并保证其完整、准确、有效。The licensor delivers all documents. "
    clauses = tuple(f"条款标记{n:02d}。" + filler * (2 + n % 5) for n in range(1, 26))
    data = ContractDocData(
        title="专利权转让合同 Patent Assignment Contract",
        contract_number="HT-2026-000042",
        parties=(
            PartyLine(role="甲方 Party A", name="上海某某大学", credit_code="12310000425006117P",
                      region_code="310104", entity_type="高等院校 University"),
            PartyLine(role="乙方 Party B", name="上海某某新材料科技有限公司", credit_code="91310115MA1K4AB12X"),
        ),
        subject="一种高导热石墨烯复合材料及其制备方法 ZL202310123456.7",
        mode="转让 Assignment",
        scope="专利权全部权利 All rights",
        price=Money(123456789),
        payment_terms="合同生效后10个工作日内一次性支付至本所结算账户",
        clauses=clauses,
        text_sha256=TEXT_SHA,
        signatures=(
            SignatureLine(party="甲方 上海某某大学", signer="李四",
                          signed_at=datetime(2026, 3, 5, 2, 30, tzinfo=timezone.utc), text_sha256=TEXT_SHA),
            SignatureLine(party="乙方 上海某某新材料科技有限公司", signer="王五",
                          signed_at=datetime(2026, 3, 5, 6, 0, tzinfo=timezone.utc), text_sha256=TEXT_SHA),
        ),
    )
    return dataclasses.replace(data, **changes)


# --------------------------------------------------------------------------- helpers
def text_of(pdf_bytes: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes)).pages)


FURNITURE = re.compile(r"^(上海技术交易所|Shanghai Technology Exchange|技术合同|Technology Contract"
                       r"|上海技术交易所 Shanghai Technology Exchange · .*|第 \d+ 页 / 共 \d+ 页 .*)$")


def body_text(pdf_bytes: bytes) -> str:
    """The text without the header band and footer of each page, so a clause that
    runs on over a page break reads as one."""
    return "\n".join(line for line in text_of(pdf_bytes).splitlines() if not FURNITURE.match(line.strip()))


def squash(text: str) -> str:
    """Without whitespace: a wrapped value reads the same as the unwrapped one."""
    return re.sub(r"\s+", "", text)


def raster(pdftoppm: str, pdf_bytes: bytes, tmp_path: Path, *, page: int = 1, dpi: int = 50,
           colour: bool = False) -> tuple[int, int, int, bytes]:
    """(width, height, channels, pixels) of one page, via PGM/PPM (trivial to parse)."""
    src = tmp_path / f"doc-{hashlib.sha256(pdf_bytes).hexdigest()[:12]}.pdf"
    src.write_bytes(pdf_bytes)
    out = tmp_path / f"{src.stem}-p{page}-{dpi}"
    mode = [] if colour else ["-gray"]  # PPM is pdftoppm's default output
    subprocess.run([pdftoppm, "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", *mode,
                    str(src), str(out)], check=True, capture_output=True)
    raw = out.with_suffix(".ppm" if colour else ".pgm").read_bytes()
    m = re.match(rb"(P[56])\s+(\d+)\s+(\d+)\s+(\d+)\s", raw)
    assert m, "not a binary PNM file"
    magic, width, height, maxval = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
    assert maxval == 255
    channels = 3 if magic == b"P6" else 1
    pixels = raw[m.end():]
    assert len(pixels) == width * height * channels
    return width, height, channels, pixels


def dark_fraction(pixels: bytes) -> float:
    return sum(1 for v in pixels if v < 128) / len(pixels)


# --------------------------------------------------------------------------- font set-up
def test_configured_font_wins_and_a_typo_is_reported(cjk_font: Path, tmp_path: Path) -> None:
    assert find_cjk_font({CJK_FONT_ENV: str(cjk_font)}) == cjk_font
    with pytest.raises(CjkFontError, match=CJK_FONT_ENV):
        find_cjk_font({CJK_FONT_ENV: str(tmp_path / "nope.ttc")})


def test_missing_font_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pdf, "KNOWN_CJK_FONT_PATHS", (tmp_path / "absent.ttc",))
    monkeypatch.setattr(pdf, "_VENDORED_FONT_DIR", tmp_path / "no-fonts")
    with pytest.raises(CjkFontError, match="apt-get install -y fonts-wqy-microhei"):
        find_cjk_font({})


def test_a_file_that_is_not_a_truetype_font_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"OTTO" + b"\0" * 200)  # what a CFF-outline font starts with
    monkeypatch.setenv(CJK_FONT_ENV, str(bogus))
    with pytest.raises(CjkFontError, match="TrueType"):
        render_certificate_pdf(certificate(), base_url=BASE_URL)


# --------------------------------------------------------------------------- certificate
def test_certificate_prints_every_field_as_text() -> None:
    data = certificate()
    text = text_of(render_certificate_pdf(data, base_url=BASE_URL))
    flat = squash(text)
    for value in ["上海技术交易所", "Shanghai Technology Exchange", "技术交易凭证", "Technology Transaction Certificate",
                  "JYPZ-2026-000042", "2026-03-12", "SH2026-0001", "2026-03-05", "2026-01-05", "2026-02-03",
                  "上海某某大学", "12310000425006117P", "上海某某新材料科技有限公司", "91310115MA1K4AB12X",
                  data.broker, "发明专利", "一种高导热石墨烯复合材料及其制备方法", "ZL202310123456.7",
                  data.trading_method, data.appraisal_result, PRICE, data.payment_method, data.review_conclusion,
                  *pdf.DEFAULT_CONFIRMATIONS]:
        assert squash(str(value)) in flat, value
    for label in ["成交价格 Price", "出让方 Seller", "受让方 Buyer", "技术经理人 Broker", "交易标的 Subject",
                  "交易方式 Trading method", "评估结果 Appraisal result", "支付方式 Payment method",
                  "审核结论 Review conclusion", "项目编号 Project No.", "挂牌公示期 Publicity period"]:
        assert label in text, label
    code = data.short_code
    assert f"{code[:5]}-{code[5:]}" in text
    assert verification_url(BASE_URL, code) in text
    assert data.fingerprint in flat
    assert "第 1 页 / 共 1 页" in text and "Page 1 of 1" in text
    assert "已撤销" not in text and "REVOKED" not in text


def test_every_font_is_embedded_truetype(cjk_font: Path) -> None:
    # A .ttc with a Mono sibling (as wqy-microhei has) embeds the fingerprint's font
    # too; a lone .ttf set by EXCHANGE_CJK_FONT falls back to the base-14 Courier.
    courier_allowed = cjk_font.suffix.lower() != ".ttc"
    for doc in (render_certificate_pdf(certificate(), base_url=BASE_URL), render_registration_pdf(registration()),
                render_contract_pdf(contract())):
        for page in PdfReader(io.BytesIO(doc)).pages:
            fonts = page["/Resources"]["/Font"]
            assert fonts
            for font in fonts.values():
                font = font.get_object()
                if courier_allowed and font["/BaseFont"] == "/Courier":
                    continue
                assert font["/Subtype"] == "/TrueType", font["/BaseFont"]
                assert re.match(r"/[A-Z]{6}\+", str(font["/BaseFont"])), "not a subset"
                assert "/FontFile2" in font["/FontDescriptor"].get_object(), f"{font['/BaseFont']} not embedded"


def test_the_font_has_a_glyph_for_every_character_printed() -> None:
    data, reg, con = certificate(), registration(), contract()
    printed = (text_of(render_certificate_pdf(data, base_url=BASE_URL)) + text_of(render_registration_pdf(reg))
               + text_of(render_contract_pdf(con)))
    assert missing_glyphs(printed) == ""
    assert missing_glyphs("上海\U0010fffd") == "\U0010fffd"


def test_a_character_the_font_lacks_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="contracts.pdf"):
        render_certificate_pdf(certificate(buyer="某某\U0010fffd公司"), base_url=BASE_URL)
    assert "\\U0010fffd" in caplog.text


def test_qr_code_links_to_the_verification_page() -> None:
    data = certificate()
    reader = PdfReader(io.BytesIO(render_certificate_pdf(data, base_url=BASE_URL + "/")))
    uris = [annot.get_object()["/A"]["/URI"] for page in reader.pages for annot in page.get("/Annots", [])]
    assert uris == [f"{BASE_URL}/verify/{data.short_code}"]


def test_verification_url_normalises_the_code() -> None:
    code = certificate().short_code
    assert verification_url(BASE_URL, f"{code[:5].lower()}-{code[5:]}") == f"{BASE_URL}/verify/{code}"
    with pytest.raises(ValidationError):
        verification_url("javascript:alert(1)", code)


def test_certificate_page_is_drawn(pdftoppm: str, tmp_path: Path) -> None:
    width, height, _, pixels = raster(pdftoppm, render_certificate_pdf(certificate(), base_url=BASE_URL), tmp_path)
    assert width > 400 and abs(height / width - 2 ** 0.5) < 0.01  # A4 at 50 dpi
    ink = dark_fraction(pixels)
    # The header band alone is ~7% of the page; a full page of black would be a bug too.
    assert 0.08 < ink < 0.4, ink
    body = pixels[width * height // 5: width * height * 4 // 5]  # below the band: the field table
    assert 0.01 < dark_fraction(body) < 0.3


def test_chinese_is_drawn_as_glyphs_not_boxes(pdftoppm: str, tmp_path: Path) -> None:
    """Tofu draws every missing character as the same box: two names that differ in
    one character would rasterise identically. Real glyphs differ."""
    shanghai = render_certificate_pdf(certificate(seller="上海某某大学"), base_url=BASE_URL)
    beijing = render_certificate_pdf(certificate(seller="北京某某大学"), base_url=BASE_URL)
    _, _, _, a = raster(pdftoppm, shanghai, tmp_path, dpi=100)
    _, _, _, b = raster(pdftoppm, beijing, tmp_path, dpi=100)
    differing = sum(1 for x, y in zip(a, b, strict=True) if abs(x - y) > 64)
    assert differing > 20, "上海 and 北京 rasterise the same: the Chinese glyphs are not drawn"


def test_same_data_same_bytes_and_a_changed_field_changes_them() -> None:
    data = certificate()
    first = render_certificate_pdf(data, base_url=BASE_URL)
    assert render_certificate_pdf(data, base_url=BASE_URL) == first
    assert render_certificate_pdf(dataclasses.replace(data, price="¥1,234,567.90"), base_url=BASE_URL) != first
    assert render_certificate_pdf(dataclasses.replace(data, seller="上海某某大学技术转移中心"),
                                  base_url=BASE_URL) != first
    assert render_registration_pdf(registration()) == render_registration_pdf(registration())
    assert render_contract_pdf(contract()) == render_contract_pdf(contract())
    assert render_contract_pdf(contract(scope="中国大陆 Mainland China")) != render_contract_pdf(contract())


def test_same_bytes_in_another_process() -> None:
    """No hash-seed, clock or path dependence: a fresh interpreter renders the same bytes."""
    data = certificate()
    script = ("import pickle, sys\nfrom contracts.pdf import render_certificate_pdf\n"
              f"sys.stdout.buffer.write(render_certificate_pdf(pickle.load(sys.stdin.buffer), base_url={BASE_URL!r}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "America/New_York", "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(data), capture_output=True, env=env,
                         cwd=REPO, check=False, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout == render_certificate_pdf(data, base_url=BASE_URL)


def test_metadata_is_fixed() -> None:
    meta = PdfReader(io.BytesIO(render_certificate_pdf(certificate(), base_url=BASE_URL))).metadata
    assert meta.title == "技术交易凭证 JYPZ-2026-000042"
    assert meta["/CreationDate"].startswith("D:20000101")


def test_revoked_certificate_carries_the_stamp_and_the_reason(pdftoppm: str, tmp_path: Path) -> None:
    valid = render_certificate_pdf(certificate(), base_url=BASE_URL)
    revoked = render_certificate_pdf(certificate(), base_url=BASE_URL, revoked=True,
                                     revocation_reason="权属证明材料经查不实 Proof of rights proved false.",
                                     revoked_on=date(2026, 4, 1))
    text = text_of(revoked)
    assert "已撤销" in text and "REVOKED" in text
    assert "权属证明材料经查不实" in text and "2026-04-01" in text
    assert PRICE in text  # still legible under the stamp

    def red(pdf_bytes: bytes) -> int:
        _, _, _, px = raster(pdftoppm, pdf_bytes, tmp_path, colour=True)
        return sum(1 for i in range(0, len(px), 3) if px[i] > 150 and px[i + 1] < 110 and px[i + 2] < 110)

    assert red(valid) == 0
    assert red(revoked) > 500


def test_revocation_needs_a_reason() -> None:
    with pytest.raises(ValidationError) as exc:
        render_certificate_pdf(certificate(), base_url=BASE_URL, revoked=True, revocation_reason="  ")
    assert exc.value.field == "revocation_reason"


def test_absent_broker_and_money_and_exchange_name() -> None:
    text = text_of(render_certificate_pdf(certificate(broker=None, price=Money(100)), base_url=BASE_URL,
                                          exchange_name="北京技术交易所", exchange_name_en="Beijing Technology Exchange"))
    assert "技术经理人 Broker" in text and "无 None" in text
    assert "¥1.00" in text
    assert "北京技术交易所" in text and "Beijing Technology Exchange" in text and "上海技术交易所" not in text


@pytest.mark.parametrize(("changes", "code"), [
    ({"price": ""}, "required"),
    ({"seller": "   "}, "required"),
    ({"fingerprint": "ABC"}, "invalid_fingerprint"),
    ({"short_code": "0000000001"}, "invalid_short_code"),
    ({"short_code": certificate_short_code("f" * 64, 42)}, "short_code_mismatch"),
])
def test_bad_certificate_data_is_refused(changes: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        render_certificate_pdf(certificate(**changes), base_url=BASE_URL)
    assert exc.value.code == code


def test_long_values_wrap_and_stay_whole() -> None:
    long_conclusion = "经审核，" + "交易主体资格合法、交易程序合规、信息披露充分；" * 12 + "准予出具交易凭证。"
    text = text_of(render_certificate_pdf(certificate(review_conclusion=long_conclusion), base_url=BASE_URL))
    assert squash(long_conclusion) in squash(text)


# --------------------------------------------------------------------------- registration proof
def test_registration_proof_prints_every_field(pdftoppm: str, tmp_path: Path) -> None:
    data = registration()
    doc = render_registration_pdf(data)
    text = text_of(doc)
    flat = squash(text)
    for value in ["技术合同认定登记证明", "JS2026310104000123", data.contract_name, "上海某某大学", "310104",
                  "高等院校 University", "上海某某新材料科技有限公司", "310115", "企业 Enterprise",
                  "91310115MA1K4AB12X", "技术转让 Technology transfer", "专利权转让 Patent right",
                  "新材料 New materials", "发明专利 Invention patent", "2026-03-05", data.term, "¥1,234,567.89",
                  "¥1,200,000.00", "2026-03-20", *data.tax_relief, data.registry, data.fingerprint]:
        assert squash(value) in flat, value
    for label in ["成交额 Deal amount", "技术交易额 Technology transaction amount", "登记编号 Registration No."]:
        assert squash(label) in flat, label
    _, _, _, pixels = raster(pdftoppm, doc, tmp_path)
    assert 0.08 < dark_fraction(pixels) < 0.4


def test_registration_without_parties_is_refused() -> None:
    with pytest.raises(ValidationError):
        render_registration_pdf(registration(parties=()))


# --------------------------------------------------------------------------- contract
def test_contract_runs_over_pages_with_every_clause_and_signature(pdftoppm: str, tmp_path: Path) -> None:
    data = contract()
    doc = render_contract_pdf(data)
    reader = PdfReader(io.BytesIO(doc))
    pages = len(reader.pages)
    assert pages >= 2
    text = text_of(doc)
    flat = squash(text)
    body = squash(body_text(doc))
    for clause in data.clauses:
        assert squash(clause) in body, clause[:12]
    assert "第一条 Article 1" in text and "第二十五条 Article 25" in text
    for value in ["专利权转让合同", "HT-2026-000042", "12310000425006117P", "310104", "91310115MA1K4AB12X",
                  data.subject, data.mode, data.scope, "¥1,234,567.89", data.payment_terms, "李四", "王五",
                  "2026-03-05 10:30:00", "2026-03-05 14:00:00", TEXT_SHA]:
        assert squash(value) in flat, value
    assert text.count("matches this text") == 2
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    for page in range(1, pages + 1):
        _, _, _, pixels = raster(pdftoppm, doc, tmp_path, page=page)
        assert dark_fraction(pixels) > 0.05, f"page {page} is blank"


def test_a_signature_on_another_text_is_flagged() -> None:
    other = hashlib.sha256(b"older draft").hexdigest()
    sig = dataclasses.replace(contract().signatures[0], text_sha256=other)
    text = text_of(render_contract_pdf(contract(signatures=(sig,))))
    assert "differs from this text" in text
    assert other in squash(text)


def test_unsigned_contract_says_so() -> None:
    assert "Not signed yet" in text_of(render_contract_pdf(contract(signatures=())))


def test_signature_times_must_be_aware() -> None:
    sig = dataclasses.replace(contract().signatures[0], signed_at=datetime(2026, 3, 5, 10, 30))
    with pytest.raises(ValidationError) as exc:
        render_contract_pdf(contract(signatures=(sig,)))
    assert exc.value.code == "naive_datetime"
