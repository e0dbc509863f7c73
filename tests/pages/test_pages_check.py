"""The check page in a real browser: a listed and an unlisted unit, name search, the printed
receipt with its QR code, and its public verification."""

from __future__ import annotations

from typing import Any, Callable

from tests.conftest import Client
from tests.factories import UNIT, UNIT2
from tests.pages.pages_helpers import check, sign_in
from tests.test_workflow import listed_case


def test_check_a_listed_and_an_unlisted_unit(page: Any, base: str, client: Client, tokens: dict[str, str],
                                              shoot: Callable[[Any, str], None]) -> None:
    listed_case(client, tokens)  # 咸阳某化工有限公司, listed on 2024-09-30 under 陕应急信决〔2024〕1号

    page.goto(base + "/")
    assert page.locator("#check-submit").count() == 0  # visible without a token, checks locked
    assert "登录后可核查" in page.content()
    shoot(page, "check-anonymous")

    sign_in(page, base, tokens["officer"])
    assert "李经办" in page.locator("header").inner_text()

    check(page, UNIT, "procurement", "2025-03-01")
    verdict = page.locator(".verdict")
    assert verdict.get_attribute("data-eligible") == "no"
    assert verdict.get_attribute("data-effect") == "prohibited"
    text = verdict.inner_text()
    for expected in ("不得参与", "政府采购", "咸阳某化工有限公司", "陕应急信决〔2024〕1号", "2027-09-29", "财政部门"):
        assert expected in text, expected
    shoot(page, "check-listed")

    with page.expect_popup() as popup:
        page.click("text=打印回执")
    receipt = popup.value
    receipt.wait_for_load_state()
    assert receipt.locator("svg.qr").count() == 1
    assert "电子签名" in receipt.content() and "不得参与" in receipt.locator(".verdict").inner_text()
    shoot(receipt, "receipt")
    verify_url = receipt.locator("#verify-url").inner_text().strip()
    receipt.goto(verify_url)
    assert receipt.locator(".verdict").get_attribute("data-valid") == "yes"
    assert "咸阳某化工有限公司" in receipt.content()
    shoot(receipt, "receipt-verified")
    receipt.goto(verify_url[:-6] + ("AAAAAA" if not verify_url.endswith("AAAAAA") else "BBBBBB"))
    assert receipt.locator(".verdict").get_attribute("data-valid") == "no"
    receipt.close()

    check(page, UNIT, "bidding", "2025-03-01")  # restricted: not eligible unless the department decides
    assert page.locator(".verdict").get_attribute("data-effect") == "restricted"
    assert "不得参与（除非实施部门另有决定）" in page.locator(".verdict .sign").inner_text()
    shoot(page, "check-restricted")
    check(page, UNIT, "financing", "2025-03-01")  # reference: eligible, to be weighed
    assert page.locator(".verdict").get_attribute("data-eligible") == "yes"
    assert "须参考失信记录" in page.locator(".verdict .sign").inner_text()

    check(page, UNIT2, "procurement")
    verdict = page.locator(".verdict")
    assert verdict.get_attribute("data-eligible") == "yes"
    assert "可以参与" in verdict.inner_text() and "库内无该主体的任何记录" in verdict.inner_text()
    shoot(page, "check-unlisted")

    check(page, UNIT, "procurement", "2024-09-29")  # the day before the decision: not yet in force
    assert page.locator(".verdict").get_attribute("data-eligible") == "yes"


def test_a_name_gives_candidates_never_a_verdict(page: Any, base: str, client: Client, tokens: dict[str, str],
                                                 shoot: Callable[[Any, str], None]) -> None:
    listed_case(client, tokens)
    sign_in(page, base, tokens["officer"])
    check(page, "咸阳化工", "procurement", "2025-03-01")
    assert page.locator(".verdict").count() == 0
    candidates = page.locator("#candidates")
    assert "不是核查结论" in candidates.inner_text() and UNIT in candidates.inner_text()
    shoot(page, "check-candidates")
    page.click("#candidates button:has-text('按此代码核查')")
    assert page.locator(".verdict").get_attribute("data-eligible") == "no"

    check(page, "91110000710924945B", "procurement")
    error = page.locator("#q-error")
    assert "第 18 位应为“A”" in error.inner_text()
    assert page.locator(".verdict").count() == 0
    check(page, "", "procurement")
    assert "请填写" in page.locator("#q-error").inner_text()
    shoot(page, "check-field-error")


def test_sign_in_refuses_a_bad_token_next_to_the_field(page: Any, base: str, client: Client) -> None:
    sign_in(page, base, "bl_not-a-token")
    assert "令牌无效" in page.locator("#token-error").inner_text()
    cookies = page.context.cookies()
    session = [c for c in cookies if c["name"] == "blacklist_session"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax"
