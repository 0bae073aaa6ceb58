"""The order in which writers of a case take its rows, so that two of them wait, never deadlock.

A transaction that changes a case's steps, or the case alongside other rows, takes the
case's row first (`lock_case`, or `lock_cases` for several, in id order), then the step it
acts on (`sharing.steps.lock_step`), then that step's links and timers. So do:

- answering a task, resending it, asking for a fresh link, reassigning it;
- handing steps over when staff leave (their cases in id order);
- answering a retention review list, placing a legal hold, cancelling a disposal, erasing
  (which then takes the pupil's row, `lock_pupil`, before asking whether they go too).

Two writers of one case then take turns, and the second reads what the first committed: a
second answer to a step finds it answered, a cancellation finds the case erased, an erasure
finds the privacy notice just queued to the pupil's family. Taken in any other order, each
could hold a row the other needs, and PostgreSQL fails one of them: a DSL's good answer met
an error page, a legal hold failed while the sweep erased its case.

Three writers never wait, and so can never close a cycle. The dispatcher and the retention
sweep claim only rows they can lock at once (SKIP LOCKED: a timer with its step, a disposal
with its case). Applying an MIS event, which already holds its inbox row (erasing a case
writes it too), takes the case only if it is free (`wait=False`) and otherwise leaves the
event for the next pass. The privacy notices run does wait, for its batch of pupils in id
order, and holds nothing another writer of a pupil waits for: a pupil being updated is done
once free, one being erased is gone.

On SQLite every transaction already runs alone (BEGIN IMMEDIATE); `FOR UPDATE` is not
written there, and reading the rows again is all these functions do.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.storage.models import Case, Pupil


def lock_case(session: Session, case: Case, *, wait: bool = True) -> bool:
    """Take the case's row lock and read the case again, in one statement; True once it is held.

    What this session changed is flushed first, not lost. By default this waits for any other
    writer of the case. With `wait=False` it returns False at once when another transaction
    holds the case (SKIP LOCKED), holding nothing.
    """
    query = (select(Case).where(Case.id == case.id).with_for_update(skip_locked=not wait)
             .execution_options(populate_existing=True))
    return session.scalars(query).first() is not None


def lock_cases(session: Session, case_ids: Collection[str]) -> None:
    """Take the rows of the cases with these references, in id order (so that two writers of
    several cases cannot each hold one the other needs); read them afresh after this."""
    session.execute(select(Case.id).where(Case.case_id.in_(set(case_ids))).order_by(Case.id).with_for_update())


def lock_pupil(session: Session, pupil_id: int) -> bool:
    """Take the pupil's row (waiting for any other writer of it); False if they are gone."""
    return session.scalars(select(Pupil.id).where(Pupil.id == pupil_id).with_for_update()).first() is not None
