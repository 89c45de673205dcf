"""The inbox: a member reads its own party's notices, through the API and on the web, in its language."""
from __future__ import annotations

import pytest

from tests.factories import auth
from tests.helpers import (
    assert_problem,
    cast_with_published_listing,
    ok,
    qualified_buyer,
)


@pytest.fixture()
def c(client, session, clock):  # type: ignore[no-untyped-def]
    return cast_with_published_listing(client, session, clock)


def test_a_member_reads_its_own_notices(client, c):
    reg = qualified_buyer(client, c.t1, c.to, c.ref)
    page = ok(client.get("/api/v1/me/notices?lang=en", headers=auth(c.t1)))
    assert page["meta"]["total"] == 1
    [n] = page["items"]
    assert n["topic"] == "registration.qualified" and n["subject"] == f"You are qualified to buy {c.ref}"
    assert n["link"] == f"/my/registrations#{reg['ref']}" and n["emailed_at"] is None
    assert ok(client.get("/api/v1/me/notices?lang=zh", headers=auth(c.t1)))["items"][0]["subject"].startswith("您已取得")
    # Nobody else sees it.
    assert ok(client.get("/api/v1/me/notices", headers=auth(c.t2)))["items"] == []
    assert ok(client.get("/api/v1/me/notices", headers=auth(c.ts)))["items"] == []


def test_the_inbox_is_for_members(client, c):
    assert_problem(client.get("/api/v1/me/notices"), 401, "not_authenticated")
    assert_problem(client.get("/api/v1/me/notices", headers=auth(c.to)), 403, "forbidden_role")
    for bad in ("page=0", "per_page=1000", "page=x", "pgae=2"):
        r = client.get(f"/api/v1/me/notices?{bad}", headers=auth(c.t1))
        assert r.status_code == 422 and r.get_json()["code"], bad


def test_the_inbox_page_pages_through_notices(app, client, session, clock, c):
    from exchange.models import User
    from exchange.notifications import notify
    from tests.web.test_listings_pages import client_for, page_of

    buyer = session.get(User, c.b1.id)
    for i in range(25):
        notify(session, party_id=buyer.party_id, topic="registration.qualified", clock=clock,
               params={"registration": f"R2026-{i:06d}", "listing": f"L2026-{i:06d}", "title": f"标题{i}"})
    session.commit()
    web = client_for(app, buyer)
    first = page_of(web.get("/my/notices?lang=en"))
    assert 'href="/my/notices"' in page_of(web.get("/?lang=en"))  # in the members' top bar
    assert "L2026-000024" in first and "L2026-000004" not in first and "Page 1 of 2" in first
    second = page_of(web.get("/my/notices?page=2&lang=en"))
    assert "L2026-000004" in second and "L2026-000024" not in second
    assert page_of(web.get("/my/notices?page=abc&lang=en")).count("L2026-0000") == 20
    assert client_for(app, session.get(User, c.op.id)).get("/my/notices").status_code == 403
