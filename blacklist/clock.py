"""Today and now, in the zone the regulations count days in (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today(tz: str = "Asia/Shanghai") -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
