"""Identity numbers never appear whole in logs, errors or public output."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from blacklist.redact import RedactingFilter, redact
from tests.conftest import Client
from tests.factories import PERSON, penalty, person


def test_redact_masks_identity_numbers_and_leaves_codes() -> None:
    assert redact(f"x {PERSON} y") == f"x {PERSON[:6]}********{PERSON[-4:]} y"
    assert redact("91110000710924945A") == "91110000710924945A"


def test_the_log_filter_masks_formatted_messages() -> None:
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "asked about %s", (PERSON,), None)
    assert RedactingFilter().filter(record) is True
    assert PERSON not in record.getMessage() and PERSON[-4:] in record.getMessage()


def test_an_identity_number_sent_as_a_code_is_not_echoed(client: Client, token: Any) -> None:
    response = client.get("/api/v1/eligibility", token("officer"), params={"uscc": PERSON, "domain": "land"})
    assert response.status_code == 422 and PERSON not in response.text


def test_an_identity_number_typed_into_the_name_search_is_echoed_masked(client: Client, token: Any) -> None:
    response = client.get("/api/v1/subjects", token("officer"), params={"name": PERSON})
    assert response.status_code == 200 and PERSON not in response.text
    assert response.json()["query"] == redact(PERSON)


FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


@pytest.mark.parametrize("sent", ["\t" + PERSON, "\u00a0" + PERSON, PERSON.translate(FULL_WIDTH),
                                  f"{PERSON[:6]} {PERSON[6:14]} {PERSON[14:]}", PERSON.lower() + "\n"])
def test_an_identity_number_sent_as_a_code_in_any_dress_is_echoed_masked(client: Client, token: Any,
                                                                          sent: str) -> None:
    bad = penalty("P1", subject={"kind": "unit", "name": "x", "uscc": sent})
    response = client.post("/api/v1/records", token("system"), json=[bad])
    [rejected] = response.json()["rejected"]
    message = rejected["errors"]["subject.uscc"][0]
    assert PERSON[:6] + "********" + PERSON[-4:] in message.upper()
    for form in (PERSON, PERSON.translate(FULL_WIDTH), PERSON[6:14]):
        assert form not in response.text
    checked = client.post("/api/v1/eligibility", token("officer"), json={"subject": {"uscc": sent}, "domain": "land"})
    assert checked.status_code == 422 and PERSON[6:14] not in checked.text and PERSON.translate(FULL_WIDTH)[6:14] not in checked.text


def test_record_errors_and_stored_history_never_hold_the_number(client: Client, token: Any) -> None:
    t = token("system")
    bad = penalty("P1", subject={"kind": "unit", "name": "x", "uscc": PERSON})
    response = client.post("/api/v1/records", t, json=[bad, penalty("P2", subject=person())])
    assert response.status_code == 200 and PERSON not in response.text
    reg = token("regulator")
    history = client.get("/api/v1/cases", reg).text
    assert PERSON not in history


def test_the_suite_log_scan_finds_a_clear_number_and_passes_a_masked_one() -> None:
    from blacklist.identifiers import make_valid_id_number, mask_id_number
    from tests.log_leaks import leaks

    number = make_valid_id_number("11010519491231002")
    lines = [f"web INFO GET /api/v1/subjects?id={number} 200", f"x INFO {mask_id_number(number)}",
             "x INFO 91110000MA0000000X and 2026-11-28", f"x INFO {redact(number)}"]
    assert leaks(lines) == [lines[0]]
