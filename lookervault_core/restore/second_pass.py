"""The second pass: items written before something they softly reference, restored once more after it.

A user is restored before folders (its home folder is a folder, and personal
folders need their owner first), so a user whose home folder is restored by the
same restore is written without it. Such an item says what it left out
(`RestoreResult.deferred`); once the item it left out has been restored, restoring
the first item again sets the reference. Every way of restoring (one batch on
threads, one Dagster step over several types, the CLI's runs type after type)
keeps one `SecondPass` and asks it what is due, so they agree on what is
restored again.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..content_types import ContentType
from ..graph import TYPE_ORDER, Ref
from .result import ItemFailure, Outcome, RestoreResult

__all__ = ["Key", "SecondPass", "deferred_labels", "parse_deferred_labels"]

Key = tuple[ContentType, str]


def deferred_labels(refs: Iterable[Ref]) -> list[str]:
    """How an item's deferred references are recorded for people (`home_folder_id: folder 7`)."""
    return [f"{r.field}: {r.content_type.label} {r.id}" for r in refs]


def parse_deferred_labels(labels: Iterable[object]) -> tuple[Key, ...]:
    """The items `deferred_labels` named; labels that do not parse are left out.

    A recorded event is all a later run has of the outcome it describes.
    """
    keys: list[Key] = []
    for label in labels:
        _, _, target = str(label).rpartition(": ")
        kind, _, item_id = target.rpartition(" ")
        try:
            keys.append((ContentType.parse(kind), item_id))
        except ValueError:
            continue
    return tuple(keys)


class SecondPass:
    """What one restore has restored, and which of its items are due to be restored again.

    An item is due when it was written without a reference to an item that this
    restore restored afterwards (or earlier in another step: order does not
    matter, only that the referenced item now exists). An item whose
    reference was not restored here would only be written without it again,
    so it is not due. An item restored again without deferring anything is no
    longer due.
    """

    def __init__(self) -> None:
        self._waiting: dict[Key, frozenset[Key]] = {}
        self._restored: set[Key] = set()

    def record(self, key: Key, *, restored: bool, deferred: Iterable[Key] = ()) -> None:
        """One item's outcome: restored or not, and the references it was written without."""
        if not restored:
            self._restored.discard(key)
            return
        self._restored.add(key)
        waiting = frozenset(deferred)
        if waiting:
            self._waiting[key] = waiting
        else:
            self._waiting.pop(key, None)

    def record_outcome(self, outcome: Outcome) -> None:
        key = (outcome.content_type, outcome.source_id)
        if isinstance(outcome, ItemFailure):
            self.record(key, restored=False)
        elif isinstance(outcome, RestoreResult):
            self.record(key, restored=True, deferred=((r.content_type, r.id) for r in outcome.deferred))

    def due(self) -> dict[ContentType, list[str]]:
        """Items to restore again, by type in restore order (then in the order they were recorded)."""
        by_type: dict[ContentType, list[str]] = {}
        for (ct, item_id), refs in self._waiting.items():
            if refs & self._restored:
                by_type.setdefault(ct, []).append(item_id)
        return {ct: by_type[ct] for ct in TYPE_ORDER if ct in by_type}

    def due_keys(self) -> list[Key]:
        """`due` as one list of keys, in restore order."""
        return [(ct, item_id) for ct, ids in self.due().items() for item_id in ids]

    def done(self, keys: Iterable[Key]) -> None:
        """`keys` were restored again: not due any more, whatever they deferred this time."""
        for key in keys:
            self._waiting.pop(key, None)
