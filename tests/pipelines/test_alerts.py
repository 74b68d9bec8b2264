"""The `alerts` asset: after dashboards and users, one partition per alert id, restored for real against the fake."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.backups import build_backup, sample_alert, sample_items
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.restore_step.deadletters import dead_letters

from .test_pipeline import FAILED, MAT, run_range, statuses


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    """The sample with two alerts, as a snapshot holds them."""
    return build_backup(tmp_path / "backup.sqlite", [*sample_items(), sample_alert("71", "1002", "101", "5"),
                                                     sample_alert("72", "1005", "101", "6")])


def test_the_alerts_asset_waits_for_dashboards_and_users() -> None:
    asset = defs.resolve_assets_def("alerts")
    assert isinstance(asset.partitions_def, dg.DynamicPartitionsDefinition) and asset.partitions_def.name == "alerts"
    [spec] = asset.specs
    assert {dep.asset_key.path[0] for dep in spec.deps} == {"dashboards", "users"}
    assert all(isinstance(dep.partition_mapping, dg.AllPartitionMapping) for dep in spec.deps)


def test_a_deleted_alert_is_restored_as_its_partition_and_one_whose_tile_is_gone_fails_naming_it(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    assert synced.get_dynamic_partitions("alerts") == ["71", "72"]
    looker.remove("alerts", "71")
    result = run_range(synced, CT.ALERT, "71", "72")
    assert result.success
    assert statuses(synced, CT.ALERT) == {"71": MAT, "72": MAT}
    actions = {m.partition: m.metadata["action"].value for m in result.asset_materializations_for_node("alerts")}
    assert actions == {"71": "created", "72": "unchanged"}
    assert sorted(str(a["dashboard_element_id"]) for a in looker.all("alerts").values()) == ["1002", "1005"]

    looker.remove("dashboard_elements", "1005")  # its alert 72 is orphaned, then deleted
    looker.remove("alerts", "72")
    assert not run_range(synced, CT.ALERT, "72", "72").success
    assert statuses(synced, CT.ALERT)["72"] == FAILED
    [letter] = dead_letters(synced, [CT.ALERT])
    assert letter.id == "72" and "needs dashboard_element 1005" in letter.error and "dashboard 101" in letter.error
