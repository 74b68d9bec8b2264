"""Drift between a backup and Looker: what a restore would create or change, found by reads alone.

A dry-run `Restorer` decides each item exactly as a restore would (same
reads, same comparison) and writes nothing: `would_create` is an item Looker
lacks, `would_update` one that differs, `unchanged` one in sync. Bulk
listings (restore.prefetch) keep it to about one call per item, fewer for
the types they cover (all but dashboards, boards and LookML). An item that references a missing item is drifted too:
Looker gives a re-created object a new id, so the reference must be
re-pointed after it (a dashboard owned by a deleted user).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..content_types import ContentType
from ..errors import LookervaultError
from ..graph import TYPE_ORDER, references
from .batch import ItemFailure, restore_many
from .restorer import Restorer
from .result import Action

__all__ = ["DriftReport", "TypeDrift", "find_drift"]

Key = tuple[ContentType, str]

#: Types whose objects are keyed by name: a re-created one keeps its key, so references need no re-pointing.
_KEYED_BY_NAME = frozenset({ContentType.LOOKML_MODEL, ContentType.EXPLORE})


def _id_order(item_id: str) -> tuple[int, str]:
    return (len(item_id), item_id) if item_id.isdigit() else (1_000_000, item_id)


@dataclass(frozen=True)
class TypeDrift:
    """How the backup's items of one type compare with Looker.

    `missing`: Looker lacks the object (a restore creates it). `changed`: the
    object differs, by field (a restore updates it). `undecided`: the item
    could not be compared, with the error (a restore would fail the same way,
    or the read failed). `skipped`: items restore never writes (built-ins).
    """

    content_type: ContentType
    checked: int = 0
    missing: tuple[str, ...] = ()
    changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unchanged: int = 0
    skipped: int = 0
    undecided: Mapping[str, str] = field(default_factory=dict)
    api_calls: int = 0

    @property
    def drifted(self) -> list[str]:
        """Ids a restore would write: missing and changed, in id order."""
        return sorted({*self.missing, *self.changed}, key=_id_order)

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.changed or self.undecided)


@dataclass(frozen=True)
class DriftReport:
    """Drift of every type checked, the API calls it cost (listings and logins included) and its duration."""

    types: Mapping[ContentType, TypeDrift]
    api_calls: int
    duration_s: float

    def drifted(self) -> list[Key]:
        """Every missing or changed item, in restore order (types by TYPE_ORDER)."""
        return [(ct, i) for ct in TYPE_ORDER if ct in self.types for i in self.types[ct].drifted]

    @property
    def in_sync(self) -> bool:
        return all(t.in_sync for t in self.types.values())


def find_drift(restorer: Restorer, keys: Sequence[Key] | None = None, *, workers: int = 8) -> DriftReport:
    """Compare backup items with Looker without writing: a dry run over `keys` (default: the whole backup).

    Raises:
        ValueError: `restorer` is not a dry-run restorer.
    """
    if not restorer.dry_run:
        raise ValueError("find_drift needs a dry-run Restorer: it must write nothing")
    started = time.perf_counter()
    calls_before = restorer.client.calls
    if keys is None:
        keys = [(ct, i) for ct in TYPE_ORDER for i in restorer.backup.ids(ct) if i != "unknown"]
    summary = restore_many(restorer, keys, workers=workers)

    checked: dict[ContentType, int] = {}
    for ct, _ in keys:
        checked[ct] = checked.get(ct, 0) + 1
    missing: dict[ContentType, set[str]] = {}
    changed: dict[ContentType, dict[str, tuple[str, ...]]] = {}
    unchanged: dict[ContentType, list[str]] = {}
    skipped: dict[ContentType, int] = {}
    undecided: dict[ContentType, dict[str, str]] = {}
    calls: dict[ContentType, int] = {}
    for r in summary.results:
        ct = r.content_type
        calls[ct] = calls.get(ct, 0) + r.api_calls
        if r.action is Action.WOULD_CREATE:
            missing.setdefault(ct, set()).add(r.source_id)
        elif r.action is Action.WOULD_UPDATE:
            changed.setdefault(ct, {})[r.source_id] = r.changed_fields
        elif r.action is Action.UNCHANGED:
            unchanged.setdefault(ct, []).append(r.source_id)
        else:
            skipped[ct] = skipped.get(ct, 0) + 1
    for f in summary.failures:
        undecided.setdefault(f.content_type, {})[f.source_id] = _describe(f)

    # Unchanged items pointing at a missing one: re-pointed once it is re-created under a new id.
    gone = {(ct, i) for ct, ids in missing.items() if ct not in _KEYED_BY_NAME for i in ids}
    if gone:
        for ct, ids in unchanged.items():
            still = []
            for item_id in ids:
                try:
                    refs = references(ct, restorer.backup.get(ct, item_id).data)
                except LookervaultError:
                    refs = []
                stale = [f"{r.field} (-> {r.content_type.label} {r.id}, missing)" for r in refs
                         if (r.content_type, r.id) in gone]
                if stale:
                    changed.setdefault(ct, {})[item_id] = tuple(stale)
                else:
                    still.append(item_id)
            unchanged[ct] = still

    types = {
        ct: TypeDrift(
            content_type=ct,
            checked=checked[ct],
            missing=tuple(sorted(missing.get(ct, ()), key=_id_order)),
            changed=dict(sorted(changed.get(ct, {}).items(), key=lambda kv: _id_order(kv[0]))),
            unchanged=len(unchanged.get(ct, [])),
            skipped=skipped.get(ct, 0),
            undecided=dict(sorted(undecided.get(ct, {}).items(), key=lambda kv: _id_order(kv[0]))),
            api_calls=calls.get(ct, 0),
        )
        for ct in TYPE_ORDER if ct in checked
    }
    return DriftReport(types=types, api_calls=restorer.client.calls - calls_before,
                       duration_s=time.perf_counter() - started)


def _describe(failure: ItemFailure) -> str:
    return f"{failure.error.type}: {failure.error.message}"
