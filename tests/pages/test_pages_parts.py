"""The pages' parts that need no browser: bidder files, receipts in URLs, form messages."""

from __future__ import annotations

import pytest

from blacklist.errors import ConflictError
from tests.factories import UNIT, UNIT2
from web.checks import decode_receipt, encode_receipt
from web.pages.bidders import BidderFileError, read_bidders
from web.pages.forms import FormResult, apply_domain_error, explain
from web.pages.labels import mask_name


def test_a_receipt_survives_the_url_and_garbage_is_no_receipt() -> None:
    receipt = {"payload": {"subject": {"name": "咸阳某化工有限公司"}, "eligible": False}, "signature": "x"}
    assert decode_receipt(encode_receipt(receipt)) == receipt
    for garbage in ("", "!!!", "AAAA", encode_receipt(receipt)[:-4]):
        assert decode_receipt(garbage) is None


def test_bidder_columns_are_found_by_header_or_by_their_look() -> None:
    with_header = f"投标人名称,统一社会信用代码\n甲公司,{UNIT}\n,\n乙公司,{UNIT2.lower()}\n丙公司,123\n".encode()
    rows = read_bidders("list.csv", with_header, limit=10)
    assert [(r["row"], r["name"], r["code"]) for r in rows[:2]] == [(2, "甲公司", UNIT), (4, "乙公司", UNIT2)]
    assert "18 位" in rows[2]["error"] and rows[2]["code"] is None
    bare = f"{UNIT},甲公司\n{UNIT2},乙公司\n".encode("gb18030")
    assert [r["code"] for r in read_bidders("list.CSV", bare, limit=10)] == [UNIT, UNIT2]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("list.txt", b"x", ".xlsx"),
    ("list.csv", b"", "空"),
    ("list.csv", "名称\n甲公司\n".encode(), "未找到统一社会信用代码列"),
    ("list.xlsx", b"not a zip", "无法读取"),
    ("list.csv", f"代码\n{UNIT}\n{UNIT2}\n{UNIT}\n".encode(), "最多核查 2 家"),
])
def test_unreadable_bidder_files_say_why(name: str, data: bytes, message: str) -> None:
    with pytest.raises(BidderFileError, match=message):
        read_bidders(name, data, limit=2)


def test_domain_refusals_read_in_chinese_with_their_dates() -> None:
    exc = ConflictError("the statement period runs until 2024-09-29; a decision to list may be made from "
                        "2024-09-30 unless the party waived or already stated its case",
                        statement_period_ends="2024-09-29", provisional=False)
    assert explain(exc).startswith("陈述申辩期至 2024-09-29 止") and "2024-09-30" in explain(exc)
    form = FormResult()
    apply_domain_error(form, exc, ("decided_on",))
    assert form.messages and not form.errors


def test_public_names_of_persons_are_masked() -> None:
    assert mask_name("张三丰") == "张**" and mask_name("张某") == "张*" and mask_name("") == ""
