"""Which failed sends are tried again and which are final, and how each is named on the record:
a 5xx reply is the server's last word, anything else may pass; the name is a reply code or an
error class, never the server's text (it can quote the address)."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage

import pytest

from infoshare_workflow.mail.delivery import MAX_ATTEMPTS, MAX_BACKOFF_SECONDS, Failure, backoff, classify, gives_up
from infoshare_workflow.mail.transport import SmtpTransport

from ..smtp import RefusingInbox, smtp_server, unreachable_smtp_url

ADDRESS = "ottoline@example.org"


def refused(*codes: int) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({f"r{i}-{ADDRESS}": (code, f"{code} <r{i}-{ADDRESS}> said no".encode())
                                          for i, code in enumerate(codes)})


@pytest.mark.parametrize(("error", "expected"), [
    (refused(550), Failure(permanent=True, error="550")),
    (refused(550, 553), Failure(permanent=True, error="550")),
    (refused(550, 451), Failure(permanent=False, error="451")),
    (refused(452), Failure(permanent=False, error="452")),
    (smtplib.SMTPSenderRefused(553, b"5.7.1 sender rejected", "school@example.org"), Failure(True, "553")),
    (smtplib.SMTPSenderRefused(421, b"4.7.0 slow down", "school@example.org"), Failure(False, "421")),
    (smtplib.SMTPDataError(554, b"5.7.1 message refused"), Failure(permanent=True, error="554")),
    (smtplib.SMTPDataError(451, b"4.3.0 try later"), Failure(permanent=False, error="451")),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), Failure(permanent=True, error="535")),
    (smtplib.SMTPConnectError(421, b"too busy"), Failure(permanent=False, error="421")),
], ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "")
def test_a_reply_code_decides_5xx_is_final_and_4xx_is_tried_again(error, expected):
    assert classify(error) == expected


@pytest.mark.parametrize("error", [
    smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("timed out"),
    socket.gaierror(-3, "Temporary failure in name resolution"),
    OSError(101, "Network is unreachable"),
    smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server"),
    smtplib.SMTPResponseException(-1, b"no reply"),
], ids=lambda error: type(error).__name__)
def test_a_failure_with_no_reply_code_is_tried_again_and_named_by_its_class(error):
    assert classify(error) == Failure(permanent=False, error=type(error).__name__)


def test_the_name_on_the_record_never_quotes_the_address_or_the_server():
    for error in (refused(550), refused(451), smtplib.SMTPDataError(554, f"<{ADDRESS}> refused".encode())):
        assert classify(error).error.isdigit()


@pytest.mark.parametrize(("reply", "at", "expected"), [
    ("550 5.1.1 mailbox unavailable", "RCPT", Failure(permanent=True, error="550")),
    ("451 4.3.0 try later", "RCPT", Failure(permanent=False, error="451")),
    ("554 5.7.1 message refused", "DATA", Failure(permanent=True, error="554")),
    ("451 4.3.0 try later", "DATA", Failure(permanent=False, error="451")),
])
def test_what_a_real_server_answers_is_classified_by_its_code(reply, at, expected):
    server = RefusingInbox()
    server.refuse(reply, at=at)
    with smtp_server(server) as (_, url), pytest.raises(smtplib.SMTPException) as raised:
        SmtpTransport(url, timeout=5).send(message())
    assert classify(raised.value) == expected
    assert server.messages == []


def test_a_server_that_is_down_is_tried_again():
    with pytest.raises(OSError) as raised:
        SmtpTransport(unreachable_smtp_url(), timeout=5).send(message())
    assert classify(raised.value) == Failure(permanent=False, error="ConnectionRefusedError")


def test_a_permanent_refusal_is_given_up_at_the_first_attempt():
    assert gives_up(Failure(True, "550"), attempts=1, retries=0)


def test_a_transient_failure_is_tried_again_until_the_last_attempt():
    transient = Failure(False, "451")
    assert not any(gives_up(transient, attempts=n + 1, retries=n) for n in range(MAX_ATTEMPTS - 1))
    assert gives_up(transient, attempts=MAX_ATTEMPTS, retries=MAX_ATTEMPTS - 1)


def test_attempts_counted_on_the_email_end_it_when_a_redelivered_task_starts_its_retries_afresh():
    assert gives_up(Failure(False, "451"), attempts=MAX_ATTEMPTS, retries=0)


def test_the_wait_doubles_up_to_its_ceiling():
    assert [backoff(n) for n in range(4)] == [1, 2, 4, 8]
    assert backoff(20) == MAX_BACKOFF_SECONDS


def message() -> EmailMessage:
    sent = EmailMessage()
    sent["From"], sent["To"], sent["Subject"] = "school@example.org", ADDRESS, "Test"
    sent.set_content("Hello")
    return sent
