"""The project's dagster.yaml keeps SQLite engines between events: same files, same events as Dagster's default."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from lookervault_pipelines.instance.sqlite_storage import EngineKeepingSqliteEventLogStorage

PROJECT_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b"]))
def probe(context) -> dg.MaterializeResult:  # type: ignore[no-untyped-def]  # (a string annotation is refused)
    return dg.MaterializeResult(metadata={"key": context.partition_key})


def _materialized(instance: dg.DagsterInstance) -> set[str]:
    return set(instance.get_materialized_partitions(probe.key))


def test_the_projects_instance_and_dagsters_default_read_each_others_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    shutil.copy(PROJECT_YAML, home / "dagster.yaml")
    with dg.DagsterInstance.get() as project:
        assert isinstance(project.event_log_storage, EngineKeepingSqliteEventLogStorage)
        assert dg.materialize([probe], instance=project, partition_key="a").success
    # The same home without the block: Dagster's default storage, on the same files.
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as default:
        assert type(default.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert _materialized(default) == {"a"}
        assert dg.materialize([probe], instance=default, partition_key="b").success
    shutil.copy(PROJECT_YAML, home / "dagster.yaml")
    with dg.DagsterInstance.get() as project:
        assert _materialized(project) == {"a", "b"}


def test_engines_are_kept_for_the_index_and_the_latest_run_shards(tmp_path: Path) -> None:
    storage = EngineKeepingSqliteEventLogStorage(str(tmp_path / "runs"))
    try:
        for n in range(20):
            with storage.run_connection(f"run-{n}") as conn:
                conn.exec_driver_sql("select 1")
            with storage.index_connection() as conn:
                conn.exec_driver_sql("select 1")
        assert "index" in storage._engines and len(storage._engines) == 9
        assert [s for s in storage._engines if s != "index"] == [f"run-{n}" for n in range(12, 20)]
    finally:
        storage.dispose()
    assert not storage._engines


ten = dg.StaticPartitionsDefinition([f"p{n}" for n in range(10)])


@dg.asset(partitions_def=ten, backfill_policy=dg.BackfillPolicy.single_run())
def ranged(context) -> dg.MaterializeResult:  # type: ignore[no-untyped-def]
    return dg.MaterializeResult(metadata={"keys": len(context.partition_keys)}, data_version=dg.DataVersion("v1"))


def _range_run(home: Path, batch_size: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """One run over p0..p9 on the project's instance; what Dagster then reads of it."""
    home.mkdir()
    shutil.copy(PROJECT_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # Dagster batches the planned events of a run, and the materializations of an output's partitions.
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([ranged], instance=instance, tags={
            "dagster/asset_partition_range_start": "p0", "dagster/asset_partition_range_end": "p9"})
        assert result.success
        records = instance.fetch_materializations(ranged.key, limit=100).records
        planned = instance.event_log_storage.get_event_records(dg.EventRecordsFilter(
            dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=ranged.key))
        asset = instance.get_asset_records([ranged.key])[0].asset_entry
        return {
            "partitions": sorted(instance.get_materialized_partitions(ranged.key)),
            "materializations": sorted((r.partition_key, r.asset_materialization.tags.get("dagster/data_version"))
                                       for r in records if r.asset_materialization),
            "planned": sorted(str(r.partition_key) for r in planned),
            # What the asset tags table holds (the data version of each partition's event).
            "tags": sorted(sorted(t.items()) for t in instance.event_log_storage.get_event_tags_for_asset(
                ranged.key, filter_tags={})),
            "last_run": asset.last_run_id == result.run_id,
            "last_partition": asset.last_materialization_record.event_log_entry.dagster_event.partition,
            "run_events": [e.dagster_event_type for e in instance.all_logs(result.run_id) if e.is_dagster_event],
        }


def test_a_batch_of_events_is_read_as_the_same_events_written_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = EngineKeepingSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(EngineKeepingSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: (calls.append(len(events)), real(self, events))[1])
    one_by_one = _range_run(tmp_path / "one", "0", monkeypatch)
    assert not calls
    batched = _range_run(tmp_path / "batched", "100", monkeypatch)
    assert calls == [10, 10]  # the planned events, then the materializations
    assert batched == one_by_one
    assert batched["partitions"] == [f"p{n}" for n in range(10)]
    assert batched["materializations"] == [(f"p{n}", "v1") for n in range(10)]
    assert batched["planned"] == [f"p{n}" for n in range(10)]
    assert batched["last_run"] is True


def test_a_batch_that_fails_midway_leaves_nothing_behind_for_dagsters_one_by_one_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index shard's part of a batch fails: Dagster then stores the batch one event at a time."""
    one_by_one = _range_run(tmp_path / "one", "0", monkeypatch)
    failures: list[int] = []
    real = EngineKeepingSqliteEventLogStorage._store_asset_event_tags

    def fail_once(self, conn, events, ids):  # type: ignore[no-untyped-def]
        if not failures:
            failures.append(len(events))
            raise RuntimeError("the index shard's write failed after the run shard's")
        return real(self, conn, events, ids)

    monkeypatch.setattr(EngineKeepingSqliteEventLogStorage, "_store_asset_event_tags", fail_once)
    recovered = _range_run(tmp_path / "recovered", "100", monkeypatch)
    assert failures == [10]
    assert recovered == one_by_one
    assert recovered["run_events"].count(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED) == 10
