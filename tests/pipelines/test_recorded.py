"""Issue 10: an unchanged item already recorded as restored from the same backup content costs no event."""

from __future__ import annotations

import dagster as dg
import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker import FakeLooker, ServerError
from lookervault_pipelines.restore_step.deadletters import dead_letters, failed_keys
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.restore_step.summary import summarize

from .test_pipeline import FAILED, MAT, run_range, statuses

NO_RETRY = {"looker": {"config": {"retry_attempts": 1, "retry_backoff_seconds": 0.0}}}


def materialized(result: dg.ExecuteInProcessResult, node: str) -> dict[str, str]:
    return {str(m.partition): m.metadata["action"].value for m in result.asset_materializations_for_node(node)}


def test_a_second_run_over_unchanged_items_records_no_event_and_keeps_them_green(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    first = run_range(synced, CT.DASHBOARD, "101", "102")
    assert materialized(first, "dashboards") == {"101": "unchanged", "102": "unchanged"}

    again = run_range(synced, CT.DASHBOARD, "101", "102")
    assert again.success
    # Both partitions were planned by `again` and not materialized by it: a
    # successful run leaves them with their standing materialization.
    assert materialized(again, "dashboards") == {}
    assert not [o for o in again.asset_observations_for_node("dashboards") if o.partition]
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT}
    assert summarize(CT.DASHBOARD, again).counts["unchanged"] == 2


def test_a_changed_item_still_materializes(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    assert run_range(synced, CT.LOOK, "201", "202").success
    look = looker.get("looks", "202")
    assert look is not None
    looker.put("looks", {**look, "title": "Renamed in Looker"})
    again = run_range(synced, CT.LOOK, "201", "202")
    assert again.success
    assert materialized(again, "looks") == {"202": "updated"}
    assert statuses(synced, CT.LOOK) == {"201": MAT, "202": MAT}


def test_another_backup_content_materializes_even_when_looker_already_equals_it(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """The standing record must be of this backup: an item recorded from another one is recorded afresh."""
    assert run_range(synced, CT.FOLDER, "11", "13").success
    records = synced.fetch_materializations(dg.AssetKey("folders"), limit=10).records
    # As if the earlier restore had come from another backup file.
    synced.report_runless_asset_event(dg.AssetMaterialization(
        asset_key="folders", partition="12",
        metadata={**records[0].asset_materialization.metadata, "backup_fingerprint": "another"}))  # type: ignore[union-attr]
    again = run_range(synced, CT.FOLDER, "11", "13")
    assert materialized(again, "folders") == {"12": "unchanged"}


def run_range_refused(looker: FakeLooker, synced: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """A range run over dashboards 101-102 while Looker refuses every dashboard create (no retries)."""
    looker.inject("POST /dashboards", ServerError(500), times=1000)
    return defs.resolve_job_def("restore_dashboards").execute_in_process(
        instance=synced, raise_on_error=False, tags={"dagster/asset_partition_range_start": "101",
                                                     "dagster/asset_partition_range_end": "102"},
        run_config={"resources": NO_RETRY})


def test_a_failing_run_keeps_its_unchanged_items_green_and_its_failures_failed(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    assert run_range(synced, CT.DASHBOARD, "101", "102").success
    looker.remove("dashboards", "101")
    result = run_range_refused(looker, synced)
    assert not result.success
    # 102 was unchanged and silent, but this run planned it and failed: re-recorded, so not FAILED.
    assert statuses(synced, CT.DASHBOARD) == {"101": FAILED, "102": MAT}
    assert failed_keys(synced, CT.DASHBOARD) == ["101"]

    looker.clear_faults()
    fixed = run_range(synced, CT.DASHBOARD, "101", "102")
    assert materialized(fixed, "dashboards") == {"101": "created"}
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT}


def test_an_unchanged_item_re_recorded_by_a_failing_run_counts_as_unchanged(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """Issue 16: a second restore that created nothing reported the first one's "created" items again."""
    looker.remove("dashboards", "102")
    first = run_range(synced, CT.DASHBOARD, "101", "102")
    assert materialized(first, "dashboards") == {"101": "unchanged", "102": "created"}
    looker.remove("dashboards", "101")
    result = run_range_refused(looker, synced)
    assert materialized(result, "dashboards") == {"102": "unchanged"}  # re-recorded, as this run found it
    counts = summarize(CT.DASHBOARD, result).counts
    assert (counts["created"], counts["unchanged"], counts["failed"]) == (0, 1, 1)


def test_a_dead_letter_is_cleared_by_the_next_success_even_when_unchanged(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """A failure recorded after the last materialization (selected-keys run) needs a new materialization."""
    job = defs.resolve_job_def("restore_selected_keys_job")
    config = {"ops": {"restore_selected_keys": {"config": {"content_type": "looks", "keys": ["201", "202"]}}},
              "resources": NO_RETRY}
    assert job.execute_in_process(instance=synced, run_config=config).success
    looker.inject("GET /looks/201", ServerError(500), times=1000)
    assert not job.execute_in_process(instance=synced, run_config=config, raise_on_error=False).success
    assert [d.id for d in dead_letters(synced, [CT.LOOK])] == ["201"]
    looker.clear_faults()
    again = job.execute_in_process(instance=synced, run_config=config)
    assert materialized(again, "restore_selected_keys") == {"201": "unchanged"}
    assert dead_letters(synced, [CT.LOOK]) == []


def test_a_large_selection_plans_nothing_and_its_failures_end_as_failed_partitions(
    looker: FakeLooker, synced: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's shape above MAX_PLANNED_KEYS: one selected-keys run, then its failures as partitions."""
    from lookervault_pipelines.cli import runs as cli

    monkeypatch.setattr(cli, "MAX_PLANNED_KEYS", 1)  # as if two keys were many
    [first] = cli.run_type(synced, CT.DASHBOARD, ["101", "102"], cli.RunOptions())
    assert first.success and first.counts["unchanged"] == 2
    run = synced.get_run_by_id(first.run_id)
    assert run is not None and run.job_name == "restore_selected_keys_job"
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT}

    looker.remove("dashboards", "101")
    looker.inject("POST /dashboards", ServerError(500), times=1000)
    monkeypatch.setattr(cli, "_run_config", lambda op, op_config, options: {
        "ops": {op: {"config": op_config}}, "resources": NO_RETRY})
    selected, retried = cli.run_type(synced, CT.DASHBOARD, ["101", "102"], cli.RunOptions())
    # 102 unchanged: no event in either run; 101 failed twice, the second time as a planned partition.
    assert selected.counts["unchanged"] == 1 and selected.failed_keys == [] and selected.note
    assert retried.failed_keys == ["101"] and not retried.success
    assert statuses(synced, CT.DASHBOARD) == {"101": FAILED, "102": MAT}
    assert [d.id for d in dead_letters(synced, [CT.DASHBOARD])] == ["101"]


def test_an_unchanged_item_whose_partition_failed_is_materialized_again(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """A killed run leaves 101 FAILED with no outcome recorded; the next run must clear it.

    Dagster keeps a partition FAILED until it is materialized again, so the
    unchanged item cannot stay silent although its older materialization was
    made from this same backup content.
    """
    assert run_range(synced, CT.DASHBOARD, "101", "101").success
    # A run that planned 101 and whose process was killed: run monitoring ends it FAILED, and
    # nothing recorded an outcome for the key (no observation to supersede the materialization).
    killed = synced.create_run_for_job(job_def=defs.resolve_job_def("restore_dashboards"),
                                       tags={"dagster/partition": "101"})
    synced.report_run_failed(killed)
    assert statuses(synced, CT.DASHBOARD)["101"] == FAILED

    again = run_range(synced, CT.DASHBOARD, "101", "101")
    assert again.success
    assert materialized(again, "dashboards") == {"101": "unchanged"}
    assert statuses(synced, CT.DASHBOARD)["101"] == MAT
    assert dead_letters(synced, [CT.DASHBOARD]) == []


def test_runs_of_an_asset_backfill_record_every_key(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    """The backfill daemon counts a planned partition its run did not materialize as failed (and then starts
    nothing below it), so a backfill's run records unchanged, already recorded keys too."""
    assert run_range(synced, CT.FOLDER, "11", "13").success
    again = defs.resolve_job_def("restore_folders").execute_in_process(
        instance=synced, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": "11", "dagster/asset_partition_range_end": "13",
              "dagster/backfill": "abcdefgh"})
    assert again.success
    assert materialized(again, "folders") == {"11": "unchanged", "12": "unchanged", "13": "unchanged"}
