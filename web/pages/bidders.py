"""Bidder lists: reading an uploaded .xlsx or .csv, and the files a bulk check keeps between
the steps that answer it chunk by chunk."""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import io
import json
import os
import re
import time
import uuid
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from openpyxl import Workbook, load_workbook

from blacklist.identifiers import InvalidIdentifierError, normalize_uscc, validate_uscc
from web.pages.forms import uscc_message

_CODE_HEADER = re.compile(r"信用代码|代码|uscc|credit", re.I)
_NAME_HEADER = re.compile(r"名称|单位|公司|企业|投标人|供应商|name", re.I)
_CODE_LIKE = re.compile(r"[0-9A-Z]{15,20}")
_CJK = re.compile(r"[\u4e00-\u9fff]")
KEEP_SECONDS = 2 * 24 * 3600


class BidderFileError(ValueError):
    """An upload that is not a bidder list we can read."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(filename: str, data: bytes) -> list[list[str]]:
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise BidderFileError("无法识别 CSV 文件的编码（请用 UTF-8 或 GBK 保存）")
        return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text))]
    if suffix == ".xlsx":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise BidderFileError(f"无法读取该 Excel 文件（{type(exc).__name__}）") from None
        try:
            sheet = book.worksheets[0]
            return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    raise BidderFileError("仅支持 .xlsx 或 .csv 文件")


def _columns(table: list[list[str]]) -> tuple[int, int | None, int]:
    """`(code column, name column or None, first data row index)`."""
    header_at = next((i for i, row in enumerate(table) if any(row)), None)
    if header_at is None:
        raise BidderFileError("文件是空的")
    header = table[header_at]
    code = next((i for i, h in enumerate(header) if _CODE_HEADER.search(h)), None)
    if code is not None:
        name = next((i for i, h in enumerate(header) if i != code and _NAME_HEADER.search(h)), None)
        return code, name, header_at + 1
    sample = table[header_at:header_at + 50]
    width = max(len(r) for r in sample)

    def score(pattern: re.Pattern[str], col: int) -> int:
        return sum(1 for r in sample if col < len(r) and pattern.search(normalize_uscc(r[col]) if
                                                                          pattern is _CODE_LIKE else r[col]))

    codes = [score(_CODE_LIKE, c) for c in range(width)]
    if not codes or max(codes) == 0:
        raise BidderFileError("未找到统一社会信用代码列：请在第一行写上“统一社会信用代码”作为列名")
    code = codes.index(max(codes))
    names = [score(_CJK, c) if c != code else -1 for c in range(width)]
    name = names.index(max(names)) if names and max(names) > 0 else None
    return code, name, header_at


def read_bidders(filename: str, data: bytes, limit: int) -> list[dict[str, Any]]:
    """One entry per non-empty row: row number, code as given, name, valid code or the error."""
    table = _table(filename, data)
    code_col, name_col, start = _columns(table)
    rows = []
    for index in range(start, len(table)):
        row = table[index]
        raw = row[code_col] if code_col < len(row) else ""
        name = row[name_col] if name_col is not None and name_col < len(row) else ""
        if not raw and not name:
            continue
        entry: dict[str, Any] = {"row": index + 1, "given": raw, "name": name, "code": None, "error": None}
        if not raw:
            entry["error"] = "缺少统一社会信用代码"
        else:
            try:
                entry["code"] = validate_uscc(raw)
            except InvalidIdentifierError as exc:
                entry["error"] = uscc_message(raw, exc)
        rows.append(entry)
        if len(rows) > limit:
            raise BidderFileError(f"一次最多核查 {limit} 家，该文件超过了这个数量")
    if not rows:
        raise BidderFileError("文件中没有找到任何投标人")
    return rows


class BulkJobs:
    """A bulk check's files: its rows (written once), its state and its answers (appended)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, job_id: str, suffix: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", job_id):
            raise KeyError(job_id)
        return self.root / f"{job_id}{suffix}"

    def create(self, *, owner: int, domain: str, as_of: dt.date, known_at: dt.datetime, filename: str,
               rows: list[dict[str, Any]]) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        self._forget_old()
        job_id = uuid.uuid4().hex
        self._path(job_id, ".rows.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        self._path(job_id, ".results.jsonl").write_text("", encoding="utf-8")
        self.save(job_id, {"id": job_id, "owner": owner, "domain": domain, "as_of": as_of.isoformat(),
                           "known_at": known_at.isoformat(), "filename": filename, "total": len(rows),
                           "done": 0, "list_version": None, "receipt": None,
                           "created_at": dt.datetime.now(dt.timezone.utc).isoformat()})
        return job_id

    def state(self, job_id: str) -> dict[str, Any]:
        path = self._path(job_id, ".json")
        if not path.exists():
            raise KeyError(job_id)
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state

    def save(self, job_id: str, state: dict[str, Any]) -> None:
        path = self._path(job_id, ".json")
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def rows(self, job_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self._path(job_id, ".rows.json").read_text(encoding="utf-8"))
        return rows

    def append(self, job_id: str, results: list[dict[str, Any]]) -> None:
        with self._path(job_id, ".results.jsonl").open("a", encoding="utf-8") as fh:
            for result in results:
                fh.write(json.dumps(result, ensure_ascii=False) + "\n")

    def results(self, job_id: str) -> list[dict[str, Any]]:
        with self._path(job_id, ".results.jsonl").open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    @contextmanager
    def step(self, job_id: str) -> Iterator[bool]:
        """Hold the job's lock for one step; yields False when another request holds it."""
        with self._path(job_id, ".lock").open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _forget_old(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for path in self.root.glob("*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass


HEADERS = ("行号", "统一社会信用代码（上传）", "名称（上传）", "库内名称", "结论", "效力", "措施与实施部门",
           "列入文件号", "名单有效期至", "核查编号", "清单版本", "说明")


def workbook(state: dict[str, Any], rows: list[dict[str, Any]], results: list[dict[str, Any]],
             verify_url: str | None, describe: Any) -> bytes:
    """The answers as .xlsx: one row per bidder, then a sheet with the signed batch receipt."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("核查结果")
    sheet.append(list(HEADERS))
    for row, result in zip(rows, results):
        sheet.append(describe(row, result))
    proof = book.create_sheet("回执")
    receipt = state.get("receipt") or {}
    payload = receipt.get("payload") or {}
    for key, label in (("domain", "活动"), ("as_of", "核查日期"), ("known_at", "数据截至"),
                       ("list_version", "清单版本"), ("count", "有效代码数"), ("results_sha256", "结果摘要 SHA-256"),
                       ("issued_at", "签发时间"), ("key_id", "签名密钥")):
        proof.append([label, str(payload.get(key, ""))])
    proof.append(["签名算法", receipt.get("algorithm", "")])
    proof.append(["签名", receipt.get("signature", "")])
    proof.append(["验证链接", verify_url or ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
