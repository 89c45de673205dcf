#!/usr/bin/env python
"""Catalogue search: keyword and filtered queries over up to 100,000 listings with Chinese
titles, p50/p95 on SQLite and PostgreSQL, next to the same SQL on a bare DBAPI connection,
and how the time grows with the catalogue.

How to run (from the repository root; PostgreSQL on 127.0.0.1:5432, user ``postgres``)::

    .venv/bin/python bench/search.py                                # 10k, 30k, 100k; both backends; 30 reps
    .venv/bin/python bench/search.py --sizes 10000,100000 --backends sqlite,postgresql --reps 30
    .venv/bin/python bench/search.py --sizes 2000 --reps 5          # a quick smoke run

The full default run takes 12 to 17 minutes on a 2-core machine, most of it at 100,000 listings.

What it does, in one run, per backend:

1. **Setup.** A fresh database: a temporary SQLite file, or the scratch PostgreSQL database
   ``exchange_bench_search`` (dropped and created; ``--db-name``), migrated with
   ``exchange.migrate.upgrade``. Forty seller parties and one user are inserted, then assets
   and their listings in bulk: ``INSERT ... SELECT generate_series`` on PostgreSQL,
   ``executemany`` on SQLite. Each row ``i`` is a pure function of ``i`` (a small integer
   hash picks from the vocabularies), written once in Python and once in SQL; a sample of
   the PostgreSQL rows is compared with the Python ones and every query must find the same
   number of listings on both backends, so both measure the same catalogue. Titles are
   built like ``一种`` + {工业机器人, 锂电池, 芯片封装, ...} + {缺陷检测方法, 制备方法, 控制系统,
   ...}; kinds, fields, modes, prices and states follow fixed weights (60 % in publicity,
   publicity ending over the next four weeks); ``search_text`` is filled by the service's
   own ``listings.service.lifecycle._search_text`` (SQLite) or its SQL transcription
   (PostgreSQL). The catalogue grows in steps (10k, then 30k, then 100k: the first rows
   stay the same), with ``ANALYZE`` after each step.
2. **ORM path**, what ``GET /api/v1/listings`` does: a session from ``exchange.db.Database``
   (the app's engine settings), ``listings.service.search.search_catalogue`` (that is
   ``catalogue_statement`` + ``exchange.pagination.paginate``: a count and the first page
   of 20), commit, close. JSON serialisation of the page is not included.
3. **Raw baseline**, in the same run: the statements the ORM path sent (captured with a
   ``before_cursor_execute`` listener: the count, the page and, on SQLite, the app's
   ``BEGIN IMMEDIATE``) replayed with the same parameters on a bare DBAPI connection
   (psycopg2 / sqlite3), fetched, committed. ORM and raw runs alternate, after two
   warm-up runs of each; ORM/raw is the ratio of the medians. Besides the wall clock, the CPU
   time of the benchmark process is recorded per request (``time.process_time``): on SQLite
   that is all the work, on PostgreSQL the client's share, and it is what shows the ORM's own
   cost when other load on the machine stretches the wall clock.
4. **pg_trgm** (PostgreSQL): the same queries again with a GIN trigram index on
   ``listings.search_text`` (created for the measurement, then dropped; it is not in the
   migrations), with the plans; and whether the database's ``LC_CTYPE`` lets pg_trgm see
   Chinese characters at all (a scratch database with ``LC_CTYPE 'C'`` is probed).
5. **Candidate indexes** at the largest size: ``listings (published_at DESC NULLS LAST, id
   DESC)`` and ``assets (kind, technical_field)``, each created, measured (ORM path) and
   dropped (``--no-candidates`` skips this).

Queries: browse (no filter), a common keyword (机器人, ~7 % of listings), a rare one
(钙钛矿, ~0.1 %), two keywords, a two-character keyword (芯片: too short for a trigram),
filters only (kind + field + price range), filters + keyword, publicity ending within a week.

Options: ``--db-url`` (server URL without database, default
``postgresql://postgres@127.0.0.1:5432``), ``--db-name`` (default ``exchange_bench_search``),
``--keep-db``, ``--no-trgm``, ``--no-candidates``. It reports; it never asserts a target. It
exits 1 only if the data or the answers disagree (sample rows, ORM vs raw, SQLite vs
PostgreSQL).
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg2  # noqa: E402
import sqlalchemy as sa  # noqa: E402

UTC = timezone.utc
TODAY = date(2026, 3, 2)          # the benchmark's "today" (a Monday); nothing reads the real clock
PARTIES = 40
PER_PAGE = 20
DEFAULT_SIZES = "10000,30000,100000"
TRGM_INDEX = "bench_ix_listings_search_text_trgm"


def log(msg: str = "") -> None:
    print(msg, flush=True)


# =========================================================================== vocabularies
# (subject, technical field code). The rare subject is drawn for one row in a thousand.
SUBJECTS: list[tuple[str, str]] = [
    ("工业机器人", "advanced_manufacturing"), ("协作机器人", "advanced_manufacturing"),
    ("巡检机器人", "advanced_manufacturing"), ("数控机床", "advanced_manufacturing"),
    ("3D打印", "advanced_manufacturing"), ("精密减速器", "advanced_manufacturing"),
    ("智能制造产线", "advanced_manufacturing"), ("激光焊接设备", "advanced_manufacturing"),
    ("机器视觉系统", "artificial_intelligence"), ("语音识别", "artificial_intelligence"),
    ("自然语言处理", "artificial_intelligence"), ("知识图谱", "artificial_intelligence"),
    ("自动驾驶感知", "artificial_intelligence"),
    ("激光雷达", "electronic_information"), ("射频前端", "electronic_information"),
    ("物联网终端", "electronic_information"), ("卫星导航接收机", "electronic_information"),
    ("柔性显示屏", "electronic_information"),
    ("芯片封装", "integrated_circuits"), ("射频芯片", "integrated_circuits"), ("功率半导体", "integrated_circuits"),
    ("图像传感器芯片", "integrated_circuits"), ("存储芯片", "integrated_circuits"),
    ("手术机器人", "biomedicine"), ("基因检测", "biomedicine"), ("疫苗佐剂", "biomedicine"),
    ("抗体药物", "biomedicine"), ("医学影像", "biomedicine"), ("医用高分子", "biomedicine"),
    ("中药提取物", "biomedicine"),
    ("碳纤维复合材料", "new_materials"), ("石墨烯薄膜", "new_materials"), ("生物降解塑料", "new_materials"),
    ("高温合金", "new_materials"), ("陶瓷基复合材料", "new_materials"),
    ("锂电池", "new_energy"), ("固态电池", "new_energy"), ("光伏组件", "new_energy"), ("氢燃料电池", "new_energy"),
    ("储能系统", "new_energy"), ("风力发电机", "new_energy"), ("热泵机组", "new_energy"),
    ("污水处理", "environmental"), ("土壤修复", "environmental"), ("烟气脱硫", "environmental"),
    ("海水淡化", "environmental"), ("固废资源化", "environmental"),
    ("水稻育种", "agriculture"), ("智能温室", "agriculture"), ("农业无人机", "agriculture"),
    ("畜禽疫病检测", "agriculture"),
    ("航空发动机叶片", "aerospace"), ("无人机飞控", "aerospace"), ("卫星姿态控制", "aerospace"),
    ("复合材料机翼", "aerospace"),
]
RARE_SUBJECT = ("钙钛矿叠层太阳能电池", "new_energy")
RARE_ONE_IN = 1000
ASPECTS = ["缺陷检测方法", "制备方法", "控制系统", "控制方法", "装置及其使用方法", "散热结构", "测试系统", "标定方法",
           "故障诊断方法", "参数优化方法", "驱动电路", "封装结构", "回收工艺", "检测装置", "在线监测系统", "调度方法",
           "安全防护装置", "表面处理工艺", "连接结构", "冷却系统", "定位方法", "数据处理方法", "寿命预测方法",
           "关节减速器"]
TECHNIQUES = ["深度学习", "机器视觉", "数字孪生", "边缘计算", "物联网", "强化学习", "激光干涉", "超声波", "微流控",
              "红外热成像", "多传感器融合", "区块链", "大数据", "有限元分析", "模型预测控制"]
# Title patterns, tokens {S} subject, {A} aspect, {T} technique; repeated entries weigh more.
PATTERNS = ["一种{S}{A}"] * 5 + ["基于{T}的{S}{A}"] * 2 + ["{S}{A}及其应用", "一种用于{S}的{A}", "{S}的{A}"]
BENEFITS = ["显著提高了生产效率", "降低了制造成本", "提升了检测精度", "延长了使用寿命", "减少了能源消耗",
            "提高了产品良率", "缩短了研发周期", "改善了安全性能"]
SCENES = ["汽车制造", "电子装配", "医疗器械", "化工生产", "电力巡检", "智慧城市", "农业生产", "物流仓储",
          "航空维修", "半导体制造", "新能源电站", "食品加工"]
# (value, weight in %, Chinese label, patent type digit or None)
KINDS = [("invention_patent", 45, "发明专利", "1"), ("utility_model", 20, "实用新型", "2"),
         ("design_patent", 5, "外观设计", "3"), ("patent_application_right", 8, "专利申请权", "1"),
         ("software_copyright", 12, "软件著作权", None), ("ic_layout_design", 3, "集成电路布图设计", None),
         ("plant_variety", 2, "植物新品种", None), ("technical_secret", 5, "技术秘密", None)]
EXPIRY_YEARS = {"invention_patent": 20, "utility_model": 10, "design_patent": 15}
MODES = [("assignment", 45, "转让"), ("exclusive_licence", 15, "独占许可"), ("sole_licence", 10, "排他许可"),
         ("ordinary_licence", 20, "普通许可"), ("capital_contribution", 10, "作价投资")]
LICENCES = {"exclusive_licence", "sole_licence", "ordinary_licence"}
# (state, weight in %, timeline): live = in publicity now; past = published 30..730 days ago; pre = never published.
STATES = [("published", 60, "live"), ("suspended", 2, "past"), ("awaiting_negotiation", 2, "past"),
          ("awaiting_auction", 4, "past"), ("in_auction", 3, "past"), ("sold", 8, "past"), ("unsold", 8, "past"),
          ("terminated", 3, "past"), ("draft", 5, "pre"), ("submitted", 2, "pre"), ("withdrawn", 3, "past")]
CLOSED = {"sold", "unsold", "terminated", "withdrawn"}
PUBLICITY_CALENDAR_DAYS = 28  # 20 working days


def weighted(table: list[tuple], roll: int) -> tuple:
    acc = 0
    for row in table:
        acc += row[1]
        if roll < acc:
            return row
    raise AssertionError("weights must add up to 100")


assert sum(k[1] for k in KINDS) == sum(m[1] for m in MODES) == sum(s[1] for s in STATES) == 100


def mix(i: int, salt: int) -> int:
    """A 32-bit integer hash of (i, salt); ``bench_mix`` computes the same in SQL."""
    x = (i * 2654435761 + salt * 40503) % 4294967296
    y = ((x ^ (x >> 16)) * 73244475) % 4294967296
    return y ^ (y >> 16)


def fill(pattern: str, s: str, a: str, t: str) -> str:
    return pattern.replace("{S}", s).replace("{A}", a).replace("{T}", t)


def at_utc(day: date, hour: int = 2) -> datetime:
    # 02:00 UTC is 10:00 in Shanghai: the UTC date is the local date.
    return datetime.combine(day, dtime(hour), tzinfo=UTC)


# =========================================================================== parties
def party_rows() -> list[dict[str, Any]]:
    from exchange.parties import complete_credit_code

    cities = ["上海", "北京", "深圳", "杭州", "苏州", "南京", "武汉", "合肥"]
    brands = ["启明", "星澜", "博远", "智擎", "清源", "远航", "华芯", "蓝湾", "恒知", "拓新"]
    kinds = [("大学", "university", "12"), ("研究院", "research_institute", "12"),
             ("智能科技有限公司", "enterprise", "91"), ("新材料股份有限公司", "state_owned_enterprise", "91")]
    rows = []
    created = at_utc(TODAY - timedelta(days=1200))
    for n in range(1, PARTIES + 1):
        city, brand = cities[n % len(cities)], brands[(n * 3) % len(brands)]
        suffix, entity, lead = kinds[n % len(kinds)]
        first17 = f"{lead}310115MA{n:07d}"[:17]
        rows.append({"id": n, "ref": f"P2022-{n:06d}", "kind": "organisation", "entity_type": entity,
                     "name": f"{city}{brand}{suffix}", "id_code": complete_credit_code(first17),
                     "region_code": "310115",
                     "related_group": None, "is_exchange": False, "created_at": created})
    return rows


USER = {"id": 1, "ref": "U2022-000001", "party_id": 1, "email": "seller@bench.example", "display_name": "bench",
        "password_hash": "not-a-hash", "role": "member", "is_active": True, "locale": "zh",
        "created_at": at_utc(TODAY - timedelta(days=1200))}


# =========================================================================== one catalogue row, in Python
def catalogue_row(i: int, parties: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The asset and the listing number ``i`` (both with id ``i``)."""
    from listings.domain.identifiers import patent_check_character
    from listings.fields import TECH_FIELDS
    from listings.service.lifecycle import _search_text

    m = {k: mix(i, k) for k in range(1, 21)}
    if m[1] % RARE_ONE_IN == 7:
        subject, fcode = RARE_SUBJECT
    else:
        subject, fcode = SUBJECTS[m[2] % len(SUBJECTS)]
    aspect, tech = ASPECTS[m[3] % len(ASPECTS)], TECHNIQUES[m[4] % len(TECHNIQUES)]
    title = fill(PATTERNS[m[5] % len(PATTERNS)], subject, aspect, tech)
    kind, _, kind_zh, type_digit = weighted(KINDS, m[6] % 100)
    year = 2016 + m[7] % 9
    state, _, timeline = weighted(STATES, m[12] % 100)
    mode, _, mode_zh = weighted(MODES, m[13] % 100)
    price_fen = (1 + m[14] % 99) * (10_000, 100_000, 1_000_000)[m[15] % 3] * 100
    deposit_fen, increment_fen = price_fen // 10, max(price_fen // 100, 100)
    holder = parties[m[10] % PARTIES]
    if timeline == "live":
        age = m[16] % 27
    elif timeline == "past":
        age = 30 + m[16] % 700
    else:
        age = m[16] % 60
    created_day = TODAY - timedelta(days=age + 5)
    serial = f"{i:07d}"
    if type_digit:
        body = f"{year}{type_digit}{serial}"
        number = f"{body}.{patent_check_character(body)}"
    else:
        number = {"software_copyright": f"{year}SR{serial}", "ic_layout_design": f"BS.{year}{serial}",
                  "plant_variety": f"CNA{year}{serial}", "technical_secret": None}[kind]
    filing = date(year, 1 + m[11] % 12, 1 + (m[11] // 12) % 28)
    expiry = filing.replace(year=filing.year + EXPIRY_YEARS[kind]) if kind in EXPIRY_YEARS else None
    asset_created = at_utc(created_day - timedelta(days=10))
    asset = {
        "id": i, "ref": f"A{asset_created.year}-{i:06d}", "kind": kind, "title": title,
        "summary": f"本{kind_zh}属于{TECH_FIELDS[fcode][0]}领域，{BENEFITS[m[8] % len(BENEFITS)]}，"
                   f"已在{SCENES[m[9] % len(SCENES)]}场景中验证。",
        "technical_field": fcode, "number": number, "filing_date": filing, "expiry_date": expiry, "lapsed": False,
        "confidential_details": "保密技术资料，成交后披露。" if kind == "technical_secret" else None,
        "holder_party_id": holder["id"], "employee_invention_of_id": None, "confirmation": "confirmed",
        "confirmed_at": at_utc(created_day - timedelta(days=3)), "created_by_id": 1, "created_at": asset_created,
    }
    published_at = pub_day = pub_end = ends_at = closed_at = suspended_on = None
    if timeline != "pre":
        pub_day = TODAY - timedelta(days=age)
        published_at = at_utc(pub_day) + timedelta(seconds=m[17] % 28800)
        pub_end = pub_day + timedelta(days=PUBLICITY_CALENDAR_DAYS)
        ends_at = at_utc(pub_end, 16)  # the end of that day in Shanghai
        if state in CLOSED:
            closed_at = published_at + timedelta(days=40)
        if state == "suspended":
            suspended_on = pub_day + timedelta(days=10)
    created_at = at_utc(created_day)
    listing = {
        "id": i, "ref": f"L{created_day.year}-{i:06d}", "asset_id": i, "seller_party_id": holder["id"],
        "title": title,
        "description": f"本项目以{mode_zh}方式挂牌，技术成熟度为{3 + m[18] % 7}级，"
                       f"可应用于{SCENES[m[19] % len(SCENES)]}等领域。",
        "mode": mode, "licence_term_months": 36 + 24 * (m[20] % 3) if mode in LICENCES else None,
        "territory": "中国大陆" if mode in LICENCES else None,
        "price_fen": price_fen, "currency": "CNY", "deposit_fen": deposit_fen, "increment_fen": increment_fen,
        "auction_format": "ascending", "free_bidding_minutes": 60, "countdown_seconds": 300,
        "hard_end_minutes": None, "leader_may_raise": False, "qualification_conditions": "", "disclosures": "",
        "publicity_working_days": 20, "allows_extension": True, "max_extensions": 3, "extensions_used": 0,
        "state": state, "attempt": 1, "previous_listing_id": None, "below_appraisal_approval": None,
        "publicity_start": pub_day, "publicity_end": pub_end, "publicity_ends_at": ends_at,
        "publicity_provisional": False, "days_served": 7 if state == "suspended" else 0,
        "suspended_on": suspended_on, "published_at": published_at, "closed_at": closed_at,
        "deal_price_fen": price_fen + increment_fen * (1 + m[18] % 20) if state == "sold" else None,
        "created_by_id": 1, "created_at": created_at, "updated_at": closed_at or published_at or created_at,
    }
    listing["search_text"] = _search_text(SimpleNamespace(**listing), SimpleNamespace(**asset),
                                          SimpleNamespace(name=holder["name"]))
    return asset, listing


# =========================================================================== the same rows, in SQL
def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _arr(items: list[str]) -> str:
    return "ARRAY[" + ",".join(_lit(x) for x in items) + "]::text[]"


def _pick(items: list[str], m: str) -> str:
    return f"({_arr(items)})[1 + {m} % {len(items)}]"


def _weighted_case(table: list[tuple], roll: str, col: int = 0) -> str:
    acc, parts = 0, []
    for row in table:
        acc += row[1]
        value = row[col]
        parts.append(f"WHEN {roll} < {acc} THEN {'NULL' if value is None else _lit(value)}")
    return "CASE " + " ".join(parts) + " END"


def _concat_pattern(pattern: str) -> str:
    pieces = [p for p in re.split(r"(\{[SAT]\})", pattern) if p]
    return " || ".join({"{S}": "subject", "{A}": "aspect", "{T}": "tech"}.get(p, _lit(p)) for p in pieces)


def _pg_functions() -> str:
    # Single expressions, so the planner inlines them (a body with FROM runs through the
    # function executor once per call: 20 calls a row made the load ten times slower).
    x = "((i * 2654435761 + salt * 40503) % 4294967296)"
    y = f"((({x} # ({x} >> 16)) * 73244475) % 4294967296)"
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = " + ".join(f"substr(body, {k + 1}, 1)::int * {w}" for k, w in enumerate(weights))
    return f"""
CREATE OR REPLACE FUNCTION bench_mix(i bigint, salt int) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {y} # ({y} >> 16) $$;
CREATE OR REPLACE FUNCTION bench_patent_check(body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN ({total}) % 11 = 10 THEN 'X' ELSE (({total}) % 11)::text END $$;
"""


PG_FUNCTIONS = _pg_functions()


def pg_rows_sql() -> str:
    """A ``SELECT`` of every column of assets (``a_*``) and listings (``l_*``) for ids %(lo)s..%(hi)s."""
    from listings.fields import TECH_FIELDS

    ms = ", ".join(f"bench_mix(i, {k}) AS m{k}" for k in range(1, 21))
    subjects = [s for s, _ in SUBJECTS]
    fields_ = [f for _, f in SUBJECTS]
    field_zh = "CASE field " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v[0])}" for k, v in TECH_FIELDS.items()) + " END"
    title = "CASE pat " + " ".join(f"WHEN {n} THEN {_concat_pattern(p)}" for n, p in enumerate(PATTERNS)) + " END"
    expiry = "CASE kind " + " ".join(
        f"WHEN {_lit(k)} THEN (filing + interval '{y} years')::date" for k, y in EXPIRY_YEARS.items()) + " END"
    number = ("CASE kind WHEN 'software_copyright' THEN year || 'SR' || serial "
              "WHEN 'ic_layout_design' THEN 'BS.' || year || serial "
              "WHEN 'plant_variety' THEN 'CNA' || year || serial WHEN 'technical_secret' THEN NULL "
              "ELSE year || type_digit || serial || '.' || bench_patent_check(year || type_digit || serial) END")
    licences = ", ".join(_lit(x) for x in sorted(LICENCES))
    closed = ", ".join(_lit(x) for x in sorted(CLOSED))
    return f"""
WITH g AS MATERIALIZED (SELECT i, {ms} FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) i),
c AS MATERIALIZED (
  SELECT g.*,
    CASE WHEN m1 % {RARE_ONE_IN} = 7 THEN {_lit(RARE_SUBJECT[0])} ELSE {_pick(subjects, 'm2')} END AS subject,
    CASE WHEN m1 % {RARE_ONE_IN} = 7 THEN {_lit(RARE_SUBJECT[1])} ELSE {_pick(fields_, 'm2')} END AS field,
    {_pick(ASPECTS, 'm3')} AS aspect, {_pick(TECHNIQUES, 'm4')} AS tech, (m5 % {len(PATTERNS)})::int AS pat,
    {_weighted_case(KINDS, 'm6 % 100')} AS kind, {_weighted_case(KINDS, 'm6 % 100', 2)} AS kind_zh,
    {_weighted_case(KINDS, 'm6 % 100', 3)} AS type_digit,
    (2016 + m7 % 9)::int AS year, lpad(i::text, 7, '0') AS serial,
    {_weighted_case(STATES, 'm12 % 100')} AS state, {_weighted_case(STATES, 'm12 % 100', 2)} AS timeline,
    {_weighted_case(MODES, 'm13 % 100')} AS mode, {_weighted_case(MODES, 'm13 % 100', 2)} AS mode_zh,
    (1 + m14 % 99) * (CASE m15 % 3 WHEN 0 THEN 10000 WHEN 1 THEN 100000 ELSE 1000000 END) * 100 AS price_fen,
    (1 + m10 % {PARTIES})::int AS holder,
    make_date((2016 + m7 % 9)::int, (1 + m11 % 12)::int, (1 + (m11 / 12) % 28)::int) AS filing
  FROM g),
d AS MATERIALIZED (
  SELECT c.*, {title} AS title, {field_zh} AS field_zh, {number} AS number, {expiry} AS expiry,
    CASE timeline WHEN 'live' THEN m16 % 27 WHEN 'past' THEN 30 + m16 % 700 ELSE m16 % 60 END AS age,
    price_fen / 10 AS deposit_fen, greatest(price_fen / 100, 100) AS increment_fen
  FROM c),
e AS MATERIALIZED (
  SELECT d.*, DATE '{TODAY.isoformat()}' - (age + 5)::int AS created_day,
    CASE WHEN timeline <> 'pre' THEN DATE '{TODAY.isoformat()}' - age::int END AS pub_day
  FROM d),
f AS MATERIALIZED (
  SELECT e.*,
    ((pub_day + TIME '02:00') AT TIME ZONE 'UTC') + make_interval(secs => m17 % 28800) AS published_at,
    ((created_day + TIME '02:00') AT TIME ZONE 'UTC') AS created_at
  FROM e)
SELECT
  i AS a_id, 'A' || extract(year FROM created_day - 10)::int || '-' || lpad(i::text, 6, '0') AS a_ref,
  kind AS a_kind, title AS a_title,
  '本' || kind_zh || '属于' || field_zh || '领域，' || {_pick(BENEFITS, 'm8')} || '，已在' ||
    {_pick(SCENES, 'm9')} || '场景中验证。' AS a_summary,
  field AS a_technical_field, number AS a_number, filing AS a_filing_date, expiry AS a_expiry_date,
  false AS a_lapsed,
  CASE WHEN kind = 'technical_secret' THEN '保密技术资料，成交后披露。' END AS a_confidential_details,
  holder AS a_holder_party_id, NULL::int AS a_employee_invention_of_id, 'confirmed' AS a_confirmation,
  ((created_day - 3 + TIME '02:00') AT TIME ZONE 'UTC') AS a_confirmed_at, 1 AS a_created_by_id,
  ((created_day - 10 + TIME '02:00') AT TIME ZONE 'UTC') AS a_created_at,
  i AS l_id, 'L' || extract(year FROM created_day)::int || '-' || lpad(i::text, 6, '0') AS l_ref,
  i AS l_asset_id, holder AS l_seller_party_id, title AS l_title,
  '本项目以' || mode_zh || '方式挂牌，技术成熟度为' || (3 + m18 % 7) || '级，可应用于' ||
    {_pick(SCENES, 'm19')} || '等领域。' AS l_description,
  mode AS l_mode, CASE WHEN mode IN ({licences}) THEN (36 + 24 * (m20 % 3))::int END AS l_licence_term_months,
  CASE WHEN mode IN ({licences}) THEN '中国大陆' END AS l_territory,
  price_fen AS l_price_fen, 'CNY' AS l_currency, deposit_fen AS l_deposit_fen, increment_fen AS l_increment_fen,
  'ascending' AS l_auction_format, 60 AS l_free_bidding_minutes, 300 AS l_countdown_seconds,
  NULL::int AS l_hard_end_minutes, false AS l_leader_may_raise, '' AS l_qualification_conditions,
  '' AS l_disclosures, 20 AS l_publicity_working_days, true AS l_allows_extension, 3 AS l_max_extensions,
  0 AS l_extensions_used, state AS l_state, 1 AS l_attempt, NULL::int AS l_previous_listing_id,
  NULL::text AS l_below_appraisal_approval, pub_day AS l_publicity_start,
  pub_day + {PUBLICITY_CALENDAR_DAYS} AS l_publicity_end,
  ((pub_day + {PUBLICITY_CALENDAR_DAYS} + TIME '16:00') AT TIME ZONE 'UTC') AS l_publicity_ends_at,
  false AS l_publicity_provisional, CASE WHEN state = 'suspended' THEN 7 ELSE 0 END AS l_days_served,
  CASE WHEN state = 'suspended' THEN pub_day + 10 END AS l_suspended_on,
  published_at AS l_published_at,
  CASE WHEN state IN ({closed}) THEN published_at + interval '40 days' END AS l_closed_at,
  CASE WHEN state = 'sold' THEN price_fen + increment_fen * (1 + m18 % 20) END AS l_deal_price_fen,
  1 AS l_created_by_id, created_at AS l_created_at,
  coalesce(CASE WHEN state IN ({closed}) THEN published_at + interval '40 days' END, published_at, created_at)
    AS l_updated_at
FROM f
"""


ASSET_COLS = ["id", "ref", "kind", "title", "summary", "technical_field", "number", "filing_date", "expiry_date",
              "lapsed", "confidential_details", "holder_party_id", "employee_invention_of_id", "confirmation",
              "confirmed_at", "created_by_id", "created_at"]
LISTING_COLS = ["id", "ref", "asset_id", "seller_party_id", "title", "description", "mode", "licence_term_months",
                "territory", "price_fen", "currency", "deposit_fen", "increment_fen", "auction_format",
                "free_bidding_minutes", "countdown_seconds", "hard_end_minutes", "leader_may_raise",
                "qualification_conditions", "disclosures", "publicity_working_days", "allows_extension",
                "max_extensions", "extensions_used", "state", "attempt", "previous_listing_id",
                "below_appraisal_approval", "publicity_start", "publicity_end", "publicity_ends_at",
                "publicity_provisional", "days_served", "suspended_on", "published_at", "closed_at",
                "deal_price_fen", "created_by_id", "created_at", "updated_at"]


# =========================================================================== queries
@dataclass(frozen=True)
class QueryCase:
    key: str
    label: str
    make: Callable[[], Any]   # -> CatalogueQuery
    keyword: bool             # uses LIKE on search_text


def query_cases() -> list[QueryCase]:
    from listings import domain as d
    from listings.service.search import CatalogueQuery as Q

    inv, mfg = d.AssetKind.INVENTION_PATENT, "advanced_manufacturing"
    return [
        QueryCase("browse", "browse, no filter", lambda: Q(), False),
        QueryCase("kw_common", "keyword, common: 机器人", lambda: Q(q="机器人"), True),
        QueryCase("kw_rare", "keyword, rare: 钙钛矿", lambda: Q(q="钙钛矿"), True),
        QueryCase("kw_two", "two keywords: 机器人 控制系统", lambda: Q(q="机器人 控制系统"), True),
        QueryCase("kw_2char", "2-character keyword: 芯片", lambda: Q(q="芯片"), True),
        QueryCase("filter", "filters: invention + adv. mfg + ¥0.5-5M",
                  lambda: Q(kind=inv, technical_field=mfg, min_price_fen=50_000_000, max_price_fen=500_000_000), False),
        QueryCase("filter_kw", "filters + keyword: invention + adv. mfg + 机器人",
                  lambda: Q(q="机器人", kind=inv, technical_field=mfg), True),
        QueryCase("ending", "publicity ending within 7 days", lambda: Q(ending_before=TODAY + timedelta(days=7)),
                  False),
    ]


@dataclass
class Timing:
    orm: list[float] = field(default_factory=list)      # wall seconds per request
    raw: list[float] = field(default_factory=list)
    orm_cpu: list[float] = field(default_factory=list)  # CPU seconds of this process per request
    raw_cpu: list[float] = field(default_factory=list)
    total: int | None = None
    page_ids: list[int] = field(default_factory=list)
    plan: str = ""


def p50(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def p95(xs: list[float]) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


# =========================================================================== backends
class Backend:
    name = ""

    def __init__(self) -> None:
        from exchange.db import Database

        self.url = self.sa_url()
        from exchange.migrate import upgrade

        upgrade(self.url)
        self.db = Database(self.url)
        self.size = 0
        self._captured: list[tuple[str, Any]] | None = None
        sa.event.listen(self.db.engine, "before_cursor_execute", self._capture)
        self.raw = self.raw_connect()
        with self.db.engine.begin() as c:
            from exchange.models import Party, User

            c.execute(sa.insert(Party), party_rows())
            c.execute(sa.insert(User), [USER])
        self.parties = party_rows()

    def _capture(self, _conn, _cursor, statement, parameters, _context, _executemany):  # type: ignore[no-untyped-def]
        if self._captured is not None:
            self._captured.append((statement, parameters))

    # -- subclass hooks
    def sa_url(self) -> str:
        raise NotImplementedError

    def raw_connect(self) -> Any:
        raise NotImplementedError

    def grow(self, lo: int, hi: int) -> None:
        raise NotImplementedError

    def analyze(self) -> None:
        raise NotImplementedError

    def explain(self, statements: list[tuple[str, Any]]) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self.raw.close()
        self.db.engine.dispose()

    # -- measurement
    def run_orm(self, case: QueryCase,
                capture: bool = False) -> tuple[float, float, int, list[int], list[tuple[str, Any]]]:
        from listings.service.search import search_catalogue

        if capture:
            self._captured = []
        c0, t0 = time.process_time(), time.perf_counter()
        session = self.db.sessionmaker()
        try:
            items, meta = search_catalogue(session, case.make(), 1, PER_PAGE)
            session.commit()
        finally:
            session.close()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        captured, self._captured = self._captured or [], None
        return elapsed, cpu, meta["total"], [x.id for x in items], captured

    def run_raw(self, statements: list[tuple[str, Any]]) -> tuple[float, float, list[list[tuple]]]:
        c0, t0 = time.process_time(), time.perf_counter()
        cur = self.raw.cursor()
        results = []
        for stmt, params in statements:
            cur.execute(stmt, params)
            results.append(cur.fetchall() if cur.description else [])
        self.raw.commit()
        cur.close()
        return time.perf_counter() - t0, time.process_time() - c0, results

    def measure(self, cases: list[QueryCase], reps: int, *, raw: bool = True, plans: bool = False,
                problems: list[str]) -> dict[str, Timing]:
        out: dict[str, Timing] = {}
        for case in cases:
            t = Timing()
            _, _, t.total, t.page_ids, statements = self.run_orm(case, capture=True)
            selects = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
            if raw:
                _, _, results = self.run_raw(statements)
                counts = [r[0][0] for (s, _), r in zip(statements, results) if s.lstrip().upper().startswith("SELECT")
                          and "count(" in s.lower()]
                if counts != [t.total]:
                    problems.append(f"{self.name} {self.size} {case.key}: raw count {counts} != ORM total {t.total}")
            if plans:
                t.plan = self.explain(selects)
            for _ in range(2):  # warm-up
                self.run_orm(case)
                if raw:
                    self.run_raw(statements)
            for _ in range(reps):
                wall, cpu, *_ = self.run_orm(case)
                t.orm.append(wall)
                t.orm_cpu.append(cpu)
                if raw:
                    wall, cpu, _ = self.run_raw(statements)
                    t.raw.append(wall)
                    t.raw_cpu.append(cpu)
            out[case.key] = t
        return out


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="exchange_bench_search_")
        self.path = os.path.join(self.dir, "catalogue.db")
        super().__init__()

    def sa_url(self) -> str:
        return f"sqlite:///{self.path}"

    def raw_connect(self) -> Any:
        # As the app's engine: autocommit mode, so the captured BEGIN IMMEDIATE opens the transaction.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def grow(self, lo: int, hi: int) -> None:
        from listings.models import Asset, Listing

        assets, listings = [], []
        for i in range(lo, hi + 1):
            a, li = catalogue_row(i, self.parties)
            assets.append(a)
            listings.append(li)
        with self.db.engine.begin() as c:  # executemany, through the column types (date/time formats)
            c.execute(sa.insert(Asset), assets)
            c.execute(sa.insert(Listing), listings)
        self.size = hi

    def analyze(self) -> None:
        self.raw.execute("ANALYZE")
        self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def explain(self, statements: list[tuple[str, Any]]) -> str:
        cur = self.raw.cursor()
        out = []
        for stmt, params in statements:
            cur.execute("EXPLAIN QUERY PLAN " + stmt, params)
            out.append("; ".join(r[3] for r in cur.fetchall()))
        cur.close()
        return " | ".join(out)

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def create_index(self, ddl: str) -> None:
        self.raw.execute(ddl)
        self.raw.execute("ANALYZE")

    def drop_index(self, name: str) -> None:
        self.create_index(f"DROP INDEX IF EXISTS {name}")

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, server_url: str, db_name: str, keep: bool) -> None:
        self.server_url, self.db_name, self.keep = server_url.rstrip("/"), db_name, keep
        if db_name in ("test", "postgres", "template0", "template1"):
            raise SystemExit(f"refusing to use the database {db_name!r}")
        self.admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        self.admin(f'CREATE DATABASE "{db_name}"')
        super().__init__()
        with self.raw.cursor() as cur:
            cur.execute(PG_FUNCTIONS)
        self.raw.commit()
        self.rows_sql = pg_rows_sql()

    def admin(self, sql: str, db: str = "postgres") -> list[tuple]:
        conn = psycopg2.connect(f"{self.server_url}/{db}")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    @property
    def dsn(self) -> str:
        return f"{self.server_url}/{self.db_name}"

    def sa_url(self) -> str:
        return self.dsn.replace("postgresql://", "postgresql+psycopg2://", 1)

    def raw_connect(self) -> Any:
        return psycopg2.connect(self.dsn)

    def grow(self, lo: int, hi: int) -> None:
        a_cols = ", ".join(ASSET_COLS)
        l_cols = ", ".join(LISTING_COLS)
        with self.raw.cursor() as cur:
            cur.execute("SET LOCAL jit = off")  # compiling these long expressions costs seconds
            cur.execute("DROP TABLE IF EXISTS bench_rows")
            # The bounds are formatted in (ints): the SQL is full of % operators, no driver parameters.
            sql = self.rows_sql.replace("%(lo)s", str(int(lo))).replace("%(hi)s", str(int(hi)))
            cur.execute("CREATE TEMP TABLE bench_rows AS " + sql)
            cur.execute(f"INSERT INTO assets ({a_cols}) SELECT {', '.join('a_' + c for c in ASSET_COLS)} "
                        "FROM bench_rows ORDER BY a_id")
            cur.execute(f"INSERT INTO listings ({l_cols}, search_text) "
                        f"SELECT {', '.join('l_' + c for c in LISTING_COLS)}, "
                        # listings.service.lifecycle._search_text, in SQL
                        "lower(r.l_title || ' ' || r.l_description || ' ' || r.a_title || ' ' || r.a_summary || ' ' "
                        "|| coalesce(r.a_number, '') || ' ' || r.a_technical_field || ' ' || p.name || ' ' || r.l_ref) "
                        "FROM bench_rows r JOIN parties p ON p.id = r.l_seller_party_id ORDER BY r.l_id")
            cur.execute("DROP TABLE bench_rows")
            for t in ("parties", "users", "assets", "listings"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")
        self.raw.commit()
        self.size = hi

    def analyze(self) -> None:
        self.raw.autocommit = True
        with self.raw.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) assets")
            cur.execute("VACUUM (ANALYZE) listings")
            cur.execute("CHECKPOINT")
        self.raw.autocommit = False

    def explain(self, statements: list[tuple[str, Any]]) -> str:
        out = []
        with self.raw.cursor() as cur:
            for stmt, params in statements:
                cur.execute("EXPLAIN (FORMAT JSON) " + stmt, params)
                out.append(summarise_pg_plan(cur.fetchone()[0][0]["Plan"]))
        self.raw.rollback()
        return " | ".join(out)

    def sample_check(self, ids: list[int]) -> list[str]:
        """Compare some rows written by SQL with the Python generator."""
        from listings.models import Asset, Listing

        problems = []
        with self.db.sessionmaker() as s:
            for i in ids:
                a_py, l_py = catalogue_row(i, self.parties)
                lst = s.get(Listing, i)
                ast = s.get(Asset, i)
                if lst is None or ast is None:
                    problems.append(f"row {i} missing")
                    continue
                for k, v in a_py.items():
                    if getattr(ast, k) != v and not (k == "kind" and getattr(ast, k).value == v):
                        problems.append(f"asset {i}.{k}: SQL {getattr(ast, k)!r} != Python {v!r}")
                for k, v in {**l_py}.items():
                    got = getattr(lst, k)
                    got = got.value if hasattr(got, "value") else got
                    if got != v:
                        problems.append(f"listing {i}.{k}: SQL {got!r} != Python {v!r}")
        return problems[:20]

    def version(self) -> str:
        with self.raw.cursor() as cur:
            cur.execute("SELECT current_setting('server_version'), current_setting('lc_ctype'), "
                        "current_setting('lc_collate')")
            v, ctype, coll = cur.fetchone()
        self.raw.rollback()
        return f"PostgreSQL {v} (LC_CTYPE {ctype}, LC_COLLATE {coll})"

    def close(self) -> None:
        super().close()
        if not self.keep:
            self.admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # -- pg_trgm
    def trgm_create(self) -> float:
        self.raw.autocommit = True
        t0 = time.perf_counter()
        with self.raw.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cur.execute(f"CREATE INDEX {TRGM_INDEX} ON listings USING gin (search_text gin_trgm_ops)")
            elapsed = time.perf_counter() - t0
            cur.execute("ANALYZE listings")
            cur.execute(f"SELECT pg_relation_size('{TRGM_INDEX}'), pg_relation_size('listings')")
            self.trgm_sizes = cur.fetchone()
        self.raw.autocommit = False
        return elapsed

    def trgm_drop(self) -> None:
        self.raw.autocommit = True
        with self.raw.cursor() as cur:
            cur.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
            cur.execute("ANALYZE listings")
        self.raw.autocommit = False

    def trgm_probe(self) -> list[str]:
        """What pg_trgm extracts from Chinese text here, and in a database with LC_CTYPE 'C'."""
        text = "一种工业机器人关节减速器"
        lines = []
        with self.raw.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cur.execute("SELECT current_setting('lc_ctype'), array_length(show_trgm(%s), 1), "
                        "array_length(show_trgm('机器人'), 1), array_length(show_trgm('芯片'), 1)", (text,))
            ctype, n, n3, n2 = cur.fetchone()
        self.raw.commit()
        lines.append(f"LC_CTYPE {ctype}: show_trgm('{text}') has {n or 0} trigrams; "
                     f"'机器人' {n3 or 0}, '芯片' {n2 or 0} (CJK characters count as word characters)")
        probe = self.db_name + "_ctype_c"
        try:
            self.admin(f'DROP DATABASE IF EXISTS "{probe}"')
            self.admin(f"CREATE DATABASE \"{probe}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
            self.admin("CREATE EXTENSION IF NOT EXISTS pg_trgm", db=probe)
            (n_c,), = self.admin(f"SELECT coalesce(array_length(show_trgm('{text}'), 1), 0)", db=probe)
            lines.append(f"LC_CTYPE C: show_trgm('{text}') has {n_c} trigrams (non-ASCII characters are not "
                         "word characters: the index has nothing to look up for Chinese keywords)")
        finally:
            self.admin(f'DROP DATABASE IF EXISTS "{probe}"')
        return lines

    # -- candidate indexes
    def create_index(self, ddl: str) -> None:
        self.raw.autocommit = True
        with self.raw.cursor() as cur:
            cur.execute(ddl)
            cur.execute("ANALYZE listings")
            cur.execute("ANALYZE assets")
        self.raw.autocommit = False

    def drop_index(self, name: str) -> None:
        self.create_index(f"DROP INDEX IF EXISTS {name}")


def summarise_pg_plan(plan: dict[str, Any]) -> str:
    """The scan nodes of a plan: ``Seq Scan listings``, ``Bitmap Index Scan ix_...``."""
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        kind = node["Node Type"]
        if "Scan" in kind:
            target = node.get("Index Name") or node.get("Relation Name") or ""
            label = f"{kind} {target}".strip()
            if label not in found:
                found.append(label)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return ", ".join(found)


# =========================================================================== printing
def ms(x: float) -> str:
    return "-" if x != x else (f"{x * 1000:.1f}" if x >= 0.001 else f"{x * 1000:.2f}")


def kilo(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def ratio(a: float, b: float) -> str:
    return "-" if not b or a != a or b != b else f"{a / b:.2f}"


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    align = align or "l" + "r" * (len(headers) - 1)

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) if a == "l" else str(c).rjust(w)
                                 for c, w, a in zip(cells, widths, align)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, align)) + "|"
    return "\n".join([fmt(headers), sep, *(fmt(r) for r in rows)])


# =========================================================================== main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="catalogue sizes, ascending (default %(default)s)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--reps", type=int, default=30, help="timed runs per query and path (default %(default)s)")
    ap.add_argument("--db-url", default=os.environ.get("BENCH_DB_URL", "postgresql://postgres@127.0.0.1:5432"))
    ap.add_argument("--db-name", default="exchange_bench_search")
    ap.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database at the end")
    ap.add_argument("--no-trgm", action="store_true", help="skip the pg_trgm measurements")
    ap.add_argument("--no-candidates", action="store_true", help="skip the candidate-index measurements")
    args = ap.parse_args()
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not sizes or sizes[0] < 1 or sizes[-1] > 9_999_999 or set(backends) - {"sqlite", "postgresql"}:
        ap.error("sizes are 1..9,999,999; backends are sqlite and postgresql")

    from exchange.model_registry import load_all_models

    load_all_models()
    cases = query_cases()
    problems: list[str] = []
    results: dict[tuple[str, int], dict[str, Timing]] = {}
    trgm: dict[int, dict[str, Timing]] = {}
    trgm_info: dict[int, tuple[float, tuple[int, int]]] = {}
    trgm_probe: list[str] = []
    candidates: dict[tuple[str, str], dict[str, Timing]] = {}
    base_plans: dict[tuple[str, int], dict[str, str]] = {}
    versions: dict[str, str] = {}
    load_s: dict[tuple[str, int], float] = {}

    log(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLAlchemy {sa.__version__}, "
        f"load {os.getloadavg()[0]:.2f}")
    log(f"sizes {', '.join(f'{s:,}' for s in sizes)}; backends {', '.join(backends)}; {args.reps} timed runs per "
        f"query and path; page size {PER_PAGE}")
    t_start = time.perf_counter()
    for bname in backends:
        backend: Backend = SqliteBackend() if bname == "sqlite" else PostgresBackend(args.db_url, args.db_name,
                                                                                     args.keep_db)
        try:
            versions[bname] = backend.version()
            log(f"\n== {versions[bname]} (load average {os.getloadavg()[0]:.2f})")
            if isinstance(backend, PostgresBackend) and not args.no_trgm:
                trgm_probe = backend.trgm_probe()
            done = 0
            for size in sizes:
                t0 = time.perf_counter()
                backend.grow(done + 1, size)
                backend.analyze()
                load_s[(bname, size)] = time.perf_counter() - t0
                log(f"{size:,} listings: loaded {size - done:,} rows in {load_s[(bname, size)]:.1f} s")
                done = size
                if isinstance(backend, PostgresBackend):
                    step = max(1, size // 97)
                    sample = sorted({1, size, *range(1, size + 1, step)})
                    bad = backend.sample_check(sample)
                    problems += [f"postgresql sample: {b}" for b in bad]
                    log(f"  sample of {len(sample)} rows matches the Python generator: {'yes' if not bad else 'NO'}")
                t0 = time.perf_counter()
                res = backend.measure(cases, args.reps, plans=True, problems=problems)
                results[(bname, size)] = res
                base_plans[(bname, size)] = {k: t.plan for k, t in res.items()}
                log(f"  measured in {time.perf_counter() - t0:.1f} s (load average {os.getloadavg()[0]:.2f})")
                for c in cases:
                    t = res[c.key]
                    log(f"    {c.label:<48} total {t.total:>6,}  ORM p50 {ms(p50(t.orm)):>7} ms  raw p50 "
                        f"{ms(p50(t.raw)):>7} ms")
                if isinstance(backend, PostgresBackend) and not args.no_trgm:
                    build = backend.trgm_create()
                    trgm_info[size] = (build, backend.trgm_sizes)
                    try:
                        trgm[size] = backend.measure(cases, args.reps, plans=True, problems=problems)
                    finally:
                        backend.trgm_drop()
                    for c in cases:
                        if trgm[size][c.key].total != res[c.key].total:
                            problems.append(f"pg_trgm {size} {c.key}: {trgm[size][c.key].total} != {res[c.key].total}")
                    log(f"  with pg_trgm GIN index (built in {build:.1f} s): measured")
            if not args.no_candidates:
                size = sizes[-1]
                for name, ddl in candidate_indexes(bname):
                    backend.create_index(ddl)
                    try:
                        candidates[(bname, name)] = backend.measure(cases, args.reps, raw=False, plans=True,
                                                                    problems=problems)
                    finally:
                        backend.drop_index(name)
                    log(f"  candidate index {name}: measured")
        finally:
            backend.close()

    # answers agree across backends
    if {"sqlite", "postgresql"} <= set(backends):
        for size in sizes:
            for c in cases:
                a, b = results[("sqlite", size)][c.key], results[("postgresql", size)][c.key]
                if a.total != b.total:
                    problems.append(f"{size} {c.key}: SQLite finds {a.total}, PostgreSQL {b.total}")
                elif a.page_ids != b.page_ids:
                    problems.append(f"{size} {c.key}: first pages differ between backends")

    report(args, sizes, backends, cases, results, trgm, trgm_info, trgm_probe, candidates, base_plans, versions,
           load_s)
    log(f"\nwall time {time.perf_counter() - t_start:.0f} s")
    if problems:
        log("\nPROBLEMS:")
        for p in problems:
            log(f"  {p}")
        return 1
    log("checks: PostgreSQL rows match the Python generator; ORM and raw counts agree; SQLite and PostgreSQL "
        "find the same listings" + (" and the same first pages" if len(backends) == 2 else ""))
    return 0


def candidate_indexes(backend: str) -> list[tuple[str, str]]:
    order = "published_at DESC NULLS LAST, id DESC" if backend == "postgresql" else "published_at DESC, id DESC"
    return [
        ("bench_ix_listings_published_at_id", f"CREATE INDEX bench_ix_listings_published_at_id ON listings ({order})"),
        ("bench_ix_assets_kind_field", "CREATE INDEX bench_ix_assets_kind_field ON assets (kind, technical_field)"),
    ]


def report(args, sizes, backends, cases, results, trgm, trgm_info,  # type: ignore[no-untyped-def]
           trgm_probe, candidates, base_plans, versions, load_s) -> None:
    log("\n" + "=" * 100)
    log("CATALOGUE SEARCH: ORM path (search_catalogue: count + first page of 20, one session) vs the same")
    log(f"statements on a bare DBAPI connection; milliseconds per request; {args.reps} timed runs each.")
    log("Wall clock p50/p95; 'CPU' is the p50 CPU time of this process per request (SQLite: all the work;")
    log("PostgreSQL: the client's share only), which other load on the machine disturbs less than the wall clock.")
    for b in backends:
        log(f"\n{versions[b]}")
        for size in sizes:
            res = results[(b, size)]
            rows = []
            for c in cases:
                t = res[c.key]
                rows.append([c.label, f"{t.total:,}", ms(p50(t.orm)), ms(p95(t.orm)), ms(p50(t.raw)), ms(p95(t.raw)),
                             ratio(p50(t.orm), p50(t.raw)), ms(p50(t.orm_cpu)), ms(p50(t.raw_cpu)),
                             ratio(p50(t.orm_cpu), p50(t.raw_cpu))])
            log(f"\n{b}, {size:,} listings (loaded in {load_s[(b, size)]:.1f} s)")
            log(table(["query", "matches", "ORM p50", "ORM p95", "raw p50", "raw p95", "ORM/raw", "ORM CPU",
                       "raw CPU", "CPU ratio"], rows))
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        log(f"\nGROWTH: ORM p50 in ms by catalogue size; ratio {hi:,}/{lo:,} (the catalogue is {hi / lo:.0f}x)")
        for b in backends:
            rows = []
            for c in cases:
                vals = [p50(results[(b, s)][c.key].orm) for s in sizes]
                rows.append([c.label, *(ms(v) for v in vals), ratio(vals[-1], vals[0])])
            log(f"\n{b}")
            log(table(["query", *(f"{s:,}" for s in sizes), f"{kilo(hi)}/{kilo(lo)}"], rows))
    if trgm:
        log("\nPOSTGRESQL pg_trgm: GIN index on listings.search_text (gin_trgm_ops); ORM p50/p95 in ms")
        for line in trgm_probe:
            log(f"  {line}")
        for size in sizes:
            if size not in trgm:
                continue
            build, (isize, tsize) = trgm_info[size]
            log(f"\n{size:,} listings: index built in {build:.1f} s, {isize / 2**20:.1f} MiB (table "
                f"{tsize / 2**20:.1f} MiB)")
            rows = []
            for c in cases:
                a, t = results[("postgresql", size)][c.key], trgm[size][c.key]
                rows.append([c.label, ms(p50(a.orm)), ms(p95(a.orm)), ms(p50(t.orm)), ms(p95(t.orm)),
                             ratio(p50(t.orm), p50(a.orm))])
            log(table(["query", "no index p50", "p95", "pg_trgm p50", "p95", "with/without"], rows))
        size = max(trgm)
        log(f"\nplans at {size:,} (count | page), without -> with the trigram index:")
        for c in cases:
            if c.keyword:
                log(f"  {c.label}:\n      {base_plans[('postgresql', size)][c.key]}\n   -> {trgm[size][c.key].plan}")
    if candidates:
        log(f"\nCANDIDATE INDEXES at {sizes[-1]:,} listings: ORM p50 in ms without / with, and the plan with")
        for b in backends:
            names = [n for (bb, n) in candidates if bb == b]
            if not names:
                continue
            rows = []
            for c in cases:
                base = p50(results[(b, sizes[-1])][c.key].orm)
                row = [c.label, ms(base)]
                for n in names:
                    v = p50(candidates[(b, n)][c.key].orm)
                    row += [ms(v), ratio(v, base)]
                rows.append(row)
            headers = ["query", "without"]
            for n in names:
                short = n.replace("bench_ix_", "")
                headers += [short, "ratio"]
            log(f"\n{b}")
            log(table(headers, rows))
            for n in names:
                log(f"  plans with {n}:")
                for c in cases:
                    log(f"    {c.key:<10} {candidates[(b, n)][c.key].plan}")
            log("  plans without:")
            for c in cases:
                log(f"    {c.key:<10} {base_plans[(b, sizes[-1])][c.key]}")


if __name__ == "__main__":
    sys.exit(main())
