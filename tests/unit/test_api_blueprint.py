"""The API blueprint builds each argument schema once, at declaration, and still validates with it."""
from __future__ import annotations

import marshmallow as ma
from flask import Flask
from flask_smorest import Api

from exchange.api_blueprint import ApiBlueprint


class _Counted(ma.Schema):
    built = 0
    amount = ma.fields.Integer(required=True, strict=True)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        type(self).built += 1
        super().__init__(*args, **kwargs)


def _app() -> Flask:
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    bp = ApiBlueprint("t", __name__)

    @bp.route("/echo", methods=["POST"])
    @bp.arguments(_Counted)
    def echo(data):  # type: ignore[no-untyped-def]
        return {"amount": data["amount"]}

    Api(app).register_blueprint(bp)
    return app


def test_argument_schema_is_built_once_and_validates_every_request() -> None:
    _Counted.built = 0
    client = _app().test_client()
    built_at_declaration = _Counted.built
    assert built_at_declaration >= 1
    for n in range(3):
        assert client.post("/echo", json={"amount": n}).get_json() == {"amount": n}
    bad = client.post("/echo", json={"amount": "12"})
    assert bad.status_code == 422
    assert "amount" in bad.get_json()["errors"]["json"]
    assert _Counted.built == built_at_declaration  # no instance per request
