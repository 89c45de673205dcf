#!/usr/bin/env python
"""Certificates: PDFs per second from ``contracts.pdf.render_certificate_pdf``, next to a bare
ReportLab page drawing the same text with the same TrueType font, measured in the same run.

How to run (from the repository root; no database needed)::

    .venv/bin/python bench/certificates.py              # 200 PDFs per loop, 3 rounds
    .venv/bin/python bench/certificates.py --n 500 --rounds 5

What it does:

1. **Data.** N different certificates (``CertificateData``) with Chinese parties, subjects,
   prices and dates. Each one's fingerprint is ``contracts.domain.certificate_fingerprint``
   of its fields (the dict the service fingerprints) and its short code
   ``certificate_short_code(fingerprint, serial)``, so ``render_certificate_pdf`` accepts it.
2. **Certificate.** ``render_certificate_pdf(data, base_url=...)``: the real document (header
   band, title, field table, confirmations, QR code, fingerprint, footer with page numbers),
   fonts found by ``find_cjk_font`` (the vendored WenQuanYi Micro Hei ``.ttc``, regular and
   mono faces), subset-embedded.
3. **Bare page.** A ReportLab ``Canvas`` (A4, ``invariant=1``) that draws the same strings
   the certificate prints (labels, values, confirmations, verification code, URL,
   fingerprint, header and footer text) with ``drawString``, one line each, in the same
   two faces of the same font file, registered once; no table, no paragraph layout, no QR.
4. Each approach runs in its **own child process** (so peak RSS is its own): the time of the
   first render (cold: fonts parsed, modules warmed), then one warm-up render and a warm
   loop of N renders. Reported: PDFs/s (wall clock), CPU ms per PDF (process time, less
   disturbed by other load on the machine), p50/p95 ms per PDF, mean bytes per PDF, pages,
   peak RSS (``resource.getrusage``, ``ru_maxrss``) and the RSS before the first render.
   The children alternate over ``--rounds`` rounds; medians across rounds are reported.
5. **Checks.** Every PDF starts with ``%PDF-``; the same certificate renders to the same
   bytes twice; the certificate number, the short code and a Chinese name can be
   extracted from a certificate's text (pypdf, if installed).

It reports; it never asserts a target. It exits 1 only if a check fails or a child fails.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BASE_URL = "https://www.example-exchange.cn"
SELLERS = ["上海启明大学", "华东星澜研究院", "苏州博远智能科技有限公司", "杭州清源新材料股份有限公司",
           "合肥远航生物医药有限公司", "南京华芯集成电路设计有限公司"]
BUYERS = ["上海蓝湾精密机械有限公司", "深圳恒知电子科技有限公司", "武汉拓新能源科技有限公司",
          "北京智擎机器人有限公司", "成都青禾农业科技有限公司"]
SUBJECTS = ["一种工业机器人关节减速器", "一种锂电池极片缺陷检测方法", "一种医用高分子材料的制备方法",
            "基于深度学习的芯片封装缺陷检测系统", "一种光伏组件热斑在线监测装置", "一种基因检测试剂盒及其使用方法",
            "一种高导热石墨烯复合材料及其制备方法", "一种氢燃料电池双极板表面处理工艺"]
KINDS = ["发明专利 Invention patent", "实用新型 Utility model", "软件著作权 Software copyright"]
METHODS = ["网络竞价 Online auction · 转让 Assignment", "协议转让 Negotiated transfer · 独占许可 Exclusive licence",
           "网络竞价 Online auction · 普通许可 Ordinary licence"]
REVIEW = "经审核，交易主体资格合法，交易程序符合本所交易规则。 Parties qualified; rules followed."


def log(msg: str = "") -> None:
    print(msg, flush=True)


# =========================================================================== data
def certificate_inputs(n: int) -> list[Any]:
    """N valid, different certificates, fingerprinted the way the service does it."""
    from contracts.domain import certificate_fingerprint, certificate_short_code
    from contracts.pdf import CertificateData
    from exchange.money import Money
    from exchange.parties import complete_credit_code

    out = []
    for k in range(1, n + 1):
        issued = date(2026, 3, 2) + timedelta(days=k % 60)
        price_fen = (50 + (k * 37) % 950) * 1_000_000
        seller, buyer = SELLERS[k % len(SELLERS)], BUYERS[(k * 7) % len(BUYERS)]
        fields: dict[str, Any] = {
            "certificate_number": f"T2026-{k:06d}",
            "issue_date": issued.isoformat(),
            "project_number": f"L2026-{(k * 13) % 100000:06d}",
            "deal_ref": f"D2026-{k:06d}",
            "contract_ref": f"C2026-{k:06d}",
            "signing_date": (issued - timedelta(days=7)).isoformat(),
            "publicity_start": (issued - timedelta(days=60)).isoformat(),
            "publicity_end": (issued - timedelta(days=32)).isoformat(),
            "seller": seller,
            "seller_code": complete_credit_code(f"12310000MB{k:07d}"[:17]),
            "buyer": buyer,
            "buyer_code": complete_credit_code(f"91310115MA{k:07d}"[:17]),
            "broker": "张三（技术经理人证书 TM-2025-0178）" if k % 3 == 0 else None,
            "subject_title": SUBJECTS[k % len(SUBJECTS)],
            "subject_kind": KINDS[k % len(KINDS)],
            "subject_numbers": [f"ZL2023101{k:05d}.{k % 10}"],
            "trading_method": METHODS[k % len(METHODS)],
            "appraisal_result": f"评估值 Appraised value {Money(price_fen - 5_000_000).format()}"
                                f"（上海某某资产评估有限公司，沪某评报字〔2026〕第{k:03d}号，2026-01-05）",
            "price": Money(price_fen).format(),
            "price_fen": price_fen,
            "currency": "CNY",
            "payment_method": "一次性支付 Lump sum through the Exchange's settlement account",
            "review_conclusion": REVIEW,
        }
        fingerprint = certificate_fingerprint(fields)
        printed = {f: fields[f] for f in CertificateData.__dataclass_fields__ if f in fields}
        printed["subject_numbers"] = tuple(printed["subject_numbers"])
        out.append(CertificateData(short_code=certificate_short_code(fingerprint, k), fingerprint=fingerprint,
                                   **printed))
    return out


def printed_lines(data: Any) -> list[tuple[str, bool]]:
    """The strings the certificate prints, one per line, and whether it is in the mono face."""
    from contracts.pdf import DEFAULT_EXCHANGE_NAME as cn_name, DEFAULT_EXCHANGE_NAME_EN as en_name
    from contracts.pdf import verification_url

    code = data.short_code
    fp = data.fingerprint
    lines: list[tuple[str, bool]] = [
        (cn_name, False), (en_name, False), ("交易凭证", False), ("Transaction Certificate", False),
        ("技术交易凭证", False), ("Technology Transaction Certificate", False),
        (f"凭证编号 Certificate No.  {data.certificate_number}", False), (f"出具日期 Issue date  {data.issue_date}", False),
    ]
    rows = [
        ("项目编号 Project No.", data.project_number), ("合同签订日期 Contract signed", data.signing_date),
        ("挂牌公示期 Publicity period", f"{data.publicity_start} 至 {data.publicity_end}"),
        ("出让方 Seller", data.seller), ("", f"统一社会信用代码 Credit code: {data.seller_code}"),
        ("受让方 Buyer", data.buyer), ("", f"统一社会信用代码 Credit code: {data.buyer_code}"),
        ("技术经理人 Broker", data.broker or "无 None"),
        ("交易标的 Subject", f"【{data.subject_kind}】{data.subject_title}"), ("", "；".join(data.subject_numbers)),
        ("交易方式 Trading method", data.trading_method), ("评估结果 Appraisal result", data.appraisal_result),
        ("成交价格 Price", str(data.price)), ("支付方式 Payment method", data.payment_method),
        ("审核结论 Review conclusion", data.review_conclusion),
    ]
    for label, value in rows:
        text = f"{label}  {value}" if label else f"    {value}"
        # No layout engine: cut long lines at a fixed number of characters.
        while len(text) > 56:
            lines.append((text[:56], False))
            text = "    " + text[56:]
        lines.append((text, False))
    lines.append(("本所确认 Confirmed by the Exchange", False))
    lines += [(f"✓  {c}", False) for c in data.confirmations]
    lines += [("真伪核验 Verification", False), (f"验证码 Verification code  {code[:5]}-{code[5:]}", False),
              ("扫描二维码或访问以下网址核验本凭证 Scan the code or visit:", False),
              (verification_url(BASE_URL, code), False),
              ("凭证数据指纹 SHA-256 fingerprint of the certificate data", False),
              (" ".join(fp[i:i + 8] for i in range(0, 32, 8)), True),
              (" ".join(fp[i:i + 8] for i in range(32, 64, 8)), True),
              (f"{cn_name} {en_name} · 凭证编号 Certificate No. {data.certificate_number}", False),
              ("第 1 页 / 共 1 页   Page 1 of 1", False)]
    return lines


# =========================================================================== the two renderers
class BarePage:
    """The same text on a ReportLab canvas, the same font file's faces registered once."""

    def __init__(self) -> None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        from contracts.pdf import find_cjk_font

        path = str(find_cjk_font())
        pdfmetrics.registerFont(TTFont("BareCJK", path, subfontIndex=0))
        self.mono = "Courier"
        if path.lower().endswith(".ttc"):
            try:
                pdfmetrics.registerFont(TTFont("BareCJKMono", path, subfontIndex=1))
                self.mono = "BareCJKMono"
            except Exception:  # noqa: BLE001 - a collection without a second face: Courier, as the certificate
                pass

    def render(self, data: Any) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.pdfgen.canvas import Canvas

        buf = BytesIO()
        c = Canvas(buf, pagesize=A4, invariant=1, initialFontName="BareCJK")
        y = A4[1] - 15 * mm
        for text, mono in printed_lines(data):
            c.setFont(self.mono if mono else "BareCJK", 9)
            c.drawString(18 * mm, y, text)
            y -= 5.2 * mm
        c.showPage()
        c.save()
        return buf.getvalue()


def make_renderer(kind: str):  # type: ignore[no-untyped-def]
    if kind == "bare":
        return BarePage().render
    from contracts.pdf import render_certificate_pdf

    return lambda data: render_certificate_pdf(data, base_url=BASE_URL)


# =========================================================================== child: one approach
def rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, n: int) -> dict[str, Any]:
    import contracts.pdf  # noqa: F401 - imports are not what is measured
    import reportlab.pdfgen.canvas  # noqa: F401

    inputs = certificate_inputs(n + 1)
    rss_before = rss_mib()
    t0 = time.perf_counter()
    render = make_renderer(kind)   # the bare page registers its fonts here, once
    first = render(inputs[0])       # the certificate parses its fonts on first use
    cold = time.perf_counter() - t0
    render(inputs[0])               # warm-up
    times, sizes, pages = [], [], []
    c0, w0 = time.process_time(), time.perf_counter()
    for data in inputs[1:]:
        t = time.perf_counter()
        pdf = render(data)
        times.append(time.perf_counter() - t)
        sizes.append(len(pdf))
        pages.append(len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    again = render(inputs[1])
    ok = all(p.startswith(b"%PDF-") for p in (first, again)) and len(set(sizes)) >= 1
    deterministic = hashlib.sha256(again).hexdigest() == hashlib.sha256(render(inputs[1])).hexdigest()
    times.sort()
    return {"kind": kind, "n": n, "cold_s": cold, "wall_s": wall, "cpu_s": cpu,
            "p50_ms": statistics.median(times) * 1000, "p95_ms": times[max(0, -(-95 * len(times) // 100) - 1)] * 1000,
            "mean_bytes": statistics.mean(sizes), "pages": sorted(set(pages)), "rss_before_mib": rss_before,
            "peak_rss_mib": rss_mib(), "ok": ok, "deterministic": deterministic,
            "sample_sha256": hashlib.sha256(again).hexdigest()}


# =========================================================================== parent
def run_child(kind: str, n: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--n", str(n)], capture_output=True, text=True,
                         cwd=REPO, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def text_check() -> list[str]:
    """The certificate's text can be extracted: its number, short code and a Chinese name."""
    try:
        import pypdf
    except ImportError:
        return []
    from contracts.pdf import render_certificate_pdf

    data = certificate_inputs(1)[0]
    text = pypdf.PdfReader(BytesIO(render_certificate_pdf(data, base_url=BASE_URL))).pages[0].extract_text()
    text = re.sub(r"\s+", "", text)
    missing = [s for s in (data.certificate_number, f"{data.short_code[:5]}-{data.short_code[5:]}", data.seller)
               if s.replace(" ", "") not in text]
    return [f"certificate text lacks {m!r}" for m in missing]


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) \
            + " |"

    sep = "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(headers), sep, *(fmt(r) for r in rows)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="PDFs per warm loop (default %(default)s)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of (certificate, bare) children (default %(default)s)")
    ap.add_argument("--child", choices=("certificate", "bare"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.n < 2 or args.rounds < 1:
        ap.error("--n is at least 2 and --rounds at least 1")
    if args.child:
        print(json.dumps(child(args.child, args.n)))
        return 0

    import reportlab

    from contracts.pdf import find_cjk_font

    font = find_cjk_font()
    log(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, ReportLab {reportlab.Version}, "
        f"load {os.getloadavg()[0]:.2f}")
    log(f"font: {font} ({font.stat().st_size / 2**20:.1f} MiB); {args.n} PDFs per warm loop, {args.rounds} rounds, "
        "each approach in its own process")
    runs: dict[str, list[dict[str, Any]]] = {"certificate": [], "bare": []}
    for r in range(args.rounds):
        order = ("certificate", "bare") if r % 2 == 0 else ("bare", "certificate")
        for kind in order:
            res = run_child(kind, args.n)
            runs[kind].append(res)
            log(f"round {r + 1} {kind:<11}: {args.n / res['wall_s']:7.1f} PDFs/s, cold first PDF "
                f"{res['cold_s'] * 1000:6.0f} ms, peak RSS {res['peak_rss_mib']:.0f} MiB "
                f"(load {os.getloadavg()[0]:.2f})")

    def med(kind: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[kind])

    rows = []
    figures: dict[str, dict[str, float]] = {}
    for kind, label in (("certificate", "render_certificate_pdf"), ("bare", "bare canvas, same text and font")):
        f = {"pdfs_s": statistics.median(args.n / x["wall_s"] for x in runs[kind]),
             "cpu_ms": statistics.median(x["cpu_s"] / args.n * 1000 for x in runs[kind]),
             "p50": med(kind, "p50_ms"), "p95": med(kind, "p95_ms"), "bytes": med(kind, "mean_bytes"),
             "cold": med(kind, "cold_s") * 1000, "rss0": med(kind, "rss_before_mib"), "rss": med(kind, "peak_rss_mib")}
        figures[kind] = f
        pages = sorted({p for x in runs[kind] for p in x["pages"]})
        rows.append([label, f"{f['pdfs_s']:.1f}", f"{f['cpu_ms']:.1f}", f"{f['p50']:.1f}", f"{f['p95']:.1f}",
                     f"{f['bytes'] / 1024:.1f}", "/".join(map(str, pages)), f"{f['cold']:.0f}",
                     f"{f['rss0']:.0f}", f"{f['rss']:.0f}"])
    c, b = figures["certificate"], figures["bare"]
    spread = {k: (min(args.n / x["wall_s"] for x in runs[k]), max(args.n / x["wall_s"] for x in runs[k])) for k in runs}
    log("\n" + "=" * 100)
    log(f"CERTIFICATES: warm loop of {args.n} PDFs after one warm-up render; medians of {args.rounds} rounds")
    log(table(["renderer", "PDFs/s", "CPU ms/PDF", "p50 ms", "p95 ms", "KiB/PDF", "pages", "cold 1st ms",
               "RSS before MiB", "peak RSS MiB"], rows))
    log(f"\ncertificate / bare: throughput {c['pdfs_s'] / b['pdfs_s']:.2f} (wall), "
        f"{b['cpu_ms'] / c['cpu_ms']:.2f} (CPU); the certificate costs {c['cpu_ms'] / b['cpu_ms']:.1f}x the CPU "
        f"of the bare page, {c['bytes'] / b['bytes']:.2f}x the bytes, {c['rss'] - b['rss']:+.0f} MiB peak RSS")
    log(f"PDFs/s range over rounds: certificate {spread['certificate'][0]:.1f}-{spread['certificate'][1]:.1f}, "
        f"bare {spread['bare'][0]:.1f}-{spread['bare'][1]:.1f}")
    log(f"one core: {3600 * 1000 / c['cpu_ms']:,.0f} certificates per hour of CPU")

    problems = []
    for kind, xs in runs.items():
        if not all(x["ok"] for x in xs):
            problems.append(f"{kind}: a PDF does not start with %PDF-")
        if not all(x["deterministic"] for x in xs):
            problems.append(f"{kind}: the same data gave different bytes")
        if len({x["sample_sha256"] for x in xs}) != 1:
            problems.append(f"{kind}: the same data gave different bytes in different processes")
    problems += text_check()
    if problems:
        log("\nPROBLEMS:")
        for p in problems:
            log(f"  {p}")
        return 1
    log("checks: every PDF starts with %PDF-; same data, same bytes (within and across processes); "
        "the certificate's number, code and seller are extractable text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
