"""Adding a new encryption key and re-encrypting: old rows readable under the new key alone."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select, text

from infoshare_workflow.storage.crypto import KeyRing
from infoshare_workflow.storage.key_rotation import reencrypt
from infoshare_workflow.storage.models import Concern, Pupil

from .. import factories


def test_reencrypt_moves_every_sensitive_value_to_the_newest_key(mis, runtime):
    old_key = runtime.settings.encryption_keys[0]
    mis.post(factories.concern_raised("C-rot"))
    new_key = Fernet.generate_key().decode()
    KeyRing.configure((new_key, old_key))
    progress: list[str] = []

    total = reencrypt(runtime.engine, progress=progress.append)

    assert total >= 10 and any(line.startswith("pupils.given_name") for line in progress)
    KeyRing.configure((new_key,))  # the old key is retired
    with runtime.transaction() as session:
        concern = session.scalars(select(Concern)).one()
        assert concern.facts == factories.CONCERN_FACTS
        assert session.scalars(select(Pupil)).one().family_name == factories.PUPIL_FAMILY
    with runtime.engine.connect() as connection:
        token = connection.execute(text("SELECT facts FROM concerns")).scalar_one()
    assert Fernet(new_key).decrypt(token.encode()).decode() == factories.CONCERN_FACTS
