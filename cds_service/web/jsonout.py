"""JSON out of the service (responses and log lines), written by orjson.

The stdlib encoder was a visible share of a small hook call's CPU; orjson writes the same JSON
(keys in the order built, no NaN) several times faster. Anything orjson cannot write natively
(a date in a log field) is written as its str(), as the stdlib path did.
"""
from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


class JsonProvider(DefaultJSONProvider):
    """Flask's provider with orjson for writing; reading stays Flask's (the service parses what
    it is sent with core/jsonin.py, never with request.get_json)."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        # dates and dataclasses go to Flask's default, so they are written as before
        return orjson.dumps(obj, default=self.default, option=_AS_FLASK).decode()


_AS_FLASK = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
