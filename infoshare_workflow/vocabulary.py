"""The project's vocabulary (DOMAIN.md): public enum values, spelled exactly."""

from __future__ import annotations

URGENCIES = ("immediate", "high", "standard")
THRESHOLDS = ("universal", "early_help", "child_in_need", "child_protection")
CATEGORIES = (
    "physical_abuse", "emotional_abuse", "sexual_abuse", "neglect", "online_safety",
    "peer_on_peer", "domestic_abuse", "mental_health", "attendance", "other",
)
ROLES = ("dsl", "manager", "admin", "staff")
STEP_KINDS = ("consent", "consultation", "share")
STEP_STATUSES = ("pending", "open", "done", "cancelled")
CASE_STATUSES = ("open", "closed", "disposed")
EVENT_TYPES = ("concern.raised", "concern.updated", "pupil.updated", "staff.upserted", "calendar.closures")
RETENTION_CATEGORIES = ("child_protection", "early_help", "low_level")
