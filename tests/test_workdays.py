import datetime as dt
import json
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]
import pytest

from blacklist.workdays import Deadline, HolidayFileError, WorkdayCalendar

D = dt.date
CALENDAR = WorkdayCalendar()


def write(tmp_path: Path, content: object, name: str = "holidays-2027.json") -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


# --- the calendar itself (dates checked against chinesecalendar 1.11) -------------


def test_library_facts_this_suite_relies_on() -> None:
    assert chinese_calendar.is_workday(D(2024, 2, 4))  # Sunday, swapped working day
    assert chinese_calendar.is_workday(D(2024, 2, 18))  # Sunday, swapped working day
    assert chinese_calendar.is_workday(D(2024, 10, 12))  # Saturday, swapped working day
    assert not chinese_calendar.is_workday(D(2024, 2, 12))  # Monday, Spring Festival
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2024, 2, 4), True),  # Sunday worked for the Spring Festival
        (D(2024, 2, 9), True),  # Friday, Spring Festival eve, a working day in 2024
        (D(2024, 2, 10), False),  # Saturday, holiday
        (D(2024, 2, 15), False),  # Thursday, holiday
        (D(2024, 2, 18), True),  # Sunday worked
        (D(2024, 10, 1), False),  # Tuesday, National Day
        (D(2024, 10, 12), True),  # Saturday worked
        (D(2024, 10, 13), False),  # ordinary Sunday
    ],
)
def test_is_workday_follows_prc_calendar(day: dt.date, expected: bool) -> None:
    assert CALENDAR.is_workday(day) is expected
    assert not CALENDAR.is_provisional(day)


def test_five_working_days_from_friday_before_spring_festival() -> None:
    # 02-04 (Sunday, worked), 05, 06, 07, 08
    assert CALENDAR.add_workdays(D(2024, 2, 2), 5) == Deadline(D(2024, 2, 8), False)


def test_seven_working_days_cross_the_spring_festival() -> None:
    # ... 08, 09, then the holiday 10..17, then 18 (Sunday, worked)
    assert CALENDAR.add_workdays(D(2024, 2, 2), 7) == Deadline(D(2024, 2, 18), False)
    assert CALENDAR.add_workdays(D(2024, 2, 9), 1) == Deadline(D(2024, 2, 18), False)


def test_working_saturday_counts() -> None:
    # 10-09, 10, 11, 12 (Saturday, worked), 14
    assert CALENDAR.add_workdays(D(2024, 10, 8), 5).date == D(2024, 10, 14)
    assert CALENDAR.add_workdays(D(2024, 10, 11), 1).date == D(2024, 10, 12)


def test_national_day_week() -> None:
    assert CALENDAR.add_workdays(D(2024, 9, 27), 1).date == D(2024, 9, 29)  # Sunday, worked
    assert CALENDAR.add_workdays(D(2024, 9, 27), 2).date == D(2024, 9, 30)
    assert CALENDAR.add_workdays(D(2024, 9, 27), 3).date == D(2024, 10, 8)  # after 10-01..07


def test_day_of_notice_does_not_count() -> None:
    assert CALENDAR.add_workdays(D(2024, 3, 4), 1).date == D(2024, 3, 5)
    assert CALENDAR.add_workdays(D(2024, 3, 4), 0) == Deadline(D(2024, 3, 4), False)
    with pytest.raises(ValueError, match="must not be negative"):
        CALENDAR.add_workdays(D(2024, 3, 4), -1)


def test_workdays_between() -> None:
    assert CALENDAR.workdays_between(D(2024, 2, 2), D(2024, 2, 18)) == 7
    assert CALENDAR.workdays_between(D(2024, 2, 2), D(2024, 2, 17)) == 6
    assert CALENDAR.workdays_between(D(2024, 2, 2), D(2024, 2, 2)) == 0
    assert CALENDAR.workdays_between(D(2024, 2, 18), D(2024, 2, 2)) == -7


# --- years chinesecalendar does not cover -----------------------------------------


def test_2027_is_monday_to_friday_and_provisional() -> None:
    assert CALENDAR.is_provisional(D(2027, 3, 1))
    assert CALENDAR.is_workday(D(2027, 1, 1))  # a Friday; New Year's Day not known yet
    assert not CALENDAR.is_workday(D(2027, 1, 2))  # Saturday
    assert CALENDAR.add_workdays(D(2027, 3, 5), 5) == Deadline(D(2027, 3, 12), True)


def test_deadline_reaching_into_2027_is_provisional() -> None:
    # 2026-12-29, 30, 31, then 2027-01-01 (Friday), 2027-01-04 (Monday)
    assert CALENDAR.add_workdays(D(2026, 12, 28), 3) == Deadline(D(2026, 12, 31), False)
    assert CALENDAR.add_workdays(D(2026, 12, 28), 5) == Deadline(D(2027, 1, 4), True)


def test_holiday_file_covers_2027(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"holidays": ["2027-01-01", "2027-02-08", "2027-02-09"], "workdays": ["2027-02-06"]},
    )
    calendar = WorkdayCalendar.from_file(path)
    assert not calendar.is_provisional(D(2027, 1, 1))
    assert not calendar.is_workday(D(2027, 1, 1))
    assert calendar.is_workday(D(2027, 2, 6))  # a Saturday made a working day
    assert calendar.add_workdays(D(2026, 12, 28), 5) == Deadline(D(2027, 1, 5), False)
    assert calendar.add_workdays(D(2027, 2, 5), 2) == Deadline(D(2027, 2, 10), False)
    assert calendar.is_provisional(D(2028, 1, 3))


def test_extra_data_given_directly() -> None:
    calendar = WorkdayCalendar(extra_holidays=[D(2027, 1, 1)])
    assert not calendar.is_workday(D(2027, 1, 1))
    assert not calendar.is_provisional(D(2027, 6, 1))
    with pytest.raises(ValueError, match="2027-01-01 is listed both"):
        WorkdayCalendar([D(2027, 1, 1)], [D(2027, 1, 1)])


def test_empty_holiday_file_changes_nothing(tmp_path: Path) -> None:
    calendar = WorkdayCalendar.from_file(write(tmp_path, {}))
    assert calendar.is_provisional(D(2027, 1, 1))
    assert calendar.is_workday(D(2024, 2, 18))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid UTF-8 JSON"),
        ([], "expected a JSON object with 'holidays' and 'workdays'"),
        ({"holiday": []}, "unknown key 'holiday'; allowed: 'holidays', 'workdays'"),
        ({"holidays": "2027-01-01"}, "'holidays' must be a list of 'YYYY-MM-DD' dates"),
        ({"holidays": ["2027-01-01", 20270102]}, "holidays[1] = 20270102: expected a date"),
        ({"workdays": ["2027/02/06"]}, 'workdays[0] = "2027/02/06": expected a date'),
        ({"holidays": ["2027-02-30"]}, 'holidays[0] = "2027-02-30": not a real calendar date'),
        (
            {"holidays": ["2027-02-06"], "workdays": ["2027-02-06"]},
            "2027-02-06 is listed both as a holiday and a workday",
        ),
    ],
)
def test_bad_holiday_file(tmp_path: Path, content: object, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(HolidayFileError) as info:
        WorkdayCalendar.from_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_missing_holiday_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(HolidayFileError, match="absent.json: cannot read"):
        WorkdayCalendar.from_file(path)


def test_holiday_file_in_other_encoding(tmp_path: Path) -> None:
    path = tmp_path / "gbk.json"
    path.write_bytes('{"holidays": [], "备注": 1}'.encode("gbk"))
    with pytest.raises(HolidayFileError, match="not valid UTF-8 JSON"):
        WorkdayCalendar.from_file(path)


def test_a_bad_holidays_file_stops_the_start_not_a_request(settings, engine, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A deployment's file with an impossible date: the app and `blacklist serve` refuse to
    start with the file's own message, instead of the first notice answering 500."""
    import subprocess
    import sys
    from dataclasses import replace

    from tests.conftest import cli_env
    from web import create_app

    bad = tmp_path / "holidays.json"
    bad.write_text(json.dumps({"holidays": ["2027-02-30"]}), encoding="utf-8")
    with pytest.raises(HolidayFileError, match="not a real calendar date"):
        create_app(replace(settings, holidays_file=str(bad)))
    blacklist = str(Path(sys.executable).with_name("blacklist"))
    done = subprocess.run([blacklist, "serve", "--port", "0"], cwd=tmp_path, capture_output=True, text=True,
                          env=cli_env(settings.database_url, BLACKLIST_HOLIDAYS_FILE=str(bad)), timeout=60)
    assert done.returncode == 1 and "holidays[0]" in done.stderr and "not a real calendar date" in done.stderr
