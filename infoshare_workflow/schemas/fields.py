"""Field types shared by every schema: text the database and the pages can hold, booleans
that are booleans, dates and times in a range a record can have.

Why here, before anything is stored: a 202 is a promise (INTERFACES.md §1). Whatever the
apply step, PostgreSQL, the encryption at rest or a page would choke on later (a NUL byte,
an unpaired surrogate, a year 9999 with a -14:00 offset) must be a 422 naming its field
now, not a parked event and a case nobody can see (golden rule 5: the safety of the child
depends on the concern arriving whole).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from marshmallow import ValidationError, fields

# C0 and C1 control characters: line breaks and tabs only where text may span lines.
_LINE_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SURROGATES = r"\ud800-\udfff"
_CONTROL_LINE = re.compile(f"[{_LINE_CONTROLS}]")
_CONTROL_TEXT = re.compile(f"[{_TEXT_CONTROLS}]")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
# Both checks in one search, for the common case of text with neither (every webhook field).
_UNFIT_LINE = re.compile(f"[{_LINE_CONTROLS}{_SURROGATES}]")
_UNFIT_TEXT = re.compile(f"[{_TEXT_CONTROLS}{_SURROGATES}]")
# The same rules for the OpenAPI document (JSON Schema `pattern`), so a client can check first.
LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
_ALLOWED = r"[^\u0000-\u001f\u007f-\u009f]"
TRIMMED_PATTERN = rf"^{_ALLOWED}*[^\s\u0000-\u001f\u007f-\u009f]{_ALLOWED}*$"  # at least one visible character

EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)

CONTROL_MESSAGE = "Must not contain control characters."
MULTILINE_CONTROL_MESSAGE = "Must not contain control characters other than line breaks and tabs."
SURROGATE_MESSAGE = "Must be valid Unicode text (it holds an unpaired surrogate)."


def check_text(value: str, *, multiline: bool) -> None:
    """Raise ValidationError for text that cannot be stored, shown or emailed as it is."""
    if not (_UNFIT_TEXT if multiline else _UNFIT_LINE).search(value):
        return
    if _SURROGATE.search(value):
        raise ValidationError(SURROGATE_MESSAGE)
    if (_CONTROL_TEXT if multiline else _CONTROL_LINE).search(value):
        raise ValidationError(MULTILINE_CONTROL_MESSAGE if multiline else CONTROL_MESSAGE)


class Text(fields.String):
    """A string with no unpaired surrogate and no control character (`multiline=True` allows
    line breaks and tabs: facts and opinion are written in paragraphs)."""

    pattern = LINE_PATTERN

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline
        self.metadata = {"pattern": TEXT_PATTERN if multiline else self.pattern, **self.metadata}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs))
        check_text(text, multiline=self.multiline)
        return text


class TrimmedText(Text):
    """Single-line text with surrounding whitespace removed before it is validated."""

    pattern = TRIMMED_PATTERN

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Email(fields.Email):
    """An address that can also be stored and put in a header as it is."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            check_text(value, multiline=False)
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


class StrictBoolean(fields.Boolean):
    """JSON `true` or `false` only: "yes", "no", 0 or 1 must not quietly switch a DSL on or off."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class BoundedAwareDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with an offset, from 1900 to 2100, and at most `future` ahead of now.

    Converted to UTC here, where an out-of-range offset (9999-12-31T23:59:59-14:00) is a
    field error, rather than in the database driver, where it is a failed apply.
    """

    def __init__(self, *, future: timedelta | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.future = future

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(timezone.utc)
        except (OverflowError, ValueError) as exc:
            raise ValidationError("Must be between 1900 and 2100.") from exc
        if not EARLIEST <= moment < LATEST:
            raise ValidationError("Must be between 1900 and 2100.")
        if self.future is not None and moment > datetime.now(timezone.utc) + self.future:
            raise ValidationError("Must not be in the future.")
        return moment


class BoundedDate(fields.Date):
    """A calendar date from 1900 to 2100 (`not_after_today` for a date of birth)."""

    def __init__(self, *, not_after_today: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.not_after_today = not_after_today

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST.date() <= day < LATEST.date():
            raise ValidationError("Must be between 1900 and 2100.")
        if self.not_after_today and day > datetime.now(timezone.utc).date():
            raise ValidationError("Must not be in the future.")
        return day
