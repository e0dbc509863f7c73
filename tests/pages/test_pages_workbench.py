"""The regulator's workbench in a real browser: a case from notice to listing, early removal
and restore, the deadline view, the publication status and the public list; and an officer
refused."""

from __future__ import annotations

from typing import Any, Callable

import requests

from tests.conftest import Client
from tests.factories import UNIT
from tests.pages.pages_helpers import sign_in
from tests.test_workflow import ingest, major_accident_records, unit_case


def submit(page: Any, form: str, fields: dict[str, str], choices: dict[str, str] | None = None) -> None:
    for name, value in fields.items():
        page.fill(f"{form} [name={name}]", value)
    for name, value in (choices or {}).items():
        page.check(f"{form} input[name={name}][value={value}]")
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state()


def test_a_case_from_notice_to_listing(page: Any, base: str, client: Client, tokens: dict[str, str],
                                       shoot: Callable[[Any, str], None]) -> None:
    reg = tokens["regulator"]
    ingest(client, tokens["system"], major_accident_records())  # the unit and its main person in charge
    case = unit_case(client, reg)
    sign_in(page, base, reg)

    page.goto(base + "/workbench")
    queue = page.locator("#queue tbody tr")
    assert queue.count() == 2 and "待告知" in queue.nth(0).inner_text()
    shoot(page, "workbench-queue")

    page.click(f"#queue a[href='/workbench/cases/{case['id']}']")
    page.click("summary:has-text('其他情形为何不适用')")  # folded, opens without JavaScript
    text = page.locator("main").inner_text()
    for expected in ("mem11.a1", "发生重大、特别重大生产安全责任事故", "ACC-A1", "PEN-A1", "死亡人数", "重大",
                     "其他情形为何不适用", "未达数量标准", "110105********002X"):
        assert expected in text, expected
    assert "11010519491231002X" not in page.content()

    submit(page, "#notice-form form", {"served_on": ""})  # the error stays next to the field
    assert page.locator("#served_on-error").inner_text() == "必填"
    submit(page, "#notice-form form", {"served_on": "2030-01-01"})
    assert "不能晚于今天" in page.locator("#served_on-error").inner_text()
    shoot(page, "case-field-error")
    submit(page, "#notice-form form", {"served_on": "2024-09-23"})
    assert "已登记告知书送达" in page.locator(".flash.ok").inner_text()
    assert "2024-09-29" in page.locator("main").inner_text()  # five working days, a swapped Sunday included

    decision = {"decided_on": "2024-09-25", "document_no": "陕应急信决〔2024〕1号", "reason": "重大责任事故"}
    submit(page, "#decision-form form", {**decision, "document_no": ""}, {"outcome": "list"})
    assert "须填写决定书文号" in page.locator("#document_no-error").inner_text()
    submit(page, "#decision-form form", decision, {"outcome": "list"})  # statement period still running
    refusal = page.locator("#decision-form .flash.error").inner_text()
    assert "陈述申辩期至 2024-09-29 止" in refusal and "2024-09-30" in refusal
    assert page.locator("#decided_on").input_value() == "2024-09-25"  # what was typed is kept
    shoot(page, "case-decision-refused")

    submit(page, "#decision-form form", {**decision, "decided_on": "2024-09-30"}, {"outcome": "list"})
    assert "已决定列入" in page.locator(".flash.ok").inner_text()
    assert "/workbench/listings/" in page.url
    timeline = page.locator("#timeline").inner_text()
    assert "列入" in timeline and "王科长" in timeline and "2027-09-29" in timeline
    shoot(page, "listing")

    removal = {"applied_on": "2025-09-29", "decided_on": "2025-10-10", "reason": "信用修复"}
    submit(page, "#early-removal-form form", removal, {"outcome": "granted"})
    assert "提前移出最早可于 2025-09-30 申请" in page.locator("#early-removal-form .flash.error").inner_text()
    submit(page, "#early-removal-form form", {**removal, "applied_on": "2025-09-30"}, {"outcome": "granted"})
    assert "行政处罚尚未履行完毕" in page.locator("#early-removal-form .flash.error").inner_text()
    shoot(page, "listing-removal-refused")
    ingest(client, tokens["system"], [major_accident_records(executed=True)[1]])  # the penalty is performed
    submit(page, "#early-removal-form form", {**removal, "applied_on": "2025-09-30"}, {"outcome": "granted"})
    assert "准予移出" in page.locator(".flash.ok").inner_text()
    assert "提前移出" in page.locator("#timeline").inner_text()

    submit(page, "#restore-form form", {"decided_on": "2025-12-01", "reason": ""})
    assert page.locator("#restore-form .field-error").inner_text() == "必填"
    submit(page, "#restore-form form", {"decided_on": "2025-12-01", "reason": "提前移出材料系伪造"})
    assert "恢复列入" in page.locator("#timeline").inner_text()
    assert "在效" in page.locator("h1").inner_text()
    shoot(page, "listing-restored")

    person = [c for c in client.get("/api/v1/cases", reg).json()["items"] if c["subject"]["kind"] == "person"][0]
    assert client.post(f"/api/v1/cases/{person['id']}/notice", reg, json={"served_on": "2024-09-23"}).ok
    page.goto(base + "/workbench/deadlines")
    overdue = page.locator("#statements tbody tr.red")
    assert overdue.count() == 1 and "待决定" in overdue.inner_text()
    assert "待发布到信用平台" in page.content()
    shoot(page, "deadlines")
    page.goto(base + "/workbench/publication")
    counts = page.locator("#publication-counts").inner_text()
    assert "待发布" in counts
    shoot(page, "publication")

    assert client.post(f"/api/v1/cases/{person['id']}/decision", reg, json={
        "outcome": "list", "decided_on": "2024-09-30", "document_no": "陕应急信决〔2024〕2号"}).ok
    page.goto(base + "/public")
    public = page.locator("#public").inner_text()
    assert UNIT in public and "张*" in public and "110105********002X" in public and "张某" not in public
    shoot(page, "public-list")
    page.fill("#q", "咸阳")
    page.click("form button:has-text('查询')")
    assert page.locator("#public tbody tr").count() == 1


def test_an_officer_is_refused_the_workbench(page: Any, base: str, client: Client, tokens: dict[str, str],
                                             shoot: Callable[[Any, str], None]) -> None:
    page.goto(base + "/workbench")
    assert "/login" in page.url  # a visitor is asked to sign in first
    shoot(page, "login")
    sign_in(page, base, tokens["officer"])
    assert "案件工作台" not in page.locator("nav.main").inner_text()
    response = page.goto(base + "/workbench")
    assert response is not None and response.status == 403
    assert "监管部门" in page.locator("main").inner_text()
    shoot(page, "workbench-refused")
    for path in ("/workbench/cases/1", "/workbench/deadlines", "/workbench/publication"):
        assert page.goto(base + path).status == 403

    # A form posted from elsewhere (no CSRF token of the session) is refused.
    forged = requests.post(base + "/workbench/cases/1/notice", data={"served_on": "2024-09-23"}, timeout=30)
    assert forged.status_code == 400 and "CSRF" in forged.text
