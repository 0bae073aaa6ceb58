"""Admin API bearer tokens: shown once, stored only as a SHA-256 hash.

The tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force
that a slow hash would protect ("share securely", golden rule 6).
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import AdminToken, utcnow

PREFIX = "isw_"


class TokenNameTaken(ValueError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> str:
    if session.scalars(select(AdminToken).where(AdminToken.name == name)).first() is not None:
        raise TokenNameTaken(name)
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(AdminToken(name=name, token_hash=digest(token)))
    session.flush()
    audit.append(session, actor="admin", action="admin_token.created", details={"name": name})
    return token


def authenticate(session: Session, presented: str) -> AdminToken | None:
    found = session.scalars(select(AdminToken).where(AdminToken.token_hash == digest(presented))).first()
    if found is not None:
        session.execute(update(AdminToken).where(AdminToken.id == found.id).values(last_used_at=utcnow()))
    return found
