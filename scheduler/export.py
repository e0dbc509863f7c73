"""Exports of the change feed for platforms that take files: JSON Lines, CSV or XLSX,
streamed from the database (memory stays flat), with a manifest of count and sha256."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from sqlalchemy.orm import Session

from blacklist.publication import iter_change_chunks, last_change_id, settle_change_ids
from scheduler.xlsx import XlsxWriter

FORMATS = ("jsonl", "csv", "xlsx")
# Columns of the flat formats and where each comes from in a change (api.md's fields).
FIELDS: dict[str, tuple[str, ...]] = {
    "change_id": ("change_id",), "kind": ("kind",), "effective_on": ("effective_on",), "listing_id": ("id",),
    "list": ("list",), "tier": ("tier",), "rule": ("rule",), "basis": ("basis",), "document_no": ("document_no",),
    "authority_name": ("authority", "name"), "authority_region": ("authority", "region"),
    "decided_on": ("decided_on",), "period_start": ("period_start",), "period_end": ("period_end",),
    "subject_kind": ("subject", "kind"), "subject_name": ("subject", "name"), "subject_uscc": ("subject", "uscc"),
    "subject_id_number_masked": ("subject", "id_number_masked"),
}
COLUMNS = ("cursor", *FIELDS)


@dataclass(frozen=True)
class Manifest:
    """What was written, for the receiver to check the file against."""

    file: str
    format: str
    since: str
    next: str
    count: int
    bytes: int
    sha256: str
    generated_at: str
    columns: list[str] | None = None

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


class _HashingFile:
    """A binary writer that hashes what it writes (callers write a chunk at a time)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.sha, self.size = handle, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.handle.write(data)
        self.size += len(data)


Chunks = Iterable[list[tuple[Any, ...]]]


def jsonl_line(cursor: int, raw: str) -> str:
    """The stored JSON object with the cursor put first, without decoding it."""
    if raw.startswith("{\"") or raw.startswith("{ \""):
        return f'{{"cursor":"{cursor}",{raw[1:]}\n'
    return json.dumps({"cursor": str(cursor), **json.loads(raw)}, ensure_ascii=False) + "\n"


def _jsonl(out: _HashingFile, chunks: Chunks) -> tuple[int, int | None]:
    count, last = 0, None
    for rows in chunks:
        out.write("".join([jsonl_line(cursor, raw) for cursor, raw in rows]).encode("utf-8"))
        count, last = count + len(rows), rows[-1][0]
    return count, last


def _csv(out: _HashingFile, chunks: Chunks) -> tuple[int, int | None]:
    out.write(codecs.BOM_UTF8)  # UTF-8 with a BOM: what Excel needs to read the Chinese names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    count, last = 0, None
    for rows in chunks:
        writer.writerows(rows)
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
        count, last = count + len(rows), rows[-1][0]
    out.write(buffer.getvalue().encode("utf-8"))
    return count, last


def _xlsx(path: Path, chunks: Chunks) -> tuple[int, int | None]:
    count, last = 0, None
    with XlsxWriter(path, COLUMNS) as book:  # a sheet per 1,048,575 changes
        for rows in chunks:
            book.write_rows(rows)
            count, last = count + len(rows), rows[-1][0]
    return count, last


def _file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def export_changes(session: Session, *, since: int, fmt: str, output: Path) -> Manifest:
    """Write every change after `since` (up to the newest committed now) to `output`, then
    its manifest beside it (`<output>.manifest.json`). The file appears whole or not at all."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    with session.begin():
        settle_change_ids(session)
        until = last_change_id(session)
    rows = iter_change_chunks(session, since, until=until, fields=None if fmt == "jsonl" else list(FIELDS.values()))
    partial = output.with_name(output.name + ".partial")
    try:
        if fmt == "xlsx":
            count, last = _xlsx(partial, rows)
            digest, size = _file_sha256(partial), partial.stat().st_size
        else:
            with partial.open("wb") as handle:
                out = _HashingFile(handle)
                count, last = (_jsonl if fmt == "jsonl" else _csv)(out, rows)
            digest, size = out.sha.hexdigest(), out.size
        session.rollback()
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    manifest = Manifest(
        file=output.name, format=fmt, since=str(since), next=str(last if last is not None else since),
        count=count, bytes=size, sha256=digest,
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        columns=None if fmt == "jsonl" else list(COLUMNS))
    manifest.write(manifest_path(output))
    return manifest


def manifest_path(output: Path) -> Path:
    return output.with_name(output.name + ".manifest.json")
