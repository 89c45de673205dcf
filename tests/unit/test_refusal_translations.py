"""Every refusal a service can raise has a Chinese text, so Chinese pages never show it in English.

A refusal's English message is its msgid (``exchange.http.refusal_text`` translates it on pages);
one with figures is a template (``%(name)s``) and its ``params``, and the template is the msgid.
A message built with an f-string has no msgid at all: pages can only say it per code
(``COMMON_CODE_MESSAGES``, the package's ``CODE_MESSAGES``, or the generic text for ``*_not_found``).
This reads the code and the catalogues rather than a list, so a new refusal without a Chinese text
fails here. It parses, never imports: it stays fast and needs no application.
"""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("exchange", "listings", "auctions", "settlement", "contracts")
ERRORS = {"DomainError", "ValidationError", "StateError", "RuleViolationError", "NotFoundError",
          "PermissionDeniedError", "ConflictError", "AuthenticationError", "TooManyRequestsError",
          "CurrencyMismatchError"}
# A Python-format placeholder: its name and its conversion (``%(n)d`` -> ("n", "d")); "%%" is no placeholder.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*(?:\d+)?(?:\.\d+)?([diouxXeEfFgGcrsa])")


@functools.cache  # read once for all the tests here: callers do not change it
def _entries() -> dict[str, list[tuple[str, str, bool]]]:
    """msgid -> (package, msgstr, marked python-format in the file) for every package that translates it."""
    found: dict[str, list[tuple[str, str, bool]]] = {}
    for pkg in PACKAGES:
        po = ROOT / pkg / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
        lines = po.read_text(encoding="utf-8").splitlines()
        with open(po, "rb") as f:
            for m in read_po(f):
                if not (m.id and m.string and isinstance(m.id, str)):
                    continue
                # Babel adds the flag itself to any msgid with a placeholder: read the comment lines above it.
                at, marked = m.lineno - 2, False
                while at >= 0 and lines[at].startswith("#"):
                    marked = marked or (lines[at].startswith("#,") and "python-format" in lines[at])
                    at -= 1
                found.setdefault(m.id, []).append((pkg, m.string, marked))
    return found


def _catalogue() -> dict[str, str]:
    return {msgid: found[-1][1] for msgid, found in _entries().items()}


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(PLACEHOLDER.findall(text))


@functools.cache  # parsed once for all the tests here
def _trees(pkg: str) -> tuple[tuple[str, ast.Module], ...]:
    return tuple((str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8")))
                 for path in sorted((ROOT / pkg).rglob("*.py")))


@functools.cache
def _refusal_calls() -> tuple[tuple[str, str, ast.Call], ...]:
    """(package, path, call) for every construction of a DomainError-family refusal with a message."""
    return tuple((pkg, path, node) for pkg in PACKAGES for path, tree in _trees(pkg) for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and node.args
                 and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in ERRORS)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _fixed_refusals() -> list[tuple[str, int, str]]:
    out = []
    for _pkg, path, node in _refusal_calls():
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            out.append((path, node.lineno, first.value))
    return out


def _default_codes() -> dict[str, str]:
    """Each error class's default ``code``, inherited as in exchange/errors.py."""
    own: dict[str, str | None] = {}
    bases: dict[str, str | None] = {}
    for node in ast.parse((ROOT / "exchange" / "errors.py").read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases[node.name] = getattr(node.bases[0], "id", None) if node.bases else None
        own[node.name] = None
        for stmt in node.body:
            target = stmt.target if isinstance(stmt, ast.AnnAssign) else (
                stmt.targets[0] if isinstance(stmt, ast.Assign) else None)
            if getattr(target, "id", None) == "code" and isinstance(stmt.value, ast.Constant):
                own[node.name] = stmt.value.value
    codes = {}
    for name in own:
        cls: str | None = name
        while cls is not None and own.get(cls) is None:
            cls = bases.get(cls)
        if cls is not None:
            codes[name] = str(own[cls])
    return codes


def _dict_texts(pkg: str, variable: str) -> dict[str, str | None]:
    """Keys of the module-level dicts called ``variable`` in a package, with their text where it is a literal."""
    found: dict[str, str | None] = {}
    for _path, tree in _trees(pkg):
        for node in tree.body:
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if isinstance(node, ast.Assign) else None)
            if getattr(target, "id", None) != variable or not isinstance(node.value, ast.Dict):
                continue
            for key, value in zip(node.value.keys, node.value.values):
                text = None
                if isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Constant):
                    text = value.args[0].value  # _l("...")
                if isinstance(key, ast.Constant):
                    found[key.value] = text
    return found


def test_every_fixed_refusal_has_a_chinese_text() -> None:
    refusals = _fixed_refusals()
    assert len(refusals) > 200  # the scan finds the services' refusals
    catalogue = _catalogue()
    missing = [f"{path}:{line}: {msg}" for path, line, msg in refusals if msg not in catalogue]
    assert not missing, "add these msgids to the package's messages.po:\n" + "\n".join(missing)
    untranslated = [msg for _, _, msg in refusals if not _chinese(catalogue[msg])]
    assert not untranslated, untranslated


def test_every_f_string_refusal_is_said_per_code_on_chinese_pages() -> None:
    """An f-string message is no msgid: its code must have a page text, else Chinese pages show English.

    The cure is usually a template with params (``"At most %(n)d items.", params={"n": MAX}``); a message
    that would put English words (states, kinds) into a Chinese sentence gets a per-code text instead.
    """
    defaults = _default_codes()
    common = set(_dict_texts("exchange", "COMMON_CODE_MESSAGES"))
    assert {"required", "too_long", "invalid_amount"} <= common  # the scan reads the common texts
    per_package = {pkg: set(_dict_texts(pkg, "CODE_MESSAGES")) for pkg in PACKAGES}
    scanned, uncovered = 0, []
    for pkg, path, node in _refusal_calls():
        if not isinstance(node.args[0], ast.JoinedStr):
            continue
        scanned += 1
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        code_node = _keyword(node, "code")
        if code_node is None:
            code = defaults.get(str(name))
        elif isinstance(code_node, ast.Constant) and isinstance(code_node.value, str):
            code = code_node.value
        else:
            code = None  # a computed code cannot be checked: give the refusal a literal one
        if code is None or not (code in common or code in per_package[pkg] or code.endswith("_not_found")):
            uncovered.append(f"{path}:{node.lineno}: {code}: {ast.unparse(node.args[0])}")
    assert scanned > 50  # the scan finds the f-string refusals that remain (figures said per code)
    assert not uncovered, ("make these templates with params, or give their code a text in "
                           "COMMON_CODE_MESSAGES or the package's CODE_MESSAGES:\n" + "\n".join(uncovered))


def test_every_per_code_text_has_a_chinese_text() -> None:
    entries = _entries()
    texts = dict(_dict_texts("exchange", "COMMON_CODE_MESSAGES"))
    for pkg in PACKAGES:
        texts.update({f"{pkg}:{code}": text for code, text in _dict_texts(pkg, "CODE_MESSAGES").items()})
    assert len(texts) > 40
    bad = [f"{code}: {text!r}" for code, text in texts.items()
           if text is None or not any(_chinese(s) for _, s, _ in entries.get(text, []))]
    assert not bad, "per-code texts need a literal _l(...) msgid with a Chinese msgstr:\n" + "\n".join(bad)


def test_every_template_has_a_chinese_text_with_the_same_placeholders() -> None:
    entries = _entries()
    templates, problems = 0, []
    for _pkg, path, node in _refusal_calls():
        first, params = node.args[0], _keyword(node, "params")
        if params is None or not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        templates += 1
        template, where = first.value, f"{path}:{node.lineno}"
        wanted = _placeholders(template)
        if not wanted:
            problems.append(f"{where}: the template has no %(name)s placeholder: {template!r}")
        if isinstance(params, ast.Dict):
            given = {k.value for k in params.keys if isinstance(k, ast.Constant)}
            missing = sorted({name for name, _ in wanted} - given)
            if missing:
                problems.append(f"{where}: params lack {missing} for {template!r}")
        found = entries.get(template)
        if not found:
            problems.append(f"{where}: no msgstr for {template!r}")
        for pkg, msgstr, marked in found or []:
            if not _chinese(msgstr):
                problems.append(f"{pkg}: the msgstr of {template!r} is not Chinese")
            if _placeholders(msgstr) != wanted:
                problems.append(f"{pkg}: placeholders differ: {template!r} -> {msgstr!r}")
            if not marked:
                problems.append(f"{pkg}: mark {template!r} '#, python-format'")
    assert templates > 60  # the scan finds the templates
    assert not problems, "\n".join(problems)


def test_a_refusal_with_figures_keeps_its_template_and_english_text() -> None:
    from exchange.errors import ValidationError

    err = ValidationError("Files are limited to %(mb)d MB.", params={"mb": 10}, code="file_too_large")
    assert err.message == str(err) == "Files are limited to 10 MB."  # what the API says
    assert (err.template, err.params) == ("Files are limited to %(mb)d MB.", {"mb": 10})  # what pages translate
    plain = ValidationError("A 100% fixed message.", code="x")
    assert plain.template is None and plain.message == "A 100% fixed message."


def test_a_state_or_kind_in_a_refusal_is_shown_by_its_label() -> None:
    """Services pass enum members as figures: the API says their value, pages their label in the
    reader's language (listings registers its labels with exchange.http)."""
    from exchange.app import create_app
    from exchange.errors import StateError, ValidationError
    from exchange.http import refusal_text
    from listings.domain import AssetKind, ListingState
    from listings.domain.identifiers import check_patent_type

    app = create_app("testing", overrides={"DATABASE_URL": "sqlite://"})
    try:
        check_patent_type(AssetKind.INVENTION_PATENT, 2)
    except ValidationError as exc:
        mismatch = exc
    locked = StateError("Terms cannot change while the listing is %(state)s.", params={"state": ListingState.IN_AUCTION},
                        code="terms_locked")
    assert "(invention_patent)" in mismatch.message and locked.message.endswith("is in_auction.")
    with app.test_request_context("/?lang=zh"):
        assert "（发明专利）" in refusal_text(mismatch) and "invention" not in refusal_text(mismatch)
        assert "in_auction" not in refusal_text(locked) and "竞价" in refusal_text(locked)
    with app.test_request_context("/?lang=en"):
        assert "(Invention patent)" in refusal_text(mismatch) and "is In auction." in refusal_text(locked)
    app.extensions["exchange.db"].engine.dispose()
