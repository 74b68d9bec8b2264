"""One dynamic partitions definition per content type, keyed by content id, and their sync."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dagster as dg

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType

__all__ = ["PARTITIONS", "SyncReport", "id_sort_key", "sync_partitions"]

PARTITIONS: Mapping[ContentType, dg.DynamicPartitionsDefinition] = {
    ct: dg.DynamicPartitionsDefinition(name=ct.plural) for ct in ContentType
}


def id_sort_key(item_id: str) -> tuple[int, str]:
    """Numeric ids in numeric order, so id ranges become contiguous partition ranges."""
    return (len(item_id), item_id) if item_id.isdigit() else (1_000_000, item_id)


@dataclass(frozen=True)
class SyncReport:
    """What a sync registered: new keys per type, totals, rows left out."""

    added: Mapping[ContentType, int]
    total: Mapping[ContentType, int]
    unrestorable: tuple[str, ...]

    def describe(self) -> str:
        parts = [f"{ct.plural}: {self.total[ct]} (+{self.added[ct]})" for ct in ContentType if self.total.get(ct)]
        text = "; ".join(parts) or "no content"
        if self.unrestorable:
            text += f"; not registered (cannot be restored): {', '.join(self.unrestorable)}"
        return text


def _new_keys(existing: Iterable[str], ids: Iterable[str]) -> list[str]:
    have = set(existing)
    return sorted({i for i in ids if i not in have}, key=id_sort_key)


def sync_partitions(instance: dg.DagsterInstance, backup: BackupReader) -> SyncReport:
    """Register every restorable id of the backup as a partition of its type's asset.

    Uses `instance.add_dynamic_partitions` directly: registering 50,000 keys
    takes ~0.4 s this way and ~96 s through a sensor's SensorResult request.
    Keys are never removed, so history of items no longer in a backup stays.
    Rows with id "unknown" are reported, not registered.
    """
    added: dict[ContentType, int] = {}
    total: dict[ContentType, int] = {}
    unrestorable: list[str] = []
    for ct, pdef in PARTITIONS.items():
        ids = []
        for row in backup.rows(ct):
            if row.id == "unknown":
                unrestorable.append(f"{ct.label} row with id 'unknown'")
            else:
                ids.append(row.id)
        assert pdef.name is not None
        new = _new_keys(instance.get_dynamic_partitions(pdef.name), ids)
        if new:
            instance.add_dynamic_partitions(pdef.name, new)
        added[ct] = len(new)
        total[ct] = len(set(ids))
    for raw_id, code in backup.unknown_type_rows():
        unrestorable.append(f"row {raw_id} with unknown content type code {code}")
    return SyncReport(added=added, total=total, unrestorable=tuple(unrestorable))
