"""The dead-letter queue: failed partitions and the latest error recorded for each."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import dagster as dg

from lookervault_core.content_types import ContentType

from .execution import SKIPPED_MODIFIED, STALE, asset_key
from .summary import item_name
from ..defs.partitions import PARTITIONS, id_sort_key

__all__ = ["DeadLetter", "dead_letters", "failed_keys"]


@dataclass(frozen=True)
class DeadLetter:
    """One failed item with its latest recorded error.

    `content_type` is the asset's name (`dashboards`), as `--types` and every
    JSON output of the CLI spell it; `title` and `folder` are the backup's,
    as the failure recorded them ("" when unknown).
    """

    content_type: str
    id: str
    title: str
    folder: str
    error_type: str
    error: str
    failed_at: str
    run_id: str
    transient: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def line(self) -> str:
        """`dashboard 101 "Sales Overview" (Sales): Unavailable: ... (run ID)`, for people."""
        named = item_name(ContentType.parse(self.content_type), self.id, self.title, self.folder)
        return f"{named}: {self.error_type}: {self.error}" + (f" (run {self.run_id})" if self.run_id else "")


def failed_keys(instance: dg.DagsterInstance, ct: ContentType) -> list[str]:
    """Partition keys of `ct` whose latest materialization attempt failed."""
    pdef = PARTITIONS[ct]
    assert pdef.name is not None
    keys = instance.get_dynamic_partitions(pdef.name)
    if not keys:
        return []
    status = instance.get_status_by_partition(asset_key(ct), keys, pdef) or {}
    return sorted((k for k, s in status.items() if s == dg.AssetPartitionStatus.FAILED), key=id_sort_key)


def _text(meta: object) -> str:
    return str(getattr(meta, "value", meta)) if meta is not None else ""


#: Observation statuses that are a key's outcome: a failure, or a deliberate non-restore that ends it.
_OUTCOMES = frozenset({"failed", STALE, SKIPPED_MODIFIED})


def _latest_failures(instance: dg.DagsterInstance, ct: ContentType) -> dict[str, dg.EventLogRecord]:
    """Keys whose newest outcome observation is a failure, with that observation (newest first scan)."""
    latest: dict[str, dg.EventLogRecord] = {}
    cursor: str | None = None
    while True:
        result = instance.fetch_observations(dg.AssetRecordsFilter(asset_key=asset_key(ct)), limit=1000,
                                             cursor=cursor, ascending=False)
        for rec in result.records:
            obs = rec.asset_observation
            if obs is not None and obs.partition and obs.partition not in latest \
                    and _text(obs.metadata.get("status")) in _OUTCOMES and "dry_run" not in obs.metadata:
                latest[obs.partition] = rec
        if not result.has_more:
            break
        cursor = result.cursor
    return {k: r for k, r in latest.items()
            if r.asset_observation is not None and _text(r.asset_observation.metadata.get("status")) == "failed"}


def _restored_since(instance: dg.DagsterInstance, ct: ContentType, failures: dict[str, dg.EventLogRecord]) -> set[str]:
    """Keys materialized after their latest failure."""
    if not failures:
        return set()
    # One query for every partition's latest materialization (the storage indexes it), however many keys failed.
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        asset_key(ct), dg.DagsterEventType.ASSET_MATERIALIZATION)
    return {k for k, rec in failures.items() if latest.get(k, -1) > rec.storage_id}


def dead_letters(instance: dg.DagsterInstance, types: list[ContentType] | None = None) -> list[DeadLetter]:
    """Every item whose latest outcome is a failure, whatever launched the run, in type then id order.

    A key is a dead letter when its partition is FAILED (range runs) or when
    its newest failure was recorded after its newest materialization (runs
    that plan no partitions, such as `restore_selected_keys_job`). The error
    is that failure's; a FAILED key with none since its last success failed
    with its whole run (killed, or crashed before recording items).
    """
    out: list[DeadLetter] = []
    for ct in types or list(ContentType):
        failures = _latest_failures(instance, ct)
        restored = _restored_since(instance, ct, failures)
        current = {k: r for k, r in failures.items() if k not in restored}
        for key in sorted(set(current) | set(failed_keys(instance, ct)), key=id_sort_key):
            rec = current.get(key)
            obs = rec.asset_observation if rec is not None else None
            if rec is None or obs is None:
                out.append(DeadLetter(
                    content_type=ct.plural, id=key, title="", folder="", error_type="RunFailure",
                    error="its run failed (or was killed) before recording this item; see the run's logs",
                    failed_at="", run_id="", transient=True,
                ))
                continue
            meta = obs.metadata
            out.append(DeadLetter(
                content_type=ct.plural, id=key, title=_text(meta.get("title")), folder=_text(meta.get("folder")),
                error_type=_text(meta.get("error_type")),
                error=_text(meta.get("error")), failed_at=_text(meta.get("failed_at")),
                run_id=rec.run_id or "", transient=_text(meta.get("transient")) == "True",
            ))
    return out
