"""Period arithmetic of api.md: calendar months with clamping, inclusive last days."""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta


def add_months(day: dt.date, months: int) -> dt.date:
    """The same calendar day `months` later, clamped to the month's last day."""
    shifted: dt.date = day + relativedelta(months=months)
    return shifted


def period_end(start: dt.date, months: int) -> dt.date:
    """Last day in force of a period of `months` starting on `start` (2024-09-20, 36 → 2027-09-19)."""
    return add_months(start, months) - dt.timedelta(days=1)
