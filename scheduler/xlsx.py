"""A streaming XLSX writer: rows go straight into the zip as sheet XML with inline strings.

openpyxl's write-only mode keeps every distinct string in memory (the shared-strings
table) and, without lxml, writes about a thousand rows a second; an export of a million
changes, each with its own change id, needs neither."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Sequence
from xml.sax.saxutils import escape

MAX_ROWS = 1_048_576  # rows in one sheet, header included
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '{sheets}</Types>')
_SHEET_TYPE = ('<Override PartName="/xl/worksheets/sheet{n}.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets>'
    '</workbook>')
_WORKBOOK_SHEET = '<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
_WORKBOOK_REL = ('<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 'relationships/worksheet" Target="worksheets/sheet{n}.xml"/>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"


def _cell(value: Any) -> str:
    if value is None:
        return "<c/>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<c><v>{value}</v></c>"
    text = escape(_ILLEGAL.sub("", str(value)))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c t="inlineStr"><is><t{space}>{text}</t></is></c>'


class XlsxWriter:
    """Write rows to sheets named `{prefix}1`, `{prefix}2`, ..., each starting with `header`."""

    def __init__(self, path: Path, header: Sequence[str], prefix: str = "changes") -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self.header, self.prefix = list(header), prefix
        self.sheets = 0
        self._sheet: IO[bytes] | None = None
        self._rows = 0

    def _next_sheet(self) -> None:
        self._close_sheet()
        self.sheets += 1
        self._sheet = self.zip.open(f"xl/worksheets/sheet{self.sheets}.xml", "w", force_zip64=True)
        self._sheet.write(_SHEET_HEAD.encode())
        self._rows = 0
        self.write_rows([self.header])

    def _close_sheet(self) -> None:
        if self._sheet is not None:
            self._sheet.write(_SHEET_TAIL.encode())
            self._sheet.close()
            self._sheet = None

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        if self._sheet is None:
            self._next_sheet()
        start = 0
        while start < len(rows):
            room = MAX_ROWS - self._rows
            if room == 0:
                self._next_sheet()
                continue
            part = rows[start:start + room]
            assert self._sheet is not None
            self._sheet.write("".join(
                f'<row r="{self._rows + i + 1}">' + "".join(_cell(v) for v in row) + "</row>"
                for i, row in enumerate(part)).encode("utf-8"))
            self._rows += len(part)
            start += len(part)

    def close(self) -> None:
        if self._sheet is None:
            self._next_sheet()
        self._close_sheet()
        numbers = range(1, self.sheets + 1)
        self.zip.writestr("[Content_Types].xml", _CONTENT_TYPES.format(
            sheets="".join(_SHEET_TYPE.format(n=n) for n in numbers)))
        self.zip.writestr("_rels/.rels", _ROOT_RELS)
        self.zip.writestr("xl/workbook.xml", _WORKBOOK.format(
            sheets="".join(_WORKBOOK_SHEET.format(name=f"{self.prefix}{n}", n=n) for n in numbers)))
        self.zip.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.format(
            rels="".join(_WORKBOOK_REL.format(n=n) for n in numbers)))
        self.zip.close()

    def __enter__(self) -> "XlsxWriter":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.zip.close()
