"""Property tests of the record parser (issue 8): whatever JSON arrives, validation either
returns a normalised record or field errors; never another exception, never a record that
would validate differently the second time."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blacklist.records import RecordValidationError, canonical_json, validate_record
from tests.factories import PERSON, UNIT, accident, penalty, person, unit

TODAY = dt.date(2026, 11, 28)
KEY = b"k"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)
FIELDS = ("type", "record_id", "status", "subject", "occurred_on", "deaths", "serious_injuries",
          "direct_loss_cny", "grade", "decided_on", "document_no", "authority", "violations",
          "fine_cny", "accident_id", "executed", "responsibility")


def outcome(raw: Any) -> Any:
    try:
        return validate_record(raw, today=TODAY, id_key=KEY)
    except RecordValidationError as exc:
        assert exc.errors and all(isinstance(v, list) and v for v in exc.errors.values())
        return exc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_is_a_record_or_field_errors(raw: Any) -> None:
    outcome(raw)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["accident", "penalty", "person"]), st.sampled_from(FIELDS), json_values)
def test_one_field_replaced_by_anything(base: str, field: str, value: Any) -> None:
    raw = (accident() if base == "accident" else penalty() if base == "penalty"
           else penalty(subject=person(PERSON)))
    raw[field] = value
    result = outcome(raw)
    if isinstance(result, RecordValidationError):
        return
    assert PERSON not in canonical_json(result.data)  # an identity number is never kept whole
    if result.data["subject"]["kind"] != "person" and not result.data["subject"].get("main_person"):
        # a unit's record that passed is stable: its own normal form validates to the same
        # record (a person's normal form holds only hash and mask, so it is not input again)
        again = validate_record(json.loads(canonical_json(result.data)), today=TODAY, id_key=KEY)
        assert again.content_hash == result.content_hash


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["kind", "name", "uscc", "id_number", "industry", "main_person"]),
                       json_values, max_size=6))
def test_any_subject_object(subject: dict[str, Any]) -> None:
    outcome(accident(subject=subject))
    outcome(accident(subject={**unit(UNIT), **subject}))
