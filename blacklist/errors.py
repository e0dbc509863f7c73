"""Domain exceptions; the web layer maps them to statuses in one table."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str, *, errors: Any = None, **extra: Any) -> None:
        super().__init__(message)
        self.errors = errors
        self.extra = extra


class InvalidInputError(DomainError):
    """Well-formed input that breaks a rule (field errors in `errors`)."""


class NotFoundError(DomainError):
    """The thing asked about does not exist."""


class ConflictError(DomainError):
    """The request is valid but the current state refuses it (decided twice, too early)."""


class PreconditionError(DomainError):
    """A condition the law sets is not met (e.g. penalty not performed)."""
