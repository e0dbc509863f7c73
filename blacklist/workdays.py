"""Working days on the PRC calendar, for procedural deadlines."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]

_ONE_DAY = dt.timedelta(days=1)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FILE_KEYS = ("holidays", "workdays")


class HolidayFileError(ValueError):
    """A holiday file that cannot be read or does not have the expected shape."""


@dataclass(frozen=True)
class Deadline:
    """A deadline date; provisional when it rests on a year with no announced holidays."""

    date: dt.date
    provisional: bool


@functools.lru_cache(maxsize=None)
def _library_workdays(year: int) -> frozenset[dt.date] | None:
    """The working days chinesecalendar knows for a year, or None for a year it does not cover."""
    first = dt.date(year, 1, 1)
    try:
        chinese_calendar.is_workday(first)
    except NotImplementedError:
        return None
    days = (first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days))
    return frozenset(d for d in days if chinese_calendar.is_workday(d))


class WorkdayCalendar:
    """The PRC working-day calendar, with holidays announced after chinesecalendar's release."""

    def __init__(
        self, extra_holidays: Iterable[dt.date] = (), extra_workdays: Iterable[dt.date] = ()
    ) -> None:
        self._holidays = frozenset(extra_holidays)
        self._workdays = frozenset(extra_workdays)
        both = sorted(self._holidays & self._workdays)
        if both:
            raise ValueError(f"{both[0].isoformat()} is listed both as a holiday and a workday")
        self._extra_years = frozenset(d.year for d in self._holidays | self._workdays)

    @classmethod
    def configured(cls, path: str | Path | None) -> WorkdayCalendar:
        """The calendar with a deployment's announced-holidays file, when it sets one."""
        return cls.from_file(path) if path else cls()

    @classmethod
    def from_file(cls, path: str | Path) -> WorkdayCalendar:
        """Load `{"holidays": ["YYYY-MM-DD", ...], "workdays": [...]}` from a JSON file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise HolidayFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HolidayFileError(f"{path}: not valid UTF-8 JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise HolidayFileError(f"{path}: expected a JSON object with 'holidays' and 'workdays'")
        unknown = sorted(set(data) - set(_FILE_KEYS))
        if unknown:
            raise HolidayFileError(
                f"{path}: unknown key {unknown[0]!r}; allowed: 'holidays', 'workdays'"
            )
        lists = {key: _read_dates(path, key, data.get(key, [])) for key in _FILE_KEYS}
        try:
            return cls(lists["holidays"], lists["workdays"])
        except ValueError as exc:
            raise HolidayFileError(f"{path}: {exc}") from exc

    def is_workday(self, d: dt.date) -> bool:
        """Whether people work on d: loaded data first, then chinesecalendar, then Monday–Friday."""
        if d in self._holidays:
            return False
        if d in self._workdays:
            return True
        known = _library_workdays(d.year)
        if known is not None:
            return d in known
        return d.weekday() < 5

    def is_provisional(self, d: dt.date) -> bool:
        """Whether d's year has no announced holidays, neither in chinesecalendar nor loaded."""
        return d.year not in self._extra_years and _library_workdays(d.year) is None

    def add_workdays(self, start: dt.date, n: int) -> Deadline:
        """The n-th working day after start; the day of notice itself does not count."""
        if n < 0:
            raise ValueError(f"number of working days must not be negative, got {n}")
        day, provisional = start, False
        while n:
            day += _ONE_DAY
            provisional = provisional or self.is_provisional(day)
            if self.is_workday(day):
                n -= 1
        return Deadline(day, provisional)

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Working days after a up to and including b; negative when b is before a."""
        if b < a:
            return -self.workdays_between(b, a)
        return sum(
            self.is_workday(a + dt.timedelta(days=i)) for i in range(1, (b - a).days + 1)
        )


def _read_dates(path: str | Path, key: str, value: object) -> list[dt.date]:
    if not isinstance(value, list):
        raise HolidayFileError(f"{path}: {key!r} must be a list of 'YYYY-MM-DD' dates")
    dates = []
    for index, entry in enumerate(value):
        where = f"{path}: {key}[{index}] = {json.dumps(entry, ensure_ascii=False)}"
        if not isinstance(entry, str) or not _ISO_DATE.fullmatch(entry):
            raise HolidayFileError(f"{where}: expected a date 'YYYY-MM-DD'")
        try:
            dates.append(dt.date.fromisoformat(entry))
        except ValueError:
            raise HolidayFileError(f"{where}: not a real calendar date") from None
    return dates
