"""Bulk check in a real browser: upload a bidder list, watch the count, read the table and
download the answers as .xlsx."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from openpyxl import Workbook, load_workbook

from tests.conftest import Client
from tests.factories import UNIT, UNIT2, uscc
from tests.pages.pages_helpers import sign_in
from tests.test_workflow import listed_case

BIDDERS = [(UNIT, "咸阳某化工有限公司"), (UNIT2, "广州某建设工程有限公司"), (uscc(7), "渭南某建材有限公司"),
           ("91110000710924945B", "校验码写错的公司"), (uscc(8), "")]


def bidder_file(folder: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "投标人名称", "统一社会信用代码"])
    for n, (code, name) in enumerate(BIDDERS, start=1):
        sheet.append([n, name, code])
    path = folder / "投标人名单.xlsx"
    book.save(path)
    return path


def test_upload_a_bidder_list_and_download_the_result(page: Any, base: str, served: tuple[Any, str],
                                                      client: Client, tokens: dict[str, str], tmp_path: Path,
                                                      shoot: Callable[[Any, str], None]) -> None:
    listed_case(client, tokens)
    app = served[0]
    app.config["PAGES_BULK_CHUNK"] = 2       # five bidders: three steps, so the count shows
    app.config["PAGES_BULK_REFRESH"] = 3
    sign_in(page, base, tokens["officer"])
    page.goto(base + "/bulk")
    shoot(page, "bulk-upload")

    page.click("button:has-text('上传并核查')")  # nothing chosen: the error is next to the field
    assert "请选择" in page.locator("#file-error").inner_text()
    wrong = tmp_path / "list.txt"
    wrong.write_text("91110000710924945A\n", encoding="utf-8")
    page.set_input_files("#file", str(wrong))
    page.click("button:has-text('上传并核查')")
    assert ".xlsx" in page.locator("#file-error").inner_text()

    page.set_input_files("#file", str(bidder_file(tmp_path)))
    page.select_option("#domain", "procurement")
    page.fill("#as_of", "2025-03-01")
    page.click("button:has-text('上传并核查')")
    assert page.locator("#done").inner_text() == "2" and page.locator("#total").inner_text() == "5"
    shoot(page, "bulk-progress")
    page.wait_for_selector("#results", timeout=30_000)

    rows = page.locator("#results tbody tr")
    assert rows.count() == 5
    assert "不得参与" in rows.nth(0).inner_text()
    assert "可以参与" in rows.nth(1).inner_text()
    assert "代码有误" in rows.nth(3).inner_text() and "第 18 位应为“A”" in rows.nth(3).inner_text()
    shoot(page, "bulk-results")

    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / "result.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved)
    table = list(book["核查结果"].iter_rows(values_only=True))
    assert len(table) == 1 + len(BIDDERS)
    header, body = table[0], table[1:]
    column = {name: i for i, name in enumerate(header)}
    assert [r[column["统一社会信用代码（上传）"]] for r in body] == [code for code, _ in BIDDERS]
    assert [r[column["结论"]] for r in body] == ["不得参与", "可以参与", "可以参与", "代码有误", "可以参与"]
    assert "陕应急信决〔2024〕1号" in body[0][column["列入文件号"]]
    check_ids = [r[column["核查编号"]] for r in body]
    assert all(check_ids[i] for i in (0, 1, 2, 4)) and not check_ids[3]
    assert len(set(check_ids) - {None, ""}) == 4
    proof = {r[0]: r[1] for r in book["回执"].iter_rows(values_only=True)}
    assert proof["有效代码数"] == "4" and proof["签名"] and "/receipts/verify?r=" in proof["验证链接"]

    page.goto(proof["验证链接"])
    assert page.locator(".verdict").get_attribute("data-valid") == "yes"
    assert "批量核查（4 家）" in page.content()


def test_a_csv_list_in_gbk_without_a_header(page: Any, base: str, client: Client, tokens: dict[str, str],
                                            tmp_path: Path) -> None:
    listed_case(client, tokens)
    sign_in(page, base, tokens["officer"])
    path = tmp_path / "bidders.csv"
    path.write_bytes(f"咸阳某化工有限公司,{UNIT}\n某公司,{UNIT2}\n".encode("gb18030"))
    page.goto(base + "/bulk")
    page.set_input_files("#file", str(path))
    page.select_option("#domain", "bidding")
    page.click("button:has-text('上传并核查')")
    page.wait_for_selector("#results", timeout=30_000)
    rows = page.locator("#results tbody tr")
    assert rows.count() == 2
    assert "不得参与（除非实施部门另有决定）" in rows.nth(0).inner_text()
    assert "咸阳某化工有限公司" in rows.nth(0).inner_text()
