"""Encryption at rest for sensitive columns: names, dates of birth, contacts, concern text.

Golden rule 6 ("shared securely") and the "Secure" principle: a copied database file or
backup must not reveal a child's record. Keys come from INFOSHARE_ENCRYPTION_KEYS, newest
first (MultiFernet): the newest encrypts, all decrypt, so a key can be rotated and old rows
re-encrypted with `infoshare db reencrypt`.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class KeyRing:
    """The process-wide keys; set once by the app or worker factory before any query."""

    _fernet: MultiFernet | None = None

    @classmethod
    def configure(cls, keys: tuple[str, ...]) -> None:
        cls._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def fernet(cls) -> MultiFernet:
        if cls._fernet is None:
            raise RuntimeError("encryption keys are not configured (INFOSHARE_ENCRYPTION_KEYS)")
        return cls._fernet


def encrypt(value: str) -> str:
    """The token EncryptedText stores for `value` (a bulk write that stores one value in many
    rows encrypts it once with this, then binds the token as plain text)."""
    return KeyRing.fernet().encrypt(value.encode()).decode()


class EncryptedText(TypeDecorator[str]):
    """A text column stored as a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return KeyRing.fernet().decrypt(value.encode()).decode()


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document (e.g. a decision record's free text) stored as a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        plain = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return KeyRing.fernet().encrypt(plain.encode()).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(KeyRing.fernet().decrypt(value.encode()))


def rotate_token(token: str) -> str:
    """Re-encrypt one stored token under the newest key."""
    return KeyRing.fernet().rotate(token.encode()).decode()
