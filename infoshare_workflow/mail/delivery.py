"""What a failed send means: try again later, or give up now (RELIABILITY.md, "never retried for ever").

An SMTP reply in the 5xx range is the server's final word (RFC 5321 §4.2.1: "permanent
negative completion"): the mailbox does not exist, the message is refused. Sending it again
only repeats the refusal, so the email is failed at once. A 4xx reply, a dropped or refused
connection and a timeout are transient: the send is tried again with backoff, up to
MAX_ATTEMPTS in all, and then failed. A failure is named by its reply code ("550") or the
exception's class ("ConnectionRefusedError"), never by the server's text, which can quote
the address.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

MAX_ATTEMPTS = 9  # the first try and eight retries, 1 s to 128 s apart: about four minutes in all
MAX_BACKOFF_SECONDS = 300


class NotDelivered(Exception):
    """Carried by a retry in place of the SMTP error, whose text can quote the address (Celery
    logs the retry's reason as it is): its message is the reply code or error class only."""


@dataclass(frozen=True)
class Failure:
    permanent: bool
    error: str  # the SMTP reply code as a string, or the exception's class name


def _code(value: object) -> int | None:
    return value if isinstance(value, int) and 200 <= value <= 599 else None


def classify(exc: BaseException) -> Failure:
    """Whether sending again could succeed, and the error's name for the record."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [_code(reply[0]) if isinstance(reply, tuple) and reply else None
                 for reply in exc.recipients.values()]
        if codes and all(code is not None and code >= 500 for code in codes):
            return Failure(permanent=True, error=str(codes[0]))
        transient = next((code for code in codes if code is not None and code < 500), None)
        return Failure(permanent=False, error=str(transient) if transient else type(exc).__name__)
    if isinstance(exc, smtplib.SMTPResponseException):  # SMTPSenderRefused, SMTPDataError, SMTPConnectError …
        code = _code(exc.smtp_code)
        if code is None:
            return Failure(permanent=False, error=type(exc).__name__)
        return Failure(permanent=code >= 500, error=str(code))
    # SMTPServerDisconnected, ConnectionRefusedError, TimeoutError, any other OSError or SMTPException.
    return Failure(permanent=False, error=type(exc).__name__)


def gives_up(failure: Failure, *, attempts: int, retries: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Fail the email now? For a permanent refusal, yes; for a transient one, once `max_attempts`
    have been made, counted by Celery (`retries`, from 0) or by the email row (`attempts`, from
    1), whichever is further on: the outbox relay can deliver a task afresh (its retries back at
    0) after the retry message was lost."""
    return failure.permanent or max(attempts, retries + 1) >= max_attempts


def backoff(retries: int) -> int:
    """Seconds before the next try: 1, 2, 4 … doubling, at most MAX_BACKOFF_SECONDS."""
    return int(min(2 ** retries, MAX_BACKOFF_SECONDS))
