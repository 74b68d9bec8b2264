"""`snapshot_job` run in process against the fake Looker: the file it writes, and a failure that writes none."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.definitions import defs


def _run(instance: dg.DagsterInstance, out: Path) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("snapshot_job").execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"ops": {"take_looker_snapshot": {"config": {"out": str(out)}}}},
    )


def test_snapshot_job_writes_the_instance_with_its_counts_as_metadata(
    looker: FakeLooker, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    out = tmp_path / "snapshots" / "looker.sqlite"
    result = _run(instance, out)
    assert result.success
    [materialized] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = materialized.step_output_data.metadata  # type: ignore[union-attr]
    assert metadata["counts"].value[CT.DASHBOARD.plural] == 2  # type: ignore[index]
    with BackupReader(out) as reader:
        dashboard = reader.get(CT.DASHBOARD, "101").data
    assert [lay["label"] for lay in dashboard["dashboard_layouts"]] == ["Overview", "Details"]  # type: ignore[index, union-attr]


def test_a_failed_snapshot_fails_the_run_and_leaves_no_file(
    looker: FakeLooker, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", "wrong-secret")
    result = _run(instance, tmp_path / "looker.sqlite")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "snapshot failed" in str(failure.step_failure_data.error)  # type: ignore[union-attr]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.sqlite", "dagster_home"]
