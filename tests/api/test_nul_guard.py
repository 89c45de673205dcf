"""NUL characters anywhere in a request are refused with a clear code, never a 500 (PostgreSQL
cannot store them, so without the guard they failed deep inside queries)."""
from __future__ import annotations

import pytest

from tests.helpers import assert_problem


@pytest.mark.parametrize("path", ["/api/v1/listings/L2026%00-1", "/api/v1/listings?q=a%00b",
                                  "/api/v1/auctions/AU%00", "/listings/a%00b"])
def test_nul_in_path_or_query_is_refused(client, path):
    r = client.get(path, headers={"Accept": "application/json"})
    assert_problem(r, 422, "invalid_characters")


def test_nul_in_json_body_is_refused(client):
    r = client.post("/api/v1/auth/token", data='{"email": "a\\u0000@example.com", "password": "x"}',
                    content_type="application/json")
    assert_problem(r, 422, "invalid_characters")
