"""What restoring one item did."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..content_types import ContentType
from ..errors import ErrorInfo
from ..graph import Ref

__all__ = ["Action", "ItemFailure", "Outcome", "RestoreResult"]


class Action(enum.StrEnum):
    """What restore did, or in a dry run would do, to one item."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    WOULD_CREATE = "would_create"
    WOULD_UPDATE = "would_update"

    @property
    def wrote(self) -> bool:
        """Whether this action wrote to Looker."""
        return self in (Action.CREATED, Action.UPDATED)


@dataclass(frozen=True)
class RestoreResult:
    """The outcome of restoring one backup item.

    `changed_fields` names what differed from the live object (nested parts as
    `dashboard_elements[301].title`); `api_calls` counts HTTP calls this item
    made, retries included; `message` explains skips and notes (a dropped
    owner, a system folder that was mapped rather than created); `deferred`
    names soft references to items of the backup that were not restored yet
    and were left unset: restoring the item again after them sets them.
    `modified_in_looker` marks a skip because Looker changed the item after
    the backup (skip_modified): Looker then still differs from the backup.
    """

    content_type: ContentType
    source_id: str
    destination_id: str | None
    action: Action
    changed_fields: tuple[str, ...]
    api_calls: int
    duration_s: float
    url: str | None
    content_hash: str
    message: str = ""
    deferred: tuple[Ref, ...] = ()
    modified_in_looker: bool = False
    #: In a dry run, the calls left out (writes; reads of items it would create) that a real restore would make.
    planned_calls: int = 0


@dataclass(frozen=True)
class ItemFailure:
    """An item that could not be restored: the dead-letter record."""

    content_type: ContentType
    source_id: str
    error: ErrorInfo
    traceback: str
    failed_at: str
    duration_s: float


Outcome = RestoreResult | ItemFailure
