"""Masking of anything that looks like a resident identity number, for logs and echoes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from blacklist.identifiers import normalize_uscc

ID_LIKE = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """Replace every identity-number-shaped run with its masked form (first 6, last 4)."""
    return ID_LIKE.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], text)


def redact_value(value: str, quote: Callable[[str], str] = repr) -> str:
    """`quote(value)` (`repr` by default) for an error message, with an identity number in it
    masked in whatever form it came: with full-width digits, or spaces, tabs and the like
    around or inside it (`repr` writes a tab as `\\t`, whose `t` hides the number from
    `redact`). Such a value is shown as the checks read it: half-width, without the whitespace."""
    compact = normalize_uscc(value)
    if ID_LIKE.search(compact):
        return quote(redact(compact))
    return redact(quote(value))


class RedactingFilter:
    """A logging filter that masks identity numbers in every formatted message."""

    def filter(self, record: object) -> bool:
        import logging

        assert isinstance(record, logging.LogRecord)
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_redaction(*loggers: Any) -> None:
    """Attach the filter once to each of `loggers` (their own records), or, given none, to
    every handler of the root logger (whatever reaches them)."""
    import logging

    for target in loggers or logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
