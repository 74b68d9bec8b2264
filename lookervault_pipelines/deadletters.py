"""The dead-letter queue: failed partitions and the latest error recorded for each."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import dagster as dg

from lookervault_core.content_types import ContentType

from .execution import asset_key
from .partitions import PARTITIONS, id_sort_key

__all__ = ["DeadLetter", "dead_letters", "failed_keys"]


@dataclass(frozen=True)
class DeadLetter:
    """One failed item with its latest recorded error."""

    content_type: str
    id: str
    error_type: str
    error: str
    failed_at: str
    run_id: str
    transient: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


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


def dead_letters(instance: dg.DagsterInstance, types: list[ContentType] | None = None) -> list[DeadLetter]:
    """Every failed partition with its latest error, in type order then id order."""
    out: list[DeadLetter] = []
    for ct in types or list(ContentType):
        keys = failed_keys(instance, ct)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            latest: dict[str, DeadLetter] = {}
            records = instance.fetch_observations(
                dg.AssetRecordsFilter(asset_key=asset_key(ct), asset_partitions=chunk), limit=len(chunk) * 20,
                ascending=False,
            ).records
            for rec in records:
                obs = rec.asset_observation
                if obs is None or obs.partition in latest or obs.partition is None:
                    continue
                meta = obs.metadata
                if _text(meta.get("status")) != "failed":
                    continue
                latest[obs.partition] = DeadLetter(
                    content_type=ct.label, id=obs.partition, error_type=_text(meta.get("error_type")),
                    error=_text(meta.get("error")), failed_at=_text(meta.get("failed_at")),
                    run_id=rec.run_id or "", transient=_text(meta.get("transient")) == "True",
                )
            for key in chunk:
                out.append(latest.get(key) or DeadLetter(
                    content_type=ct.label, id=key, error_type="RunFailure",
                    error="the run failed before this item was attempted; see the run's logs",
                    failed_at="", run_id="", transient=True,
                ))
    return out
