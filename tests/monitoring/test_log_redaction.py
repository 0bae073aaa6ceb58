"""Log lines carry neither a link's token nor the value an exception failed on."""

from __future__ import annotations

import io
import logging

import pytest

from infoshare_workflow.monitoring.log_redaction import RedactingFilter, redact

from .. import factories


def logged(emit) -> str:
    """What a handler with the filter writes for records emitted by `emit(logger)`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"test.redaction.{id(stream)}")
    logger.propagate, logger.level = False, logging.DEBUG
    logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize("line", [
    '127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET /tasks/IjJoQ2Zy.aBc-_9 HTTP/1.1" 200 512 "-" "Mozilla"',
    '"POST /disclosures/eyJhbGciOi.xyz?x=1 HTTP/1.1" 410',
    "Exception on /tasks/IjJoQ2Zy.aBc-_9 [POST]",
])
def test_tokens_in_paths_are_redacted(line):
    redacted = redact(line)
    assert "IjJoQ2Zy" not in redacted and "eyJhbGciOi" not in redacted
    assert "/tasks/[token]" in redacted or "/disclosures/[token]" in redacted


def test_the_confirmation_receipt_and_a_new_link_request_are_redacted_and_other_paths_kept():
    line = ('"GET /tasks/recorded/ImFiYyI.xyz HTTP/1.1" 200 "POST /tasks/IjJoQ2Zy.aBc/new-link HTTP/1.1" 200 '
            '"GET /api/v1/cases/IS-ABC HTTP/1.1"')
    assert redact(line) == ('"GET /tasks/[token] HTTP/1.1" 200 "POST /tasks/[token] HTTP/1.1" 200 '
                            '"GET /api/v1/cases/IS-ABC HTTP/1.1"')


def test_a_token_passed_as_an_argument_is_redacted_too():
    out = logged(lambda log: log.info("opened %s for %s", "/disclosures/eyJzZWNyZXQi.abc", "IS-1"))
    assert out == "INFO opened /disclosures/[token] for IS-1\n"


def test_an_exception_keeps_its_class_and_frames_but_not_its_message():
    def fail(log):
        try:
            {}[factories.PUPIL_GIVEN]
        except KeyError:
            log.exception("rendering failed")

    out = logged(fail)
    assert factories.PUPIL_GIVEN not in out
    assert "KeyError (message withheld" in out and "Traceback (most recent call last)" in out
    assert "test_log_redaction.py" in out  # the frames are kept for whoever fixes it


def test_every_exception_in_a_chain_is_withheld():
    def fail(log):
        try:
            try:
                int(factories.PUPIL_FAMILY)
            except ValueError as exc:
                raise RuntimeError(f"could not read {factories.PUPIL_GIVEN}") from exc
        except RuntimeError:
            log.error("failed", exc_info=True)

    out = logged(fail)
    assert factories.PUPIL_GIVEN not in out and factories.PUPIL_FAMILY not in out
    assert "ValueError (message withheld" in out and "RuntimeError (message withheld" in out


def test_celerys_task_failure_line_names_the_class_only():
    def fail(log):
        try:
            raise ValueError(factories.CONCERN_FACTS)
        except ValueError as exc:
            log.error("Task %(name)s[%(id)s] raised unexpected: %(exc)s",
                      {"name": "infoshare.x", "id": "1", "exc": repr(exc)}, exc_info=True)

    out = logged(fail)
    assert factories.CONCERN_FACTS not in out
    assert "Task infoshare.x[1] raised unexpected: ValueError (message withheld" in out
