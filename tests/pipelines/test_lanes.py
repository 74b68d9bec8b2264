"""Which lane a run is in: one item, or bulk work held to two runs at once (dagster.yaml)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._daemon.controller import create_daemon_of_type
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from lookervault_pipelines.instance.lanes import (BULK, ITEM, ITEM_PRIORITY, LANE_TAG, PRIORITY_TAG, LaneRunCoordinator, lane_of,
                                         lane_tags)

PROJECT_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"

START, END, PARTITION = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end", "dagster/partition"


def selected(**config: object) -> dict[str, object]:
    return {"ops": {"restore_selected_keys": {"config": {"content_type": "dashboards", **config}}}}


@pytest.mark.parametrize(("job", "tags", "run_config", "lane"), [
    # The UI's single-partition materialize, `dagster asset materialize --partition`.
    ("restore_dashboards", {PARTITION: "101"}, {}, ITEM),
    # `lookervault restore --ids 101`, a backfill of one partition.
    ("restore_dashboards", {START: "101", END: "101"}, {}, ITEM),
    # Backfills, schedules, `dagster job launch` with a range.
    ("restore_dashboards", {START: "101", END: "102"}, {}, BULK),
    ("__ASSET_JOB", {START: "1", END: "50000", "dagster/backfill": "abc"}, {}, BULK),
    ("restore_selected_keys_job", {}, selected(keys=["101"]), ITEM),
    ("restore_selected_keys_job", {}, selected(keys=["101", "101"]), ITEM),
    ("restore_selected_keys_job", {}, selected(keys=["101"], with_dependencies=True), ITEM),
    ("restore_selected_keys_job", {}, selected(keys=["101", "102"]), BULK),
    # No ids: every FAILED partition of the type.
    ("restore_selected_keys_job", {}, selected(), BULK),
    ("restore_selected_keys_job", {}, {}, BULK),
    # A filter selects from the whole backup, even when narrowed to one id.
    ("restore_selected_keys_job", {}, selected(keys=["101"], folders=["11"]), BULK),
    ("restore_selected_keys_job", {}, selected(updated_from="2024-01-01"), BULK),
    # A person's (or the CLI's) choice is kept.
    ("restore_dashboards", {START: "1", END: "9", LANE_TAG: ITEM}, {}, ITEM),
    ("restore_dashboards", {PARTITION: "101", LANE_TAG: BULK}, {}, BULK),
    # Any other run: an unpartitioned launch (it fails at once), a snapshot of all of Looker, a job added later.
    ("restore_dashboards", {}, {}, BULK),
    ("snapshot_job", {}, {}, BULK),
    ("resync_job", {}, {}, BULK),
])
def test_lane_of_a_run(job: str, tags: dict[str, str], run_config: dict[str, object], lane: str) -> None:
    assert lane_of(job, tags, run_config) == lane


def test_an_item_run_gets_priority_unless_one_is_set_and_bulk_runs_get_none() -> None:
    assert lane_tags("restore_dashboards", {PARTITION: "101"}, {}) == {LANE_TAG: ITEM, PRIORITY_TAG: ITEM_PRIORITY}
    assert lane_tags("restore_dashboards", {PARTITION: "101", PRIORITY_TAG: "-1"}, {}) == {LANE_TAG: ITEM}
    assert lane_tags("restore_dashboards", {START: "1", END: "2"}, {}) == {LANE_TAG: BULK}
    assert lane_tags("restore_dashboards", {START: "1", END: "2", LANE_TAG: BULK}, {}) == {}
    assert lane_tags("snapshot_job", {}, {}) == {LANE_TAG: BULK}


def test_the_daemon_looks_at_the_queue_every_half_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dagster.yaml's `dequeue_interval_seconds: 0.5` reaches the daemon Dagster builds (its own queue takes ints)."""
    shutil.copy(PROJECT_YAML, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_coordinator, LaneRunCoordinator)
        daemon = create_daemon_of_type(QueuedRunCoordinatorDaemon.daemon_type(), instance)
        assert daemon.interval_seconds == 0.5  # type: ignore[attr-defined]


def test_the_backfill_daemon_looks_every_two_seconds_and_the_asset_daemon_keeps_thirty(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dagster.yaml's `backfill_interval_seconds: 2` reaches the backfill daemon's loop when the daemon loads the
    instance; the auto-materialize daemon, timed by the same constant of Dagster's, keeps its 30 s."""
    from dagster._daemon import controller
    from dagster._daemon.asset_daemon import AssetDaemon

    monkeypatch.setattr(controller, "DEFAULT_DAEMON_INTERVAL_SECONDS", 30)  # put back after the test
    shutil.copy(PROJECT_YAML, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert "BACKFILL" in instance.get_required_daemon_types()  # what the daemon asks first, building the queue
        assert controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 2
        asset_daemon = create_daemon_of_type(AssetDaemon.daemon_type(), instance)
        assert asset_daemon._pre_sensor_interval_seconds == 30  # type: ignore[attr-defined]  # noqa: SLF001


def test_without_the_setting_the_backfill_daemon_keeps_dagsters_thirty_seconds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._daemon import controller

    monkeypatch.setattr(controller, "DEFAULT_DAEMON_INTERVAL_SECONDS", 30)
    (tmp_path / "dagster.yaml").write_text(
        "\n".join(line for line in PROJECT_YAML.read_text().splitlines() if "backfill_interval_seconds" not in line))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        instance.get_required_daemon_types()
        assert controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 30
