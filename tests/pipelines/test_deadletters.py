"""`dead_letters` reads the event log a bounded number of times, however many keys failed."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from lookervault_core.content_types import ContentType as CT
from lookervault_pipelines.restore_step.deadletters import dead_letters

DASHBOARDS = dg.AssetKey("dashboards")


def _fail_then_heal(instance: dg.DagsterInstance, keys: list[str], healed: set[str]) -> None:
    """Each key fails (an outcome observation as a restore records it); `healed` ones are materialized since."""
    instance.add_dynamic_partitions("dashboards", keys)
    for key in keys:
        instance.report_runless_asset_event(dg.AssetObservation(DASHBOARDS, partition=key, metadata={
            "status": "failed", "error_type": "Unavailable", "error": "503", "failed_at": "2026-01-01T00:00:00Z",
            "transient": "True"}))
    for key in keys:
        if key in healed:
            instance.report_runless_asset_event(dg.AssetMaterialization(DASHBOARDS, partition=key))


def _counting_reads(instance: dg.DagsterInstance) -> Counter[str]:
    """Calls of the instance's event log storage's read methods, by name, from now on."""
    storage = instance.event_log_storage
    calls: Counter[str] = Counter()

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return method(*args, **kwargs)
        return wrapper

    for name in dir(storage):
        if name.startswith(("get_", "fetch_")) and callable(method := getattr(storage, name)):
            setattr(storage, name, counted(name, method))
    return calls


def _reads(tmp_path: Path, failed: int) -> Counter[str]:
    keys = [str(i) for i in range(1, failed + 1)]
    healed = set(keys[::2])
    (home := tmp_path / str(failed)).mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        _fail_then_heal(instance, keys, healed)
        calls = _counting_reads(instance)
        letters = dead_letters(instance, [CT.DASHBOARD])
    assert [d.id for d in letters] == [k for k in keys if k not in healed]
    return calls


def test_dead_letters_reads_do_not_grow_with_failed_keys(tmp_path: Path) -> None:
    # It was one materialization query per failed key (`_restored_since` re-run for each): 8 minutes at scale.
    few, many = _reads(tmp_path, 4), _reads(tmp_path, 600)
    assert sum(many.values()) == sum(few.values()), (few, many)
