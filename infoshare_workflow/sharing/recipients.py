"""The recipient directory: the agencies a share may be sent to (golden rules 6 and 7).

Golden rule 6: share only with those who need it, securely. A share chooses from the
*active* entries here, and each entry's email address receives the disclosure link.

Golden rule 7: keep a record of what was shared, with whom. Disclosures point at their
recipient, so an entry is never deleted: retiring an agency *deactivates* it
(`active = false`), which takes it off the list a share chooses from, kills every live
disclosure sent to it (its links open nothing more), and keeps the record of who received
what intact. Every change appends an audit event (`recipient.added`,
`recipient.updated`, `recipient.deactivated`, `recipient.reactivated`); the details name the entry by id with its
name and kind, never its email address (which may be a named person's).

Every value is validated here with the schemas of `schemas.recipients`, so the admin API,
the command line and any other caller keep to one set of rules.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.schemas.recipients import RecipientCreateSchema, RecipientPatchSchema
from infoshare_workflow.sharing.disclosures import revoke_for_recipient
from infoshare_workflow.storage.models import Recipient

_MAX_ID = 2**31 - 1  # an INTEGER primary key: anything larger cannot exist


class RecipientNotFound(LookupError):
    """No directory entry has that id."""


class RecipientInactive(ValueError):
    """A change to a deactivated entry that does not bring it back (`active: true`) first."""


class InvalidRecipient(ValueError):
    """Values that break the directory's rules; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(map(str, _flat(messages)))}"
                                   for field, messages in errors.items()))
        self.errors = errors


def _flat(messages: Any) -> list[Any]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flat(value)]
    return list(messages) if isinstance(messages, list) else [messages]


def _validated(schema: Schema, values: Any) -> dict[str, Any]:
    try:
        return schema.load(values)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise InvalidRecipient(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}) from None


def add_recipient(
    session: Session, name: str, kind: str, email: str, active: bool = True, *, actor: str
) -> Recipient:
    """Add an entry to the directory; raises `InvalidRecipient` naming each wrong field."""
    data = _validated(RecipientCreateSchema(), {"name": name, "kind": kind, "email": email, "active": active})
    recipient = Recipient(**data)
    session.add(recipient)
    session.flush()
    audit.append(session, actor=actor, action="recipient.added", details={
        "recipient_id": recipient.id, "name": recipient.name, "kind": recipient.kind, "active": recipient.active,
    })
    return recipient


def list_recipients(session: Session, include_inactive: bool = True) -> list[Recipient]:
    """The directory in name order (case-insensitive, the same on every database engine)."""
    query = select(Recipient)
    if not include_inactive:
        query = query.where(Recipient.active.is_(True))
    return sorted(session.scalars(query), key=lambda r: (r.name.casefold(), r.id))


def get_recipient(session: Session, recipient_id: int) -> Recipient:
    if isinstance(recipient_id, bool) or not isinstance(recipient_id, int) or not 0 < recipient_id <= _MAX_ID:
        raise RecipientNotFound(recipient_id)
    recipient = session.get(Recipient, recipient_id)
    if recipient is None:
        raise RecipientNotFound(recipient_id)
    return recipient


def update_recipient(session: Session, recipient_id: int, changes: dict[str, Any], *, actor: str) -> Recipient:
    """Apply any of `name`, `kind`, `email`, `active`; audited only when something changed.

    Raises `RecipientNotFound`, `InvalidRecipient`, or `RecipientInactive` for any change to
    a deactivated entry: it is changed only once it is knowingly brought back
    (`reactivate_recipient`). Setting `active` to false deactivates, as
    `deactivate_recipient` does.
    """
    recipient = get_recipient(session, recipient_id)
    data = _validated(RecipientPatchSchema(), changes)
    if not recipient.active:
        raise RecipientInactive(recipient_id)
    changed = sorted(field for field, value in data.items() if getattr(recipient, field) != value)
    if not changed:
        return recipient
    for field in changed:
        setattr(recipient, field, data[field])
    session.flush()
    audit.append(session, actor=actor, action="recipient.updated", details={
        "recipient_id": recipient.id, "fields": changed,
        **{field: data[field] for field in changed if field in ("name", "kind", "active")},
    })
    if "active" in changed and not recipient.active:
        revoke_for_recipient(session, recipient.id, actor=actor)
    return recipient


def reactivate_recipient(session: Session, recipient_id: int, *, actor: str) -> Recipient:
    """Bring a deactivated entry back onto the list a share chooses from. The disclosures
    revoked when it left stay revoked: a share made since is sent afresh. Safe to repeat."""
    recipient = get_recipient(session, recipient_id)
    if not recipient.active:
        recipient.active = True
        session.flush()
        audit.append(session, actor=actor, action="recipient.reactivated", details={
            "recipient_id": recipient.id, "name": recipient.name, "kind": recipient.kind,
        })
    return recipient


def deactivate_recipient(session: Session, recipient_id: int, *, actor: str) -> Recipient:
    """Take an entry off the list a share chooses from; never deletes it (golden rule 7).

    Safe to repeat: deactivating an inactive entry changes nothing and records nothing, even
    when two requests come at once (the entry's row is locked and read again first).
    """
    recipient = get_recipient(session, recipient_id)
    session.refresh(recipient, with_for_update=True)
    if recipient.active:
        recipient.active = False
        session.flush()
        audit.append(session, actor=actor, action="recipient.deactivated", details={
            "recipient_id": recipient.id, "name": recipient.name, "kind": recipient.kind,
        })
        revoke_for_recipient(session, recipient.id, actor=actor)
    return recipient
