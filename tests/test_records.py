"""Every validation rule of records.md, each with a bad example and the error it gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from blacklist.identifiers import make_valid_id_number
from blacklist.records import RecordValidationError, validate_record
from tests.factories import PERSON, accident, penalty, person, unit

TODAY = dt.date(2026, 11, 28)
KEY = b"k"


def errors_of(rec: Any) -> dict[str, list[str]]:
    with pytest.raises(RecordValidationError) as info:
        validate_record(rec, today=TODAY, id_key=KEY)
    return info.value.errors


def ok(rec: Any) -> dict[str, Any]:
    return validate_record(rec, today=TODAY, id_key=KEY).data


def test_the_example_of_records_md_is_valid() -> None:
    data = ok(accident("ACC-610400-2024-0007", deaths=11, serious_injuries=3, direct_loss_cny=32_000_000,
                       subject=unit(main_person={"name": "张某", "id_number": "11010519491231002X"})))
    assert data["grade"] == "major"
    assert data["liability"] is True and data["reporting"] == "on_time" and data["status"] == "effective"
    main = data["subject"]["main_person"]
    assert main["id_number_masked"] == "110105********002X"
    assert "11010519491231002X" not in repr(data)


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"type": "fine"}, "type", '"fine" is not one of accident, penalty'),
        ({"type": None}, "type", "is required"),
        ({"record_id": ""}, "record_id", "must not be empty"),
        ({"record_id": None}, "record_id", "is required"),
        ({"record_id": 7}, "record_id", "must be a string"),
        ({"status": "void"}, "status", '"void" is not one of effective, revoked'),
        ({"subject": None}, "subject", "is required"),
        ({"subject": "acme"}, "subject", "must be an object"),
        ({"subject": {"kind": "firm", "name": "x", "uscc": "91110000710924945A"}}, "subject.kind", '"firm"'),
        ({"subject": {"kind": "unit", "name": "  ", "uscc": "91110000710924945A"}}, "subject.name", "must not be empty"),
        ({"subject": {"kind": "unit", "name": "甲" * 201, "uscc": "91110000710924945A"}}, "subject.name", "at most 200"),
        ({"subject": {"kind": "unit", "name": "x"}}, "subject.uscc", "is required for a subject of kind unit"),
        ({"subject": {"kind": "agency", "name": "x"}}, "subject.uscc", "is required for a subject of kind agency"),
        ({"subject": {"kind": "unit", "name": "x", "uscc": "91110000710924945B"}}, "subject.uscc", "expected 'A'"),
        ({"subject": {"kind": "unit", "name": "x", "uscc": "9111000071092494"}}, "subject.uscc", "18 characters"),
        ({"subject": {"kind": "unit", "name": "x", "uscc": "91110000710924945I"}}, "subject.uscc", "'I'"),
        ({"subject": {"kind": "unit", "name": "x", "uscc": "91110000710924945A", "industry": "banking"}},
         "subject.industry", '"banking" is not one of'),
        ({"subject": {"kind": "person", "name": "张某"}}, "subject.id_number", "is required"),
        ({"subject": {"kind": "person", "name": "张某", "id_number": PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")}},
         "subject.id_number", "expected"),
        ({"subject": {"kind": "person", "name": "张某", "id_number": make_valid_id_number("11010519491331002")}},
         "subject.id_number", "birth"),
        ({"subject": unit(main_person={"name": "李某"})}, "subject.main_person.id_number", "is required"),
        ({"subject": unit(main_person="李某")}, "subject.main_person", "must be an object"),
        ({"occurred_on": None}, "occurred_on", "is required"),
        ({"occurred_on": "2024/05/06"}, "occurred_on", "not a date in the form YYYY-MM-DD"),
        ({"occurred_on": "2024-02-30"}, "occurred_on", "not a real calendar date"),
        ({"occurred_on": "2026-11-29"}, "occurred_on", "in the future"),
        ({"deaths": None}, "deaths", "is required"),
        ({"deaths": -1}, "deaths", "negative"),
        ({"deaths": 1.5}, "deaths", "not an integer"),
        ({"serious_injuries": "3"}, "serious_injuries", "not an integer"),
        ({"direct_loss_cny": True}, "direct_loss_cny", "not an integer"),
        ({"grade": "huge"}, "grade", '"huge" is not one of'),
        ({"grade": "general", "deaths": 3}, "grade", 'lower than "larger"'),
        ({"liability": "yes"}, "liability", "not a boolean"),
        ({"reporting": "never"}, "reporting", '"never" is not one of'),
        ({"report_approved_on": "2024-13-01"}, "report_approved_on", "not a real calendar date"),
    ],
)
def test_accident_rules(change: dict[str, Any], field: str, fragment: str) -> None:
    rec = accident()
    rec.update(change)
    errors = errors_of(rec)
    assert field in errors, errors
    assert any(fragment in m for m in errors[field]), errors[field]


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"document_no": None}, "document_no", "is required"),
        ({"authority": None}, "authority", "is required"),
        ({"authority": "厅"}, "authority", "must be an object"),
        ({"authority": {"name": "厅", "region": "6100", "level": "province"}}, "authority.region", "6-digit"),
        ({"authority": {"name": "厅", "region": "610000", "level": "village"}}, "authority.level", '"village"'),
        ({"authority": {"region": "610000", "level": "city"}}, "authority.name", "is required"),
        ({"decided_on": None}, "decided_on", "is required"),
        ({"decided_on": "2027-01-01"}, "decided_on", "in the future"),
        ({"conduct_on": "2024-09-21"}, "conduct_on", "after the decision date"),
        ({"violations": []}, "violations", "non-empty"),
        ({"violations": None}, "violations", "is required"),
        ({"violations": ["permit.none", "jaywalking"]}, "violations[1]", '"jaywalking" is not a violation code'),
        ({"fine_cny": -5}, "fine_cny", "negative"),
        ({"fine_multiple": 1.5}, "fine_multiple", "outside 2–5"),
        ({"fine_multiple": 6}, "fine_multiple", "outside 2–5"),
        ({"fine_multiple": "3"}, "fine_multiple", "not a number"),
        ({"serious": 1}, "serious", "not a boolean"),
        ({"executed": "no"}, "executed", "not a boolean"),
        ({"accident_id": ""}, "accident_id", "must not be empty"),
    ],
)
def test_penalty_rules(change: dict[str, Any], field: str, fragment: str) -> None:
    rec = penalty()
    rec.update(change)
    errors = errors_of(rec)
    assert field in errors, errors
    assert any(fragment in m for m in errors[field]), errors[field]


def test_a_record_that_is_not_an_object() -> None:
    assert "" in errors_of(["not", "a", "record"])


def test_all_errors_of_a_record_are_reported_together() -> None:
    errors = errors_of(accident(deaths=-1, occurred_on="nope", reporting="x"))
    assert {"deaths", "occurred_on", "reporting"} <= set(errors)


def test_codes_are_normalised_before_they_are_stored() -> None:
    data = ok(penalty(subject=unit(code=" ９１１１００００７１０９２４９４５ａ ")))
    assert data["subject"]["uscc"] == "91110000710924945A"


def test_grade_is_derived_and_a_higher_stated_grade_is_kept() -> None:
    assert ok(accident(deaths=2, serious_injuries=9, direct_loss_cny=9_999_999))["grade"] == "general"
    assert ok(accident(deaths=3))["grade"] == "larger"
    assert ok(accident(deaths=0, serious_injuries=50))["grade"] == "major"
    assert ok(accident(direct_loss_cny=100_000_000))["grade"] == "especially_major"
    assert ok(accident(deaths=1, grade="major"))["grade"] == "major"


def test_fine_multiple_bounds_are_inclusive() -> None:
    assert ok(penalty(fine_multiple=2))["fine_multiple"] == 2.0
    assert ok(penalty(fine_multiple=5))["fine_multiple"] == 5.0


def test_person_records_hold_only_hash_and_mask() -> None:
    data = ok(penalty(subject=person()))
    subject = data["subject"]
    assert subject["id_number_masked"] == PERSON[:6] + "********" + PERSON[-4:]
    assert subject["key"].startswith("person:") and PERSON not in repr(data)


def test_unknown_optional_fields_do_not_break_a_record() -> None:
    ok(accident(weather="rain"))


def test_same_content_gives_same_hash_whatever_the_key_order() -> None:
    a = accident()
    b = dict(reversed(list(accident().items())))
    assert validate_record(a, today=TODAY, id_key=KEY).content_hash == validate_record(b, today=TODAY, id_key=KEY).content_hash


@pytest.mark.parametrize("rec", [
    accident(subject=unit(main_person=person())),
    penalty(subject=person(), fine_multiple=3, fine_cny=120_000, executed=False),
    penalty(subject=unit(name="Ｘ（咸阳）化工 有限公司"), violations=["permit.none", "accident.liability"]),
])
def test_a_valid_record_crosses_processes_as_its_text_and_reads_back_the_same(rec: dict[str, Any]) -> None:
    """An import validates in child processes: the pickle carries the canonical text (not the
    parsed form twice), and the parsed form read back from it equals the original."""
    import pickle

    valid = validate_record(rec, today=TODAY, id_key=KEY)
    wire = pickle.dumps(valid)
    back = pickle.loads(wire)
    assert len(wire) < len(valid.text.encode()) + 200
    assert (back.record_id, back.content_hash, back.text) == (valid.record_id, valid.content_hash, valid.text)
    assert back.data == valid.data and back == valid


@pytest.mark.parametrize("digits", ["６１００００", "٦١٠٠٠٠"])
def test_a_region_or_date_in_other_scripts_digits_is_refused(digits: str) -> None:
    """'a 6-digit division code', dates YYYY-MM-DD: ASCII digits (a regular expression's \\d
    and int() take Arabic-Indic and full-width ones too, and would store them as sent)."""
    rec = penalty(authority={"name": "陕西省应急管理厅", "region": digits, "level": "province"})
    assert "authority.region" in errors_of(rec)
    arabic_date = "2024-09-20".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert "decided_on" in errors_of(penalty(decided_on=arabic_date))


def test_a_person_born_on_the_day_the_record_is_checked_is_valid_that_day() -> None:
    """'not in the future' is judged against the validation's own today (Asia/Shanghai), not
    the host's clock, which runs eight hours behind on UTC machines."""
    born_tomorrow_by_host = make_valid_id_number("110105" + (dt.date.today() + dt.timedelta(days=1)).strftime("%Y%m%d") + "001")
    rec = penalty(subject=person(born_tomorrow_by_host))
    later = dt.date.today() + dt.timedelta(days=1)
    assert validate_record(rec, today=later, id_key=KEY).data["subject"]["id_number_masked"].endswith(
        born_tomorrow_by_host[-4:])
    with pytest.raises(RecordValidationError):
        validate_record(rec, today=dt.date.today(), id_key=KEY)


def test_messages_show_values_as_json_writes_them() -> None:
    """A client sent JSON: `true` and `null`, not Python's `True` and `None`."""
    assert errors_of({**penalty("PEN-1"), "type": True})["type"] == ["true is not one of accident, penalty"]
    assert errors_of({**accident("ACC-1"), "liability": None, "grade": 0})["grade"] == ["0 is not one of general, larger, major, especially_major"]


def test_an_identity_number_in_any_field_is_masked_in_the_message() -> None:
    """Personal data never comes back whole, even when sent in the wrong field."""
    number = "11010519491231002X"
    for dress in (number, f"\t{number}", number.replace("1", "１")):
        message = errors_of({**penalty("PEN-1"), "type": dress})["type"][0]
        assert "110105********002X" in message and "19491231" not in message and "１９４９" not in message
    assert errors_of({**penalty("PEN-1"), "type": 110105194912310020})["type"] == [
        "110105********0020 is not one of accident, penalty"]
