"""SQLAlchemy models: the durable state of every case (the database is the source of truth)."""

from infoshare_workflow.storage.models.base import Base, UTCDateTime, utcnow
from infoshare_workflow.storage.models.cases import (
    Case,
    ChronologyEntry,
    Concern,
    DecisionRecord,
    Reassignment,
    Step,
)
from infoshare_workflow.storage.models.people import ClosureDate, Contact, Pupil, Staff, StaffRole
from infoshare_workflow.storage.models.records import AdminToken, AuditEvent, ReceivedEvent, RejectionTally
from infoshare_workflow.storage.models.review import Disposal, ReviewItem, ReviewLink, ReviewList
from infoshare_workflow.storage.models.schedules import RunReportItem, Schedule, ScheduleRun
from infoshare_workflow.storage.models.workflow import (
    Disclosure,
    Email,
    Notice,
    OutboxMessage,
    Recipient,
    StepTimer,
    TaskLink,
)

__all__ = [
    "AdminToken", "AuditEvent", "Base", "Case", "ChronologyEntry", "ClosureDate", "Concern",
    "Contact", "DecisionRecord", "Disclosure", "Email", "Notice", "OutboxMessage", "Recipient", "StepTimer", "TaskLink", "Pupil", "Reassignment", "ReceivedEvent", "RejectionTally", "Staff", "StaffRole", "Step",
    "RunReportItem", "Schedule", "ScheduleRun",
    "UTCDateTime", "utcnow", "Disposal", "ReviewItem", "ReviewLink", "ReviewList",
]
