"""The floor under `bench/latency.py`: a bare Celery task that sends one email, nothing else.

Why it exists: "webhook to the DSL's inbox in under 100 ms" only means something against
what this machine's Redis, Celery worker and SMTP server cost with no product in between.
`bench/latency.py` starts this app's worker exactly as it starts the product's (same pool,
same Redis, a queue of its own) and times `send_task` -> worker -> SMTP arrival at the same
rate as the product's webhooks, so the ratio shows what the product adds over that floor.

The email goes through the product's own SMTP transport (`mail.transport.SmtpTransport`),
one connection per email as the product's sending does; the task id travels in `X-Bench-Id`.
Configured by the environment: BENCH_BROKER_URL, BENCH_QUEUE, BENCH_SMTP_URL.
"""

from __future__ import annotations

import os
from email.message import EmailMessage

from celery import Celery

from infoshare_workflow.mail.transport import SmtpTransport

TASK = "bench.floor.mail"

app = Celery("bench-floor", broker=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"))
app.conf.update(task_default_queue=os.environ.get("BENCH_QUEUE", "bench-floor"), task_acks_late=True,
                worker_prefetch_multiplier=1, task_ignore_result=True, task_serializer="json",
                accept_content=["json"], worker_hijack_root_logger=False)


@app.task(name=TASK)
def mail(bench_id: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "bench@school.example", "dsl@school.example", "Floor"
    message["X-Bench-Id"] = bench_id
    message.set_content("A task for you.\n")
    SmtpTransport(os.environ["BENCH_SMTP_URL"]).send(message)
