"""PDF documents of the contracts area, as plain functions returning bytes.

* ``render_certificate_pdf``: the transaction certificate (交易凭证), with a QR
  code to the public verification page, the short code and the SHA-256
  fingerprint of the certificate's data; a revoked one carries a stamp.
* ``render_registration_pdf``: the technology contract registration proof
  (技术合同认定登记证明).
* ``render_contract_pdf``: a contract document with its clauses and signatures.

No Flask and no database: the caller loads the record, fills one of the input
dataclasses below and stores or sends the bytes.

Chinese is real text in a subset-embedded TrueType font, so it can be searched,
copied and read aloud. ReportLab cannot use CFF (PostScript-outline) fonts, which
rules out the common Noto/Source Han CJK files; ``find_cjk_font`` looks for a
TrueType-outline one: the ``EXCHANGE_CJK_FONT`` path if set, a font dropped into
``exchange/data/fonts/``, then the system paths of the Debian package
``fonts-wqy-microhei`` (WenQuanYi Micro Hei, Apache-2.0) and a few alternatives.

Output is deterministic: the same data gives the same bytes (ReportLab's
``invariant`` mode fixes the creation date and the document ID, and every other
piece of metadata is fixed here), so a stored PDF can be checked by rendering
it again.
"""
from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from exchange.clock import to_local
from exchange.errors import ValidationError
from exchange.money import Money

from contracts.domain import CROCKFORD_ALPHABET, normalise_short_code

log = logging.getLogger(__name__)

__all__ = [
    "CJK_FONT_ENV",
    "CJK_FONT_PACKAGE",
    "DEFAULT_CONFIRMATIONS",
    "DEFAULT_EXCHANGE_NAME",
    "DEFAULT_EXCHANGE_NAME_EN",
    "KNOWN_CJK_FONT_PATHS",
    "CertificateData",
    "CjkFontError",
    "ContractDocData",
    "PartyLine",
    "RegistrationProofData",
    "SignatureLine",
    "find_cjk_font",
    "missing_glyphs",
    "render_certificate_pdf",
    "render_contract_pdf",
    "render_registration_pdf",
    "verification_url",
]

# =========================================================================== fonts
CJK_FONT_ENV = "EXCHANGE_CJK_FONT"
#: The Debian/Ubuntu package that provides the default font.
CJK_FONT_PACKAGE = "fonts-wqy-microhei"
_VENDORED_FONT_DIR = Path(__file__).resolve().parent.parent / "exchange" / "data" / "fonts"
#: Looked at in this order after ``EXCHANGE_CJK_FONT`` and ``exchange/data/fonts/``.
#: All TrueType outlines; a .ttc is read at subfont 0.
KNOWN_CJK_FONT_PATHS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Debian/Ubuntu fonts-wqy-microhei
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),  # Fedora wqy-microhei-fonts
    Path("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc"),  # Arch wqy-microhei
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # Debian/Ubuntu fonts-wqy-zenhei
    Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"),  # Fedora wqy-zenhei-fonts
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),  # Debian/Ubuntu fonts-arphic-uming
)
# Characters every usable font has: without them every Chinese field would be tofu.
_PROBE_CHARACTERS = "交易凭证上海"


class CjkFontError(RuntimeError):
    """No usable TrueType CJK font: a set-up problem, not bad input."""


def find_cjk_font(environ: Mapping[str, str] | None = None) -> Path:
    """The CJK font file to embed.

    ``EXCHANGE_CJK_FONT`` wins when set, and must then name an existing file (a
    typo is reported, never silently replaced by another font); then the first
    ``*.ttf``/``*.ttc`` in ``exchange/data/fonts/``; then ``KNOWN_CJK_FONT_PATHS``.
    Raises ``CjkFontError`` saying how to install one.
    """
    env = os.environ if environ is None else environ
    configured = env.get(CJK_FONT_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise CjkFontError(f"{CJK_FONT_ENV} is set to {configured!r}, which is not a file.")
        return path
    vendored = sorted(_VENDORED_FONT_DIR.glob("*.tt[fc]")) if _VENDORED_FONT_DIR.is_dir() else []
    for path in (*vendored, *KNOWN_CJK_FONT_PATHS):
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in KNOWN_CJK_FONT_PATHS)
    raise CjkFontError(
        "No TrueType CJK font found to render Chinese PDFs. Install one with "
        f"'apt-get install -y {CJK_FONT_PACKAGE}', or set {CJK_FONT_ENV} to a TrueType-outline "
        f"CJK font (.ttf or .ttc; CFF/OpenType-PostScript fonts such as Noto CJK do not work). "
        f"Looked in {_VENDORED_FONT_DIR} and {looked}."
    )


@dataclass(frozen=True, slots=True)
class _Fonts:
    regular: str  # registered ReportLab font name
    mono: str
    path: Path
    cmap: frozenset[int]  # code points the regular font has glyphs for


@functools.lru_cache(maxsize=4)
def _load_fonts(path: Path) -> _Fonts:
    try:
        font = TTFont("_cjk", str(path), subfontIndex=0)
    except (TTFError, OSError) as exc:
        raise CjkFontError(
            f"{path} cannot be embedded: {exc}. ReportLab needs a TrueType-outline font "
            f"(for instance {CJK_FONT_PACKAGE})."
        ) from None
    missing = [ch for ch in _PROBE_CHARACTERS if ord(ch) not in font.face.charToGlyph]
    if missing:
        raise CjkFontError(f"{path} has no Chinese glyphs (missing {''.join(missing)!r}).")
    # Names come from the font itself, not from the path, so where the file lies
    # never changes the PDF bytes.
    face = font.face.name.decode("latin-1") if isinstance(font.face.name, bytes) else str(font.face.name)
    regular = f"CJK-{face}"
    font.fontName = regular
    pdfmetrics.registerFont(font)
    mono = "Courier"
    # A collection often carries a monospaced sibling (WenQuanYi Micro Hei Mono):
    # the fingerprint is then embedded too. Otherwise the base-14 Courier will do
    # for hex digits.
    if path.suffix.lower() == ".ttc":
        try:
            second = TTFont("_cjk_mono", str(path), subfontIndex=1)
        except (TTFError, OSError, IndexError):
            second = None
        if second is not None:
            name = second.face.name
            name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
            if "mono" in name.lower():
                mono = f"CJK-{name}"
                second.fontName = mono
                pdfmetrics.registerFont(second)
    return _Fonts(regular=regular, mono=mono, path=path, cmap=frozenset(font.face.charToGlyph))


def _fonts() -> _Fonts:
    return _load_fonts(find_cjk_font().resolve())


def missing_glyphs(text: str) -> str:
    """The distinct characters of ``text`` the CJK font cannot draw (they would print
    as empty boxes), in order of first appearance; empty when all is well."""
    cmap = _fonts().cmap
    seen: dict[str, None] = {}
    for ch in text:
        if not ch.isspace() and ord(ch) not in cmap:
            seen.setdefault(ch)
    return "".join(seen)


# =========================================================================== input
DEFAULT_EXCHANGE_NAME = "上海技术交易所"
DEFAULT_EXCHANGE_NAME_EN = "Shanghai Technology Exchange"

#: The exchange's statements printed on every certificate.
DEFAULT_CONFIRMATIONS: tuple[str, ...] = (
    "交易标的权属已经本所确认。 The rights in the subject have been confirmed.",
    "交易标的已经评估。 The subject has been appraised.",
    "成交价款已存入本所结算账户。 The price is held in escrow in the Exchange's settlement account.",
    "本交易通过本所结算。 The transaction is settled through the Exchange.",
)

#: What a text field accepts: text as printed, or a value formatted here
#: (``Money`` as ``¥1,234.00``, ``date`` as ISO, aware ``datetime`` in Shanghai time).
Text = str | Money | date | datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateData:
    """Everything a transaction certificate (交易凭证) prints."""

    certificate_number: str
    short_code: str  # contracts.domain.certificate_short_code
    fingerprint: str  # contracts.domain.certificate_fingerprint of the certificate's data
    issue_date: Text
    project_number: str
    signing_date: Text
    publicity_start: Text
    publicity_end: Text
    seller: str
    buyer: str
    subject_title: str
    trading_method: str  # e.g. "网络竞价 Online auction"
    appraisal_result: str
    price: Text
    payment_method: str
    review_conclusion: str
    seller_code: str = ""  # unified social credit code
    buyer_code: str = ""
    broker: str | None = None  # technology manager (技术经理人); None when there was none
    subject_kind: str = ""  # e.g. "发明专利 Invention patent"
    subject_numbers: tuple[str, ...] = ()  # patent / registration numbers
    confirmations: tuple[str, ...] = DEFAULT_CONFIRMATIONS


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyLine:
    """A party as a document prints it."""

    role: str  # e.g. "转让方 Seller", "甲方 Party A"
    name: str
    credit_code: str = ""  # unified social credit code, or ID number of an individual
    region_code: str = ""  # GB/T 2260
    entity_type: str = ""  # e.g. "高等院校 University"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationProofData:
    """Everything the registration proof (技术合同认定登记证明) prints."""

    registration_number: str
    contract_name: str
    parties: tuple[PartyLine, ...]
    contract_type: str  # e.g. "技术转让 Technology transfer"
    contract_subtype: str  # e.g. "专利权转让 Patent right"
    technical_field: str
    ip_type: str  # e.g. "发明专利 Invention patent"
    signing_date: Text
    term: str  # e.g. "2026-03-01 至 2031-02-28"
    deal_amount: Text  # 成交额
    technology_amount: Text  # 技术交易额
    registration_date: Text
    fingerprint: str  # SHA-256 of the registration record
    tax_relief: tuple[str, ...] = ()  # one line per relief, e.g. contracts.domain.TaxRelief.reasons
    registry: str = ""  # the registering body (登记机构)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureLine:
    """One signature on a contract."""

    party: str  # whom the signature binds
    signer: str  # the person who signed
    signed_at: Text
    text_sha256: str  # SHA-256 of the text that was signed


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractDocData:
    """A contract document (合同文本)."""

    title: str
    contract_number: str
    parties: tuple[PartyLine, ...]
    subject: str
    mode: str  # e.g. "独占许可 Exclusive licence"
    scope: str  # territory, field of use, term...
    price: Text
    payment_terms: str
    clauses: tuple[str, ...]
    text_sha256: str  # SHA-256 of the contract text
    signatures: tuple[SignatureLine, ...] = ()


# =========================================================================== formatting
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _fmt(value: Text | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return value.format()
    if isinstance(value, datetime):
        try:
            local = to_local(value)
        except ValueError:
            raise ValidationError("Times on documents must be timezone-aware.", code="naive_datetime") from None
        return local.strftime("%Y-%m-%d %H:%M:%S") + " (UTC+8)"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _require_text(obj: Any, names: Iterable[str]) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is None or not _fmt(value).strip():
            raise ValidationError(f"{name.replace('_', ' ').capitalize()} is required on the document.",
                                  code="required", field=name)


def _require_fingerprint(value: str, name: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValidationError("A fingerprint is 64 lower-case hex digits (SHA-256).", code="invalid_fingerprint",
                              field=name)


def _grouped_hex(hex64: str, per_line: int = 32) -> str:
    """``aaaaaaaa bbbbbbbb ...`` with a line break every ``per_line`` digits."""
    lines = []
    for start in range(0, len(hex64), per_line):
        chunk = hex64[start:start + per_line]
        lines.append(" ".join(chunk[i:i + 8] for i in range(0, len(chunk), 8)))
    return "\n".join(lines)


def _cn_ordinal(n: int) -> str:
    """1 -> 一, 12 -> 十二, 40 -> 四十; plain digits from 100 on."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    return str(n)


def verification_url(base_url: str, short_code: str) -> str:
    """The public verification page a certificate's QR code leads to."""
    if not isinstance(base_url, str) or not re.match(r"https?://[^\s/]+", base_url):
        raise ValidationError("The verification base URL is an http(s) URL.", code="invalid_base_url",
                              field="base_url")
    return f"{base_url.rstrip('/')}/verify/{normalise_short_code(short_code)}"


# =========================================================================== look
_INK = colors.HexColor("#1B1F24")
_MUTED = colors.HexColor("#5A6472")
_NAVY = colors.HexColor("#16325C")
_GOLD = colors.HexColor("#B8862B")
_LABEL_BG = colors.HexColor("#EEF2F7")
_RULE = colors.HexColor("#C3CCD8")
_RED = colors.HexColor("#C62828")

_PAGE_W, _PAGE_H = A4
_MARGIN_X = 18 * mm
_BAND_H = 22 * mm
_TOP = _BAND_H + 10 * mm
_BOTTOM = 20 * mm
_CONTENT_W = _PAGE_W - 2 * _MARGIN_X
_LABEL_W = 46 * mm


@dataclass(frozen=True, slots=True)
class _Styles:
    body: ParagraphStyle
    label: ParagraphStyle
    value: ParagraphStyle
    small: ParagraphStyle
    mono: ParagraphStyle
    heading: ParagraphStyle
    clause: ParagraphStyle
    banner: ParagraphStyle
    cell_head: ParagraphStyle


def _styles(fonts: _Fonts) -> _Styles:
    base = ParagraphStyle("base", fontName=fonts.regular, fontSize=10, leading=14, textColor=_INK,
                          wordWrap="CJK", alignment=TA_LEFT)
    return _Styles(
        body=base,
        label=ParagraphStyle("label", parent=base, fontSize=9.5, leading=13),
        value=ParagraphStyle("value", parent=base),
        small=ParagraphStyle("small", parent=base, fontSize=8.5, leading=12, textColor=_MUTED),
        mono=ParagraphStyle("mono", parent=base, fontName=fonts.mono, fontSize=8.5, leading=11.5, wordWrap=None),
        heading=ParagraphStyle("heading", parent=base, fontSize=11.5, leading=15, textColor=_NAVY, spaceBefore=10,
                               spaceAfter=5),
        clause=ParagraphStyle("clause", parent=base, fontSize=10, leading=15.5, spaceAfter=5, firstLineIndent=0),
        banner=ParagraphStyle("banner", parent=base, textColor=_RED, fontSize=10, leading=14.5),
        cell_head=ParagraphStyle("cell_head", parent=base, fontSize=8.5, leading=11.5, textColor=_NAVY),
    )


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _label(cn: str, en: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(f'{escape(cn)} <font size="7.5" color="#5A6472">{escape(en)}</font>', style)


def _heading(cn: str, en: str, st: _Styles) -> Paragraph:
    return Paragraph(f'{escape(cn)} <font size="9" color="#5A6472">{escape(en)}</font>', st.heading)


_Cell = str | Flowable | list[Flowable]


def _field_table(rows: Sequence[tuple[str, str, _Cell]], st: _Styles) -> Table:
    """Label | value rows; values wrap, and a very long one splits across pages."""
    data = [[_label(cn, en, st.label), _para(value, st.value) if isinstance(value, str) else value]
            for cn, en, value in rows]
    table = Table(data, colWidths=[_LABEL_W, _CONTENT_W - _LABEL_W], splitInRow=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), st.body.fontName),  # cells default to Helvetica
        ("BACKGROUND", (0, 0), (0, -1), _LABEL_BG),
        ("BOX", (0, 0), (-1, -1), 0.8, _NAVY),
        ("INNERGRID", (0, 0), (-1, -1), 0.4, _RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 7),
        ("RIGHTPADDING", (0, 0), (-1, -1), 7),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    return table


def _grid_table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], st: _Styles) -> Table:
    data = [[_para(h, st.cell_head) for h in header]]
    data += [[_para(cell, st.label) for cell in row] for row in rows]
    table = Table(data, colWidths=list(widths), repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), st.body.fontName),  # cells default to Helvetica
        ("BACKGROUND", (0, 0), (-1, 0), _LABEL_BG),
        ("BOX", (0, 0), (-1, -1), 0.8, _NAVY),
        ("INNERGRID", (0, 0), (-1, -1), 0.4, _RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    return table


class _Title(Flowable):
    """The document title: Chinese large and heavy, English under it, centred."""

    def __init__(self, cn: str, en: str, font: str) -> None:
        super().__init__()
        self.cn, self.en, self.font = cn, en, font
        self.width, self.height = _CONTENT_W, 17 * mm

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        cx = self.width / 2
        c.setFillColor(_NAVY)
        c.setStrokeColor(_NAVY)
        c.setLineWidth(0.5)
        # Render mode 2 (fill and stroke) thickens the strokes: the font has no bold face.
        size = 21 if pdfmetrics.stringWidth(self.cn, self.font, 21) < self.width else 15
        c.setFont(self.font, size)
        c.drawCentredString(cx, self.height - 7.5 * mm, self.cn, mode=2)
        c.setFillColor(_MUTED)
        c.setFont(self.font, 10.5)
        c.drawCentredString(cx, self.height - 13 * mm, self.en)
        c.setStrokeColor(_GOLD)
        c.setLineWidth(1)
        c.line(cx - 18 * mm, 1.2 * mm, cx + 18 * mm, 1.2 * mm)


class _QrCode(QrCode):
    """ReportLab's QR flowable, clickable in a viewer and drawn in the document's colour."""

    def __init__(self, url: str, size: float) -> None:
        super().__init__(url, width=size, height=size, qrLevel="M", qrBorder=2)
        self.url = url

    def draw(self) -> None:
        self.canv.setFillColor(colors.black)
        super().draw()
        self.canv.linkURL(self.url, (0, 0, self.width, self.height), relative=1)


def _meta_line(items: Sequence[tuple[str, str, str]], st: _Styles) -> Table:
    """A row of ``label: value`` pairs under the title."""
    cells = [Paragraph(f'<font color="#5A6472">{escape(cn)} {escape(en)}</font>&nbsp;&nbsp;{escape(value)}',
                       st.body) for cn, en, value in items]
    table = Table([cells], colWidths=[_CONTENT_W / len(items)] * len(items))
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), st.body.fontName),  # cells default to Helvetica
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("ALIGN", (-1, 0), (-1, 0), "RIGHT"),
    ]))
    return table


def _fingerprint_block(cn: str, en: str, fingerprint: str, st: _Styles) -> list[Flowable]:
    return [
        Paragraph(f'{escape(cn)} <font color="#5A6472">{escape(en)}</font>', st.small),
        _para(_grouped_hex(fingerprint), st.mono),
    ]


# =========================================================================== page furniture
@dataclass(frozen=True, slots=True)
class _Page:
    """What is drawn around the story on every page."""

    exchange_name: str
    exchange_name_en: str
    band_text: str  # right of the header band: the document kind
    footer_text: str  # left of the footer: usually the document number
    font: str
    revoked: bool = False


def _draw_page(page: _Page, canv: Canvas, doc: BaseDocTemplate) -> None:
    canv.saveState()
    # Header band.
    canv.setFillColor(_NAVY)
    canv.rect(0, _PAGE_H - _BAND_H, _PAGE_W, _BAND_H, stroke=0, fill=1)
    canv.setFillColor(_GOLD)
    canv.rect(0, _PAGE_H - _BAND_H - 1.2 * mm, _PAGE_W, 1.2 * mm, stroke=0, fill=1)
    canv.setFillColor(colors.white)
    canv.setStrokeColor(colors.white)
    canv.setLineWidth(0.35)
    canv.setFont(page.font, 16)
    canv.drawString(_MARGIN_X, _PAGE_H - 10.5 * mm, page.exchange_name, mode=2)
    canv.setFont(page.font, 9)
    canv.drawString(_MARGIN_X, _PAGE_H - 16.5 * mm, page.exchange_name_en)
    canv.setFont(page.font, 9)
    for i, line in enumerate(page.band_text.split("\n")):
        canv.drawRightString(_PAGE_W - _MARGIN_X, _PAGE_H - 10.5 * mm - i * 6 * mm, line)
    # Footer rule and left text; page numbers are added by _NumberedCanvas.
    canv.setStrokeColor(_RULE)
    canv.setLineWidth(0.5)
    canv.line(_MARGIN_X, 14 * mm, _PAGE_W - _MARGIN_X, 14 * mm)
    canv.setFillColor(_MUTED)
    canv.setFont(page.font, 7.5)
    canv.drawString(_MARGIN_X, 9.5 * mm, page.footer_text)
    canv.restoreState()


def _draw_revoked_stamp(page: _Page, canv: Canvas, doc: BaseDocTemplate) -> None:
    if not page.revoked:
        return
    canv.saveState()
    canv.translate(_PAGE_W / 2, _PAGE_H / 2 - 10 * mm)
    canv.rotate(28)
    w, h = 128 * mm, 46 * mm
    canv.setStrokeColor(_RED)
    canv.setFillColor(_RED)
    canv.setStrokeAlpha(0.75)
    canv.setFillAlpha(0.55)
    canv.setLineWidth(3)
    canv.roundRect(-w / 2, -h / 2, w, h, 4 * mm, stroke=1, fill=0)
    canv.setLineWidth(1)
    canv.roundRect(-w / 2 + 2.5 * mm, -h / 2 + 2.5 * mm, w - 5 * mm, h - 5 * mm, 3 * mm, stroke=1, fill=0)
    canv.setLineWidth(0.8)
    canv.setFont(page.font, 46)
    canv.drawCentredString(0, 1 * mm, "已撤销", mode=2)
    canv.setFont(page.font, 22)
    canv.drawCentredString(0, -14 * mm, "REVOKED", mode=2)
    canv.restoreState()


class _NumberedCanvas(Canvas):
    """Defers pages so each footer can say "page n of N"."""

    def __init__(self, *args: Any, footer_font: str = "Helvetica", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer_font = footer_font
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.saveState()
            self.setFillColor(_MUTED)
            self.setFont(self._footer_font, 7.5)
            self.drawRightString(_PAGE_W - _MARGIN_X, 9.5 * mm,
                                 f"第 {number} 页 / 共 {total} 页   Page {number} of {total}")
            self.restoreState()
            super().showPage()
        super().save()


def _build(story: list[Flowable], page: _Page, *, title: str, subject: str, keywords: str) -> bytes:
    buf = BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=_MARGIN_X,
        rightMargin=_MARGIN_X,
        topMargin=_TOP,
        bottomMargin=_BOTTOM,
        title=title,
        author=page.exchange_name_en,
        subject=subject,
        creator=f"{page.exchange_name_en} trading system",
        keywords=keywords,
        invariant=1,  # fixed creation date and document ID: same data, same bytes
        lang="zh-CN",
        initialFontName=page.font,  # else an unused Helvetica is listed
    )
    frame = Frame(_MARGIN_X, _BOTTOM, _CONTENT_W, _PAGE_H - _TOP - _BOTTOM, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(
        id="page",
        frames=[frame],
        onPage=functools.partial(_draw_page, page),
        onPageEnd=functools.partial(_draw_revoked_stamp, page),
    )])
    maker: Callable[..., Canvas] = functools.partial(_NumberedCanvas, footer_font=page.font)
    doc.build(story, canvasmaker=maker)
    return buf.getvalue()


def _warn_missing_glyphs(document: str, data: Any) -> None:
    texts: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, tuple):
            for item in value:
                collect(item)
        elif hasattr(value, "__dataclass_fields__"):
            for f in fields(value):
                collect(getattr(value, f.name))
        elif value is not None:
            texts.append(_fmt(value))

    collect(data)
    missing = missing_glyphs("".join(texts))
    if missing:
        # Rare characters (生僻字) in a name: the document is still issued, but an
        # operator should know that those characters print as boxes.
        log.warning("%s: the CJK font %s has no glyph for %r; they will print as boxes.",
                    document, _fonts().path, missing)


# =========================================================================== certificate
def render_certificate_pdf(
    data: CertificateData,
    *,
    base_url: str,
    revoked: bool = False,
    revocation_reason: str | None = None,
    revoked_on: Text | None = None,
    exchange_name: str = DEFAULT_EXCHANGE_NAME,
    exchange_name_en: str = DEFAULT_EXCHANGE_NAME_EN,
) -> bytes:
    """The transaction certificate (交易凭证) as PDF bytes.

    The QR code leads to ``{base_url}/verify/{short_code}``. A revoked certificate
    (``revoked=True``, with a ``revocation_reason``) shows a banner with the reason
    and an "已撤销 REVOKED" stamp across every page. ``ValidationError`` on missing
    fields, a malformed fingerprint or short code, or a short code that belongs to
    another fingerprint.
    """
    _require_text(data, ("certificate_number", "short_code", "fingerprint", "issue_date", "project_number",
                         "signing_date", "publicity_start", "publicity_end", "seller", "buyer", "subject_title",
                         "trading_method", "appraisal_result", "price", "payment_method", "review_conclusion"))
    _require_fingerprint(data.fingerprint, "fingerprint")
    code = normalise_short_code(data.short_code)
    # The code's first 25 bits are the fingerprint's (contracts.domain): a code from
    # another certificate would send the reader to the wrong verification page.
    code_bits = 0
    for ch in code[:5]:
        code_bits = code_bits * 32 + CROCKFORD_ALPHABET.index(ch)
    if code_bits != int(data.fingerprint[:7], 16) >> 3:
        raise ValidationError("The short code does not belong to this fingerprint.", code="short_code_mismatch",
                              field="short_code")
    url = verification_url(base_url, code)
    if revoked and not (revocation_reason or "").strip():
        raise ValidationError("A revoked certificate states why.", code="required", field="revocation_reason")
    _warn_missing_glyphs("certificate " + data.certificate_number, data)

    fonts = _fonts()
    st = _styles(fonts)
    story: list[Flowable] = [
        _Title("技术交易凭证", "Technology Transaction Certificate", fonts.regular),
        Spacer(1, 4 * mm),
        _meta_line([("凭证编号", "Certificate No.", data.certificate_number),
                    ("出具日期", "Issue date", _fmt(data.issue_date))], st),
        Spacer(1, 3 * mm),
    ]
    if revoked:
        when = f"（{_fmt(revoked_on)}）" if revoked_on is not None else ""
        banner = Table([[Paragraph(
            f"本凭证已撤销{escape(when)} This certificate has been revoked.<br/>"
            f'撤销原因 Reason: {escape(str(revocation_reason)).replace(chr(10), "<br/>")}', st.banner)]],
            colWidths=[_CONTENT_W])
        banner.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), fonts.regular),  # cells default to Helvetica
            ("BOX", (0, 0), (-1, -1), 1.2, _RED),
            ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#FDECEA")),
            ("LEFTPADDING", (0, 0), (-1, -1), 8),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ]))
        story += [banner, Spacer(1, 3 * mm)]

    def party(name: str, credit_code: str) -> str:
        return f"{name}\n统一社会信用代码 Credit code: {credit_code}" if credit_code.strip() else name

    subject = data.subject_title
    if data.subject_kind.strip():
        subject = f"【{data.subject_kind}】{subject}"
    if data.subject_numbers:
        subject += "\n" + "；".join(data.subject_numbers)
    publicity = f"{_fmt(data.publicity_start)} 至 {_fmt(data.publicity_end)}"
    broker = data.broker if data.broker and data.broker.strip() else "无 None"
    story.append(_field_table([
        ("项目编号", "Project No.", data.project_number),
        ("合同签订日期", "Contract signed", _fmt(data.signing_date)),
        ("挂牌公示期", "Publicity period", publicity),
        ("出让方", "Seller", party(data.seller, data.seller_code)),
        ("受让方", "Buyer", party(data.buyer, data.buyer_code)),
        ("技术经理人", "Broker", broker),
        ("交易标的", "Subject", subject),
        ("交易方式", "Trading method", data.trading_method),
        ("评估结果", "Appraisal result", data.appraisal_result),
        ("成交价格", "Price", _fmt(data.price)),
        ("支付方式", "Payment method", data.payment_method),
        ("审核结论", "Review conclusion", data.review_conclusion),
    ], st))

    if data.confirmations:
        confirmations = [Paragraph(f'<font color="#2E7D32">✓</font>&nbsp;&nbsp;{escape(line)}', st.body)
                         for line in data.confirmations]
        story += [KeepTogether([_heading("本所确认", "Confirmed by the Exchange", st), *confirmations])]

    qr_size = 30 * mm
    verify_text = [
        Paragraph(f'验证码 <font color="#5A6472">Verification code</font>&nbsp;&nbsp;'
                  f'<font name="{fonts.mono}" size="13">{code[:5]}-{code[5:]}</font>', st.body),
        Spacer(1, 1.5 * mm),
        _para(f"扫描二维码或访问以下网址核验本凭证 Scan the code or visit:\n{url}", st.small),
        Spacer(1, 2 * mm),
        *_fingerprint_block("凭证数据指纹", "SHA-256 fingerprint of the certificate data", data.fingerprint, st),
    ]
    verify = Table([[_QrCode(url, qr_size), verify_text]], colWidths=[qr_size + 6 * mm, None])
    verify.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), fonts.regular),  # cells default to Helvetica
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
        ("LEFTPADDING", (1, 0), (1, 0), 4),
        ("LINEABOVE", (0, 0), (-1, 0), 0.4, _RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 6),
    ]))
    story += [CondPageBreak(qr_size + 14 * mm), _heading("真伪核验", "Verification", st), verify]

    page = _Page(exchange_name=exchange_name, exchange_name_en=exchange_name_en,
                 band_text="交易凭证\nTransaction Certificate",
                 footer_text=f"{exchange_name} {exchange_name_en} · 凭证编号 Certificate No. {data.certificate_number}",
                 font=fonts.regular, revoked=revoked)
    return _build(story, page, title=f"技术交易凭证 {data.certificate_number}",
                  subject="Technology Transaction Certificate", keywords=f"{data.project_number} {code}")


# =========================================================================== registration proof
def render_registration_pdf(
    data: RegistrationProofData,
    *,
    exchange_name: str = DEFAULT_EXCHANGE_NAME,
    exchange_name_en: str = DEFAULT_EXCHANGE_NAME_EN,
) -> bytes:
    """The technology contract registration proof (技术合同认定登记证明) as PDF bytes."""
    _require_text(data, ("registration_number", "contract_name", "contract_type", "contract_subtype",
                         "technical_field", "ip_type", "signing_date", "term", "deal_amount", "technology_amount",
                         "registration_date", "fingerprint"))
    _require_fingerprint(data.fingerprint, "fingerprint")
    if not data.parties:
        raise ValidationError("The registration names its parties.", code="required", field="parties")
    _warn_missing_glyphs("registration " + data.registration_number, data)

    fonts = _fonts()
    st = _styles(fonts)
    story: list[Flowable] = [
        _Title("技术合同认定登记证明", "Technology Contract Registration Certificate", fonts.regular),
        Spacer(1, 4 * mm),
        _meta_line([("登记编号", "Registration No.", data.registration_number),
                    ("登记日期", "Registered on", _fmt(data.registration_date))], st),
        Spacer(1, 3 * mm),
    ]
    rows: list[tuple[str, str, _Cell]] = [
        ("合同名称", "Contract name", data.contract_name),
        ("合同类别", "Contract type", f"{data.contract_type} / {data.contract_subtype}"),
        ("技术领域", "Technical field", data.technical_field),
        ("知识产权类型", "IP type", data.ip_type),
        ("合同签订日期", "Signing date", _fmt(data.signing_date)),
        ("合同有效期", "Term", data.term),
        ("成交额", "Deal amount", _fmt(data.deal_amount)),
        ("技术交易额", "Technology transaction amount", _fmt(data.technology_amount)),
    ]
    if data.registry.strip():
        rows.append(("登记机构", "Registry", data.registry))
    story.append(_field_table(rows, st))

    story.append(_heading("合同当事人", "Parties", st))
    widths = [26 * mm, 50 * mm, 40 * mm, 18 * mm]
    widths.append(_CONTENT_W - sum(widths))
    story.append(_grid_table(
        ["角色 Role", "名称 Name", "统一社会信用代码 Credit code", "地区代码 Region", "主体类型 Entity type"],
        [[p.role, p.name, p.credit_code, p.region_code, p.entity_type] for p in data.parties],
        widths, st))

    if data.tax_relief:
        lines = [Paragraph(f"•&nbsp;&nbsp;{escape(line)}", st.body) for line in data.tax_relief]
        story.append(KeepTogether([_heading("税收优惠", "Tax relief eligibility", st), *lines]))
        story.append(_para("以上为依据登记信息作出的资格提示，以主管税务机关认定为准。 "
                           "Eligibility as the registration shows it; the tax office decides.", st.small))

    story += [KeepTogether([_heading("登记数据指纹", "Record fingerprint", st),
                            *_fingerprint_block("SHA-256", "of the registration record", data.fingerprint, st)])]
    page = _Page(exchange_name=exchange_name, exchange_name_en=exchange_name_en,
                 band_text="技术合同认定登记\nContract Registration",
                 footer_text=f"{exchange_name} {exchange_name_en} · 登记编号 Registration No. "
                             f"{data.registration_number}",
                 font=fonts.regular)
    return _build(story, page, title=f"技术合同认定登记证明 {data.registration_number}",
                  subject="Technology Contract Registration Certificate", keywords=data.registration_number)


# =========================================================================== contract
def render_contract_pdf(
    data: ContractDocData,
    *,
    exchange_name: str = DEFAULT_EXCHANGE_NAME,
    exchange_name_en: str = DEFAULT_EXCHANGE_NAME_EN,
) -> bytes:
    """A contract document as PDF bytes: parties, key terms, every clause (long
    text runs on over as many pages as it needs) and the signature blocks, each
    with the SHA-256 of the text that was signed and whether it is this text."""
    _require_text(data, ("title", "contract_number", "subject", "mode", "scope", "price", "payment_terms",
                         "text_sha256"))
    _require_fingerprint(data.text_sha256, "text_sha256")
    if not data.parties:
        raise ValidationError("A contract names its parties.", code="required", field="parties")
    for i, sig in enumerate(data.signatures):
        _require_text(sig, ("party", "signer", "signed_at", "text_sha256"))
        _require_fingerprint(sig.text_sha256, f"signatures[{i}].text_sha256")
    _warn_missing_glyphs("contract " + data.contract_number, data)

    fonts = _fonts()
    st = _styles(fonts)
    title_style = ParagraphStyle("title", parent=st.body, fontSize=18, leading=24, alignment=TA_CENTER,
                                 textColor=_NAVY)
    story: list[Flowable] = [
        _para(data.title, title_style),
        Spacer(1, 3 * mm),
        _meta_line([("合同编号", "Contract No.", data.contract_number)], st),
        Spacer(1, 2 * mm),
    ]
    party_rows: list[tuple[str, str, _Cell]] = []
    for p in data.parties:
        details = [p.name]
        if p.credit_code.strip():
            details.append(f"统一社会信用代码 Credit code: {p.credit_code}")
        extra = "  ".join(x for x in (f"地区 Region: {p.region_code}" if p.region_code.strip() else "",
                                      f"类型 Type: {p.entity_type}" if p.entity_type.strip() else "") if x)
        if extra:
            details.append(extra)
        cn, _, en = p.role.partition(" ")
        party_rows.append((cn, en, "\n".join(details)))
    story += [_heading("合同当事人", "Parties", st), _field_table(party_rows, st)]
    story += [_heading("主要条款", "Key terms", st), _field_table([
        ("合同标的", "Subject", data.subject),
        ("交易方式", "Mode", data.mode),
        ("范围", "Scope", data.scope),
        ("价款", "Price", _fmt(data.price)),
        ("支付方式", "Payment terms", data.payment_terms),
    ], st)]

    if data.clauses:
        story.append(_heading("合同条款", "Clauses", st))
        for n, clause in enumerate(data.clauses, start=1):
            head = f'<font color="#16325C">第{_cn_ordinal(n)}条 Article {n}</font>&nbsp;&nbsp;'
            story.append(Paragraph(head + escape(clause).replace("\n", "<br/>"), st.clause))

    story.append(CondPageBreak(60 * mm))
    story.append(_heading("签署", "Signatures", st))
    story += _fingerprint_block("本合同文本指纹", "SHA-256 of this contract text", data.text_sha256, st)
    story.append(Spacer(1, 3 * mm))
    if data.signatures:
        for sig in data.signatures:
            matches = sig.text_sha256 == data.text_sha256
            verdict = ('<font color="#2E7D32">✓ 与本文本一致 matches this text</font>' if matches else
                       '<font color="#C62828">✗ 与本文本不一致 differs from this text</font>')
            block = _field_table([
                ("签署方", "Party", sig.party),
                ("签署人", "Signed by", sig.signer),
                ("签署时间", "Signed at", _fmt(sig.signed_at)),
                ("所签文本", "Signed text", [_para(_grouped_hex(sig.text_sha256), st.mono),
                                              Paragraph(verdict, st.small)]),
            ], st)
            story += [KeepTogether([block]), Spacer(1, 3 * mm)]
    else:
        story.append(_para("尚无签署 Not signed yet.", st.small))

    page = _Page(exchange_name=exchange_name, exchange_name_en=exchange_name_en,
                 band_text="技术合同\nTechnology Contract",
                 footer_text=f"{exchange_name} {exchange_name_en} · 合同编号 Contract No. {data.contract_number}",
                 font=fonts.regular)
    return _build(story, page, title=data.title, subject="Technology Contract",
                  keywords=data.contract_number)
