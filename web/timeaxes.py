"""The two time axes every read takes: `as_of` (a day) and `known_at` (a moment)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from blacklist.clock import now, today
from blacklist.errors import InvalidInputError
from web.context import settings


def axes(args: dict[str, Any]) -> tuple[dt.date, dt.datetime]:
    as_of = args.get("as_of") or today(settings().timezone)
    known_at = args.get("known_at") or now()
    if known_at > now() + dt.timedelta(minutes=5):
        raise InvalidInputError("known_at is in the future", errors={"known_at": ["must not be in the future"]})
    return as_of, known_at.astimezone(dt.timezone.utc)
