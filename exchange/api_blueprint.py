"""The blueprint every JSON API package registers its routes on.

flask-smorest's ``Blueprint`` with two changes. Query parameters that no schema declares are
refused (422, naming them), as unknown JSON fields already are. And an argument schema given
as a class is instantiated once, when the route is declared. webargs would otherwise build a new schema
instance (deep-copying its declared fields) on every request; on the bid endpoint that was
a few per cent of the CPU of each bid. marshmallow schemas keep no per-call state, so one
instance serves every request and thread.
"""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict


#: Query parameters every route accepts and ignores: the language choice the pages use (the API
#: answers in English whatever it says), so a URL carried over from a page is not refused.
IGNORED_QUERY_PARAMETERS = frozenset({"lang"})


class _Parser(FlaskParser):
    def load_querystring(self, req, schema):  # type: ignore[no-untyped-def]
        args = req.args
        if IGNORED_QUERY_PARAMETERS.intersection(args):
            args = MultiDict([(k, v) for k, v in args.items(multi=True) if k not in IGNORED_QUERY_PARAMETERS])
        return self._makeproxy(args, schema)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = _Parser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        if isinstance(schema, type) and issubclass(schema, ma.Schema):
            schema = schema()
        if kwargs.get("location") in ("query", "querystring"):
            # webargs drops unknown query parameters whatever the schema says (it loads them with
            # EXCLUDE); a misspelt filter would then quietly return the unfiltered list.
            kwargs.setdefault("unknown", ma.RAISE)
        return super().arguments(schema, *args, **kwargs)
