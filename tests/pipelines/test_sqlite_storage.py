"""The project's dagster.yaml keeps SQLite engines between events: same files, same events as Dagster's default."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from lookervault_pipelines.sqlite_storage import EngineKeepingSqliteEventLogStorage

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
