"""SQLAlchemy models: the durable state of every case (the database is the source of truth)."""

from .base import Base, UTCDateTime, utcnow
from .cases import Case, ChronologyEntry, Concern, DecisionRecord, Step
from .people import ClosureDate, Contact, Pupil, Staff, StaffRole
from .records import AdminToken, AuditEvent, ReceivedEvent, RejectionTally
from .workflow import Disclosure, Email, Notice, OutboxMessage, Recipient, StepTimer, TaskLink

__all__ = [
    "AdminToken", "AuditEvent", "Base", "Case", "ChronologyEntry", "ClosureDate", "Concern",
    "Contact", "DecisionRecord", "Disclosure", "Email", "Notice", "OutboxMessage", "Recipient", "StepTimer", "TaskLink", "Pupil", "ReceivedEvent", "RejectionTally", "Staff", "StaffRole", "Step",
    "UTCDateTime", "utcnow",
]
