"""Every fixed refusal a service can raise has a Chinese text, so Chinese pages never show it in English.

A refusal's English message is its msgid (``exchange.http.refusal_text`` translates it on pages).
This reads the code rather than a list, so a new refusal without a translation fails here.
Messages built with an f-string carry figures and cannot be msgids; pages say those per code.
"""
from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("exchange", "listings", "auctions", "settlement", "contracts")
ERRORS = {"DomainError", "ValidationError", "StateError", "RuleViolationError", "NotFoundError",
          "PermissionDeniedError", "ConflictError", "AuthenticationError", "TooManyRequestsError"}


def _catalogue() -> dict[str, str]:
    found: dict[str, str] = {}
    for pkg in PACKAGES:
        with open(ROOT / pkg / "translations" / "zh" / "LC_MESSAGES" / "messages.po", "rb") as f:
            for m in read_po(f):
                if m.id and m.string and isinstance(m.id, str):
                    found[m.id] = m.string
    return found


def _fixed_refusals() -> list[tuple[str, int, str]]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                first = node.args[0]
                if name in ERRORS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                    out.append((str(path.relative_to(ROOT)), node.lineno, first.value))
    return out


def test_every_fixed_refusal_has_a_chinese_text() -> None:
    refusals = _fixed_refusals()
    assert len(refusals) > 200  # the scan finds the services' refusals
    catalogue = _catalogue()
    missing = [f"{path}:{line}: {msg}" for path, line, msg in refusals if msg not in catalogue]
    assert not missing, "add these msgids to the package's messages.po:\n" + "\n".join(missing)
    untranslated = [msg for _, _, msg in refusals if not any("\u4e00" <= ch <= "\u9fff" for ch in catalogue[msg])]
    assert not untranslated, untranslated


def test_a_refusal_with_figures_keeps_its_template_and_english_text() -> None:
    from exchange.errors import ValidationError

    err = ValidationError("Files are limited to %(mb)d MB.", params={"mb": 10}, code="file_too_large")
    assert err.message == str(err) == "Files are limited to 10 MB."  # what the API says
    assert (err.template, err.params) == ("Files are limited to %(mb)d MB.", {"mb": 10})  # what pages translate
    plain = ValidationError("A 100% fixed message.", code="x")
    assert plain.template is None and plain.message == "A 100% fixed message."
