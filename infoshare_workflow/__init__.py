"""infoshare-workflow: safeguarding information-sharing workflow for UK schools.

One import package, grouped by domain. Folders import only folders below them (checked by
tests/test_layout.py), from the bottom:

- `vocabulary`: the words of DOMAIN.md.
- `settings`, `monitoring`, `schemas`: configuration and policy; metrics and log hygiene;
  marshmallow schemas for every request, form and event.
- `storage`: database, models, migrations, encryption at rest, the outbox.
- `records`, `people`, `timeliness`: the audit trail and retention; pupils and staff;
  the school calendar and due dates.
- `access`: admin tokens, signed links, the MIS signature.
- `mail`: emails queued, rendered and sent once.
- `sharing`: the workflow's steps, decisions, disclosures and reminders.
- `cases`: intake from the MIS, cases and their views.
- `tasks` (Celery) and `webhooks` (Flask): thin adapters around the core.
- `service`: the app and worker factories; `cli`: the `infoshare` command.
- `wsgi` and `worker`: the public entry points for gunicorn and `celery -A`.

Templates (emails, pages, static files) live in `templates/`, migrations in
`storage/migrations/`: both ship inside the wheel.
"""

__version__ = "0.1.0"
