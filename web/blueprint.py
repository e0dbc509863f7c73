"""The API's blueprints: flask-smorest's, reading every request body as JSON."""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, with a body read as JSON whatever its Content-Type says.

    api.md: malformed JSON is a 400 and a well-formed body that breaks a rule a 422. The
    stock parser ignores a body sent without `Content-Type: application/json` and answers 422
    "missing field" for all of it; POST /records and /evaluations already read their bodies
    regardless of the header, and now every endpoint does.
    """

    def _raw_load_json(self, req: flask.Request) -> Any:
        data = req.get_data(cache=True)
        if not data.strip():
            return core.missing
        return core.parse_json(data)


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    ARGUMENTS_PARSER = JsonBodyParser()
