"""Every log line the suite writes, scanned at the end for unmasked identity numbers.

The conftest installs `SuiteLog` on the root logger for the whole run (the app served in
the test process, the CLI and engine code called in it, werkzeug's access lines with
their URLs); `pytest_sessionfinish` fails the run if any line holds a valid resident
identity number. Child processes' output is checked by the tests that start them.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Iterable


from blacklist.identifiers import InvalidIdentifierError, validate_id_number
from blacklist.redact import ID_LIKE


class SuiteLog(logging.Handler):
    """Writes every record, formatted, to one file."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        handle, name = tempfile.mkstemp(prefix="blacklist-suite-", suffix=".log")
        self.path = Path(name)
        self._file = open(handle, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._file.write(self.format(record).replace("\n", "\n  ") + "\n")
        except Exception:  # a log line that cannot be formatted is not ours to scan
            self.handleError(record)

    def close(self) -> None:
        self._file.close()
        super().close()


def leaks(lines: Iterable[str]) -> list[str]:
    """The lines that hold a valid resident identity number in the clear."""
    found = []
    for line in lines:
        for match in ID_LIKE.finditer(line):
            try:  # the project's own test: it accepts numbers stdnum refuses (tests/test_identifiers.py)
                validate_id_number(match.group(0))
            except InvalidIdentifierError:
                continue
            found.append(line.rstrip("\n"))
            break
    return found
