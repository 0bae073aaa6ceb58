"""Re-encrypting every sensitive column under the newest key after a key is added.

Run after putting a new key first in INFOSHARE_ENCRYPTION_KEYS; once it has finished, the
old key can be removed ("share securely": keys can be retired without losing records).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import Engine, Text, select, text, type_coerce

from infoshare_workflow.storage.crypto import EncryptedJSON, EncryptedText, rotate_token
from infoshare_workflow.storage.models import Base


def encrypted_columns() -> Iterator[tuple[str, str, str]]:
    """(table, primary key column, encrypted column) for every encrypted column."""
    for table in Base.metadata.sorted_tables:
        pk = [c.name for c in table.primary_key.columns]
        for column in table.columns:
            if isinstance(column.type, (EncryptedText, EncryptedJSON)) and len(pk) == 1:
                yield table.name, pk[0], column.name


def reencrypt(engine: Engine, progress: Callable[[str], None] = lambda _: None, batch: int = 500) -> int:
    total = 0
    for table_name, pk, column in encrypted_columns():
        table = Base.metadata.tables[table_name]
        done = 0
        with engine.begin() as connection:
            rows = connection.execute(
                select(table.c[pk], type_coerce(table.c[column], Text)).where(table.c[column].is_not(None))
            ).all()
            update = text(f"UPDATE {table_name} SET {column} = :token WHERE {pk} = :id")
            for start in range(0, len(rows), batch):
                chunk = rows[start:start + batch]
                connection.execute(update, [{"id": r[0], "token": rotate_token(r[1])} for r in chunk])
                done += len(chunk)
        progress(f"{table_name}.{column}: {done} values re-encrypted")
        total += done
    return total
