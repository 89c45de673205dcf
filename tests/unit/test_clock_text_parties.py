"""Clock and business time, free-text checks, party identity codes, canonical JSON. No database."""
from __future__ import annotations

import dataclasses
import enum
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.clock import (
    BUSINESS_TZ,
    UTC,
    FakeClock,
    ScaledClock,
    SystemClock,
    end_of_local_day_utc,
    ensure_utc,
    format_deadline,
    format_local,
    local_date,
    local_midnight_utc,
    to_local,
)
from exchange.errors import ValidationError
from exchange.jsonable import canonical_json, jsonable
from exchange.logs import redact
from exchange.money import Money
from exchange.parties import (
    complete_credit_code,
    complete_id_number,
    mask_id_number,
    region_of_credit_code,
    region_of_id_number,
    validate_credit_code,
    validate_id_number,
)
from exchange.text import clean_text

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


# --- clocks --------------------------------------------------------------------

def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_fake_clock_set_and_advance() -> None:
    c = FakeClock(T0)
    assert c.now() == T0 and c.now().tzinfo == UTC
    assert c.advance(timedelta(hours=2)) == T0 + timedelta(hours=2)
    assert c.advance(minutes=30) == T0 + timedelta(hours=2, minutes=30)
    assert c.now() == T0 + timedelta(hours=2, minutes=30)
    c.set(datetime(2026, 3, 2, 9, 0, tzinfo=BUSINESS_TZ))  # 09:00 Shanghai = 01:00 UTC
    assert c.now() == T0 and c.now().tzinfo == UTC
    assert FakeClock().now().tzinfo == UTC  # a default start that is aware too


def test_fake_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        FakeClock(datetime(2026, 3, 2, 1, 0))
    c = FakeClock(T0)
    with pytest.raises(ValueError):
        c.set(datetime(2026, 3, 2, 1, 0))
    assert c.now() == T0


def test_fake_clock_is_thread_safe() -> None:
    c = FakeClock(T0)

    def work() -> None:
        for _ in range(500):
            c.advance(microseconds=1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.now() == T0 + timedelta(microseconds=8 * 500)


def test_scaled_clock_runs_faster_from_its_origin() -> None:
    base = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    origin = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    scaled = ScaledClock(origin, factor=60, base=base)
    assert scaled.now() == origin
    base.advance(seconds=1)
    assert scaled.now() == origin + timedelta(minutes=1)
    base.advance(minutes=1)
    assert scaled.now() == origin + timedelta(hours=1, minutes=1)
    assert scaled.now().tzinfo is not None


def test_scaled_clock_origin_must_be_aware() -> None:
    with pytest.raises(ValueError):
        ScaledClock(datetime(2026, 3, 2), factor=10, base=FakeClock(T0))


def test_ensure_utc() -> None:
    with pytest.raises(ValueError):
        ensure_utc(datetime(2026, 1, 1, 12, 0))
    shanghai_noon = datetime(2026, 1, 1, 12, 0, tzinfo=BUSINESS_TZ)
    assert ensure_utc(shanghai_noon) == datetime(2026, 1, 1, 4, 0, tzinfo=UTC)
    assert ensure_utc(shanghai_noon).tzinfo == UTC
    assert ensure_utc(datetime(2026, 7, 1, 8, 0, tzinfo=NEW_YORK)) == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("utc, local, day", [
    # Shanghai is UTC+8 all year (no daylight saving): 16:00 UTC is local midnight.
    (datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), datetime(2026, 3, 1, 23, 59, 59), date(2026, 3, 1)),
    (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), datetime(2026, 3, 2, 0, 0), date(2026, 3, 2)),
    (datetime(2026, 3, 1, 16, 30, tzinfo=UTC), datetime(2026, 3, 2, 0, 30), date(2026, 3, 2)),
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), datetime(2027, 1, 1, 0, 0), date(2027, 1, 1)),
    (datetime(2026, 7, 1, 0, 0, tzinfo=UTC), datetime(2026, 7, 1, 8, 0), date(2026, 7, 1)),
])
def test_local_time_across_utc_midnight(utc: datetime, local: datetime, day: date) -> None:
    shown = to_local(utc)
    assert shown.replace(tzinfo=None) == local
    assert shown.utcoffset() == timedelta(hours=8)
    assert local_date(utc) == day


def test_local_helpers_refuse_naive() -> None:
    for fn in (to_local, local_date):
        with pytest.raises(ValueError):
            fn(datetime(2026, 3, 1, 16, 0))


def test_local_day_bounds() -> None:
    assert local_midnight_utc(date(2026, 3, 2)) == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert end_of_local_day_utc(date(2026, 3, 2)) == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert end_of_local_day_utc(date(2026, 12, 31)) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    # Every instant of the local day maps back to that day; the exclusive end does not.
    start, end = local_midnight_utc(date(2026, 3, 2)), end_of_local_day_utc(date(2026, 3, 2))
    assert local_date(start) == date(2026, 3, 2)
    assert local_date(end - timedelta(microseconds=1)) == date(2026, 3, 2)
    assert local_date(end) == date(2026, 3, 3)


def test_format_local() -> None:
    assert format_local(None) == ""
    assert format_local(datetime(2026, 3, 1, 16, 30, tzinfo=UTC)) == "2026-03-02 00:30"
    assert format_local(datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "%Y年%m月%d日") == "2026年03月02日"


def test_format_deadline_shows_the_last_minute_that_counts() -> None:
    # Stored: the first instant too late, 00:00 of 6 March in Shanghai. Shown: 5 March 23:59.
    assert format_deadline(end_of_local_day_utc(date(2026, 3, 5))) == "2026-03-05 23:59"
    assert format_deadline(datetime(2026, 3, 2, 6, 30, tzinfo=UTC)) == "2026-03-02 14:29"  # before 14:30
    assert format_deadline(datetime(2026, 3, 2, 6, 30, 30, tzinfo=UTC)) == "2026-03-02 14:30"
    assert format_deadline(None) == ""


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)))
def test_local_date_is_utc_plus_eight(moment: datetime) -> None:
    assert local_date(moment) == (moment + timedelta(hours=8)).date()
    assert local_midnight_utc(local_date(moment)) <= moment < end_of_local_day_utc(local_date(moment))


# --- free text -------------------------------------------------------------------

def test_clean_text_normalises() -> None:
    assert clean_text("  上海交通大学  ", "name", max_length=20) == "上海交通大学"
    # NFC: "e" + combining acute becomes one character, and the length is counted after that.
    assert clean_text("Cafe\u0301", "name", max_length=4) == "Caf\u00e9"
    assert clean_text("a\nb\tc", "reason", max_length=10, multiline=True) == "a\nb\tc"
    # Browsers send a textarea's line breaks as CRLF.
    assert clean_text("line 1\r\nline 2\rline 3", "reason", max_length=30, multiline=True) == "line 1\nline 2\nline 3"
    # Variation selectors and ideographic spaces are ordinary text.
    assert clean_text("技术\u3000交易 ☺\ufe0f", "name", max_length=20) == "技术\u3000交易 ☺\ufe0f"


@pytest.mark.parametrize("ch", [
    "\x00",      # NUL
    "\x07",      # BEL
    "\x1b",      # ESC (terminal escapes in logs)
    "\x7f",      # DEL
    "\x85",      # NEL
    "\n", "\r", "\t",  # line breaks in a one-line field
    "\u202e",    # RIGHT-TO-LEFT OVERRIDE: "Eve\u202egnp.exe" reads as "Eveexe.png"
    "\u202a", "\u202b", "\u202c", "\u202d",
    "\u2066", "\u2067", "\u2068", "\u2069",  # isolates
    "\u200e", "\u200f", "\u061c",  # directional marks
    "\u200b",    # ZERO WIDTH SPACE
    "\u200c", "\u200d",  # zero-width (non-)joiner
    "\u2060",    # WORD JOINER
    "\ufeff",    # BOM / zero-width no-break space
    "\u00ad",    # soft hyphen
    "\u2028", "\u2029",  # line and paragraph separators
    "\ue000",    # private use
    "\U000e0041",  # tag character
])
def test_clean_text_refuses_control_and_invisible_characters(ch: str) -> None:
    with pytest.raises(ValidationError) as exc:
        clean_text(f"Eve{ch}gnp.exe", "display_name", max_length=100)
    err = exc.value
    assert err.code == "invalid_characters" and err.field == "display_name" and err.status == 422
    assert f"U+{ord(ch):04X}" in err.message


def test_multiline_still_refuses_other_controls() -> None:
    for ch in ("\x00", "\u202e", "\u2028", "\x0b"):
        with pytest.raises(ValidationError) as exc:
            clean_text(f"a\n{ch}b", "reason", max_length=10, multiline=True)
        assert exc.value.code == "invalid_characters"


def test_clean_text_lengths_and_types() -> None:
    assert clean_text("x" * 10, "name", max_length=10) == "x" * 10
    with pytest.raises(ValidationError) as exc:
        clean_text("x" * 11, "name", max_length=10)
    assert (exc.value.code, exc.value.field) == ("too_long", "name")
    for empty in ("", "   ", "\u3000"):
        with pytest.raises(ValidationError) as exc:
            clean_text(empty, "name", max_length=10)
        assert exc.value.code == "required"
    with pytest.raises(ValidationError) as exc:
        clean_text("ab", "name", max_length=10, min_length=3)
    assert exc.value.code == "required"
    for bad in (None, 12, b"bytes", ["a"]):
        with pytest.raises(ValidationError) as exc:
            clean_text(bad, "name", max_length=10)
        assert exc.value.code == "invalid_type"


# --- identity codes ------------------------------------------------------------------

CREDIT = complete_credit_code("91310104MA1FL0000")   # an enterprise registered in Xuhui, Shanghai
ID_NUMBER = complete_id_number("31010419850101001")  # born 1 Jan 1985 in Xuhui


def _wrong_check(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def test_valid_codes_are_normalised() -> None:
    assert validate_credit_code(CREDIT) == CREDIT
    assert validate_credit_code(CREDIT.lower()) == CREDIT
    assert validate_credit_code(f" {CREDIT[:8]} {CREDIT[8:]} ") == CREDIT
    assert validate_credit_code(f"{CREDIT[:8]}-{CREDIT[8:]}") == CREDIT
    assert validate_id_number(ID_NUMBER) == ID_NUMBER
    x_id = next(n for n in (complete_id_number(f"3101041985010100{i}") for i in range(10)) if n.endswith("X"))
    assert validate_id_number(x_id.lower()) == x_id  # the check character X, typed in lower case


@pytest.mark.parametrize("code", [
    _wrong_check(CREDIT),
    CREDIT[:17],               # check character missing
    CREDIT + "0",              # too long
    "",
    "I" + CREDIT[1:],          # I, O, S, V, Z are not in the code alphabet
    CREDIT[:10] + "O" + CREDIT[11:],
    "91310104MA1FL000.0",
    "91310104MA1FL000\u202e0",
])
def test_invalid_credit_codes_rejected(code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(code, field="id_code")
    err = exc.value
    assert err.code == "invalid_credit_code" and err.field == "id_code" and err.status == 422


def test_credit_code_none_is_refused_cleanly() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(None)  # type: ignore[arg-type]
    assert exc.value.code == "invalid_credit_code" and exc.value.field == "credit_code"


@pytest.mark.parametrize("number", [
    _wrong_check(ID_NUMBER),
    ID_NUMBER[:17],
    "310104850101001",                          # the old 15-digit form is no longer issued
    complete_id_number("31010419850230001"),    # 30 February
    complete_id_number("99010419850101001"),    # no such region
    "",
    "31010419850101001A",
])
def test_invalid_id_numbers_rejected(number: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_id_number(number, field="id_code")
    assert exc.value.code == "invalid_id_number" and exc.value.field == "id_code"


def test_id_number_born_in_the_future_is_refused() -> None:
    unborn = complete_id_number("31010420300101001")
    with pytest.raises(ValidationError) as exc:
        validate_id_number(unborn, today=date(2026, 3, 2))
    assert exc.value.code == "invalid_id_number"
    assert validate_id_number(ID_NUMBER, today=date(2026, 3, 2)) == ID_NUMBER


def test_regions_and_masking() -> None:
    assert region_of_credit_code(CREDIT) == "310104"
    assert region_of_id_number(ID_NUMBER) == "310104"
    masked = mask_id_number(ID_NUMBER)
    assert masked == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert len(masked) == 18 and "19850101" not in masked


def test_party_masking_shows_credit_codes_but_hides_id_numbers() -> None:
    from exchange.models import Party, PartyKind

    org = Party(kind=PartyKind.organisation, id_code=CREDIT)
    person = Party(kind=PartyKind.individual, id_code=ID_NUMBER)
    assert org.masked_id_code == CREDIT  # credit codes are public
    assert person.masked_id_code == mask_id_number(ID_NUMBER)


def test_logs_never_carry_id_numbers_or_tokens() -> None:
    line = redact(f"signup {ID_NUMBER} with Bearer tex_abcdefghijklmnop_XYZ")
    assert ID_NUMBER not in line and "tex_abcdefghijklmnop" not in line
    assert "[id-number]" in line and "[token]" in line


# --- canonical JSON ---------------------------------------------------------------------

class Colour(enum.StrEnum):
    red = "red"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    label: str


def test_jsonable_values() -> None:
    assert jsonable(None) is None
    assert jsonable(Money(1234, "USD")) == {"fen": 1234, "currency": "USD"}
    assert jsonable(Decimal("0.300")) == "0.300"
    assert jsonable(Colour.red) == "red"
    assert jsonable(date(2026, 10, 8)) == "2026-10-08"
    assert jsonable(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) == "2026-03-02T01:00:00+00:00"
    assert jsonable((1, 2)) == [1, 2]
    assert jsonable({3, 1, 2}) == [1, 2, 3]
    assert jsonable(Point(1, "a")) == {"x": 1, "label": "a"}
    assert jsonable({1: Money(5)}) == {"1": {"fen": 5, "currency": "CNY"}}
    assert jsonable(0.1) == "0.1"  # a stray float keeps its exact text instead of becoming a number
    with pytest.raises(TypeError):
        jsonable(object())
    with pytest.raises(TypeError):
        jsonable(Point)  # a class, not an instance


def test_canonical_json_is_deterministic() -> None:
    a = {"b": 1, "a": {"y": [3, 2], "x": "上海"}, "s": {"z", "a", "m"}, "m": Money(5)}
    b = {"m": Money(5), "s": {"m", "z", "a"}, "a": {"x": "上海", "y": [3, 2]}, "b": 1}
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == ('{"a":{"x":"上海","y":[3,2]},"b":1,"m":{"currency":"CNY","fen":5},'
                                 '"s":["a","m","z"]}')
    assert canonical_json([2, 1]) != canonical_json([1, 2])  # lists keep their order


@given(st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5), st.booleans(),
                                                        st.none(), st.frozensets(st.integers(), max_size=4)),
                       max_size=6))
def test_canonical_json_ignores_insertion_order(d: dict) -> None:
    reordered = dict(reversed(list(d.items())))
    assert canonical_json(d) == canonical_json(reordered)
    import json

    assert json.loads(canonical_json(d)) == jsonable(d)


def test_times_are_written_with_their_offset() -> None:
    # The audit trail stores what the clock gives: aware UTC, written with its offset.
    text = canonical_json({"at": datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)})
    assert text == '{"at":"2026-03-02T01:00:00+00:00"}'
