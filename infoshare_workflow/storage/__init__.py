"""Durable state: the database engine and sessions, models, migrations, encryption at rest,
key rotation and the transactional outbox.

The database is the source of truth for every case, step, due date and decision
(RELIABILITY.md); work for Celery is an outbox row committed with its cause.
"""
