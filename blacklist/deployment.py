"""Facts a database is bound to on first use.

Identity numbers are stored only as keyed hashes (HMAC-SHA256 with the deployment's
identity-hash key). A process started with another key (a missing `BLACKLIST_ID_HASH_KEY`
falls back to a key generated in the working directory's `instance/`) would hash the
same person differently: a check on a listed person would answer "no record", and a
re-import would store every person-bearing record again as a new version. So the key's
fingerprint is kept in the database the first time it is used, and any later process
whose key does not match is refused before it reads or writes anything.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from blacklist.errors import ConflictError
from blacklist.models import DeploymentFact

ID_KEY_FACT = "id_hash_key_fingerprint"


class KeyMismatchError(ConflictError):
    """The configured identity-hash key is not the one this database was bound to."""


def key_fingerprint(key: bytes) -> str:
    """A fingerprint that identifies the key without revealing it (HMAC of a fixed label)."""
    return hmac.new(key, b"blacklist identity-hash key fingerprint v1", hashlib.sha256).hexdigest()[:32]


def bind_id_key(engine: Engine, key: bytes) -> bool:
    """Bind the database to `key` on first use, else check that `key` is the bound one.

    Returns False (nothing to check) when the schema does not hold the table yet, i.e.
    before `blacklist init`; raises KeyMismatchError when another key is bound.
    """
    if not inspect(engine).has_table(DeploymentFact.__tablename__):
        return False
    wanted = key_fingerprint(key)
    query = select(DeploymentFact.value).where(DeploymentFact.name == ID_KEY_FACT)
    with engine.begin() as conn:
        bound = conn.scalar(query)
        if bound is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(DeploymentFact).values(name=ID_KEY_FACT, value=wanted))
                return True
            except IntegrityError:  # another process bound it first
                bound = conn.scalar(query)
    if bound != wanted:
        raise KeyMismatchError(
            "the identity-hash key in use is not the one this database was first used with "
            f"(fingerprint {wanted[:8]}…, bound {str(bound)[:8]}…): identity numbers would be hashed "
            "differently and listed persons not found. Set BLACKLIST_ID_HASH_KEY to the "
            "deployment's key (without it a key is generated in ./instance/ of the working directory).")
    return True
