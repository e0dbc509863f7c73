"""API tokens: shown once, stored as SHA-256, looked up by hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from blacklist import audit
from blacklist.models import Token

ROLES = ("officer", "system", "regulator", "admin")
# What each role may do beyond the roles it includes.
INCLUDES = {
    "officer": {"officer"},
    "system": {"officer", "system"},
    "regulator": {"officer", "regulator"},
    "admin": {"officer", "system", "regulator", "admin"},
}


class UnknownRoleError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, role: str, name: str, actor: str = "cli") -> tuple[str, Token]:
    """A new token; the plain text is returned once and never stored."""
    if role not in ROLES:
        raise UnknownRoleError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    plain = "bl_" + secrets.token_urlsafe(32)
    token = Token(name=name, role=role, token_hash=hash_token(plain))
    session.add(token)
    session.flush()
    audit.append(session, actor=actor, action="token.created", entity="token", entity_id=token.id,
                 after={"name": name, "role": role})
    return plain, token


def find_token(session: Session, plain: str) -> Token | None:
    digest = hash_token(plain)
    token = session.scalars(select(Token).where(Token.token_hash == digest)).one_or_none()
    if token is None or token.revoked_at is not None:
        return None
    return token if hmac.compare_digest(token.token_hash, digest) else None


def has_role(token_role: str, needed: str) -> bool:
    return needed in INCLUDES.get(token_role, set())
