"""Assets, jobs and sensor run for real against the fake Looker; outcomes read from Dagster (resync: test_resync.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import dagster as dg
import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.graph import TYPE_DEPENDENCIES
from lookervault_core.testing.fake_looker import FakeLooker, ServerError
from lookervault_pipelines.restore_step.deadletters import dead_letters, failed_keys
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.defs.jobs import RANGE_END_TAG, RANGE_START_TAG
from lookervault_pipelines.defs.resources import BackupResource
from lookervault_pipelines.defs.sensors import backup_partitions_sensor

MAT = dg.AssetPartitionStatus.MATERIALIZED
FAILED = dg.AssetPartitionStatus.FAILED
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


def statuses(instance: dg.DagsterInstance, ct: CT) -> dict[str, dg.AssetPartitionStatus | None]:
    keys = instance.get_dynamic_partitions(ct.plural)
    pdef = defs.resolve_assets_def(ct.plural).partitions_def
    return dict(instance.get_status_by_partition(dg.AssetKey(ct.plural), keys, pdef) or {})  # type: ignore[arg-type]


def run_range(instance: dg.DagsterInstance, ct: CT, first: str, last: str, **config: object) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(f"restore_{ct.plural}").execute_in_process(
        instance=instance, raise_on_error=False,
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        run_config={"ops": {ct.plural: {"config": config}}} if config else None,
    )


def titles(fake: FakeLooker, collection: str) -> list[str]:
    return sorted(str(o.get("title")) for o in fake.all(collection).values() if not o.get("deleted"))


def test_every_type_is_an_asset_partitioned_by_id_and_ordered_by_all_partition_deps() -> None:
    for ct in CT:
        asset = defs.resolve_assets_def(ct.plural)
        assert isinstance(asset.partitions_def, dg.DynamicPartitionsDefinition)
        assert asset.partitions_def.name == ct.plural
        [spec] = asset.specs
        assert {dep.asset_key.path[0] for dep in spec.deps} == {d.plural for d in TYPE_DEPENDENCIES[ct]}
        for dep in spec.deps:
            # A plain dep between two dynamic partitions defs would map look 42 to folder 42.
            assert isinstance(dep.partition_mapping, dg.AllPartitionMapping)


def test_sensor_registers_partitions_once_per_backup_change(instance: dg.DagsterInstance, backup: Path) -> None:
    resource = BackupResource(path=str(backup))
    first = backup_partitions_sensor(dg.build_sensor_context(instance=instance, resources={"backup": resource}))
    assert isinstance(first, dg.SensorResult) and first.cursor
    assert instance.get_dynamic_partitions("dashboards") == ["101", "102"]
    assert instance.get_dynamic_partitions("explores") == ["thelook::orders"]
    again = backup_partitions_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor,
                                                             resources={"backup": resource}))
    assert isinstance(again, dg.SensorResult) and again.skip_reason is not None


def test_range_run_restores_and_marks_partitions(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    looker.remove("dashboards", "101")
    result = run_range(synced, CT.DASHBOARD, "101", "102")
    assert result.success
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT}
    actions = {m.partition: m.metadata["action"].value for m in result.asset_materializations_for_node("dashboards")}
    assert actions == {"101": "created", "102": "unchanged"}
    assert "Sales Overview" in titles(looker, "dashboards")


def test_failed_items_are_exactly_the_failed_partitions_and_retry_fixes_them(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    looker.remove("dashboards", "101")
    looker.inject("POST /dashboards", ServerError(500), times=1000)
    result = defs.resolve_job_def("restore_dashboards").execute_in_process(
        instance=synced, raise_on_error=False, tags={RANGE_START_TAG: "101", RANGE_END_TAG: "102"},
        run_config={"resources": {"looker": {"config": {"retry_attempts": 2, "retry_backoff_seconds": 0.0}}}},
    )
    assert not result.success
    assert statuses(synced, CT.DASHBOARD) == {"101": FAILED, "102": MAT}
    assert failed_keys(synced, CT.DASHBOARD) == ["101"]
    [letter] = dead_letters(synced, [CT.DASHBOARD])
    assert (letter.id, letter.error_type, letter.transient) == ("101", "Unavailable", True)
    assert "HTTP 500" in letter.error and letter.run_id == result.run_id

    looker.clear_faults()
    retry = defs.resolve_job_def("restore_selected_keys_job").execute_in_process(
        instance=synced, raise_on_error=False,
        run_config={"ops": {"restore_selected_keys": {"config": {"content_type": "dashboards"}}}},
    )
    assert retry.success
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT}
    assert dead_letters(synced, [CT.DASHBOARD]) == []
    assert titles(looker, "dashboards").count("Sales Overview") == 1


def test_a_missing_parent_fails_its_partition_with_a_message_naming_it(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    looker.remove("dashboards", "101")
    looker.remove("folders", "11")  # dashboard 101 lives in folder 11
    result = run_range(synced, CT.DASHBOARD, "101", "102")
    assert not result.success
    assert statuses(synced, CT.DASHBOARD) == {"101": FAILED, "102": MAT}
    [letter] = dead_letters(synced, [CT.DASHBOARD])
    assert letter.error == "dashboard 101 needs folder 11, which is in the backup but not yet restored"
    # Restoring the folder, then re-executing the failed partition, fixes it.
    assert run_range(synced, CT.FOLDER, "11", "11").success
    assert run_range(synced, CT.DASHBOARD, "101", "101").success
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT}


def test_single_partition_run(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    looker.remove("looks", "202")
    result = defs.resolve_job_def("restore_looks").execute_in_process(
        instance=synced, partition_key="202", raise_on_error=False)
    assert result.success
    assert statuses(synced, CT.LOOK) == {"201": None, "202": MAT}
    assert "Orders by Status (Regional)" in titles(looker, "looks")


def test_dry_run_writes_nothing_and_marks_nothing(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    looker.remove("dashboards", "101")
    looker.clear_requests()
    result = run_range(synced, CT.DASHBOARD, "101", "102", dry_run=True)
    assert result.success
    assert not [r for r in looker.requests if r.method in WRITES and r.path != "/login"]
    assert statuses(synced, CT.DASHBOARD) == {"101": None, "102": None}
    observations = result.asset_observations_for_node("dashboards")
    observed = {o.partition: o.metadata["action"].value for o in observations if o.partition}
    assert observed == {"101": "would_create", "102": "unchanged"}
    # One more, of the whole run: the API calls the real restore would make (the preflight's estimate).
    [estimate] = [o for o in observations if not o.partition]
    assert estimate.metadata["status"].value == "api_estimate" and estimate.metadata["calls"].value > 0


def test_no_secret_reaches_the_event_log(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    looker.remove("dashboards", "101")
    looker.inject("POST /dashboards", ServerError(500), times=1000)
    result = run_range(synced, CT.DASHBOARD, "101", "102")
    logs = "\n".join(str(e) for e in synced.all_logs(result.run_id))
    assert looker.client_secret not in logs
    assert looker.client_secret not in str(synced.get_run_by_id(result.run_id))


@pytest.mark.parametrize("ct", [CT.FOLDER, CT.USER])
def test_unchanged_items_still_materialize_with_their_action(
    looker: FakeLooker, synced: dg.DagsterInstance, ct: CT
) -> None:
    keys = synced.get_dynamic_partitions(ct.plural)
    result = run_range(synced, ct, keys[0], keys[-1])
    assert result.success
    metas = [m.metadata for m in result.asset_materializations_for_node(ct.plural)]
    assert {m["action"].value for m in metas} == {"unchanged"}
    assert all(m["backup_fingerprint"].value and m["content_hash"].value for m in metas)


def test_stretches_of_a_selection_follow_the_registered_order() -> None:
    from lookervault_pipelines.cli.runs import stretches

    registered = ["1", "2", "3", "5", "8", "13", "21"]
    assert stretches(registered, ["2", "3", "5", "13", "99"]) == [("2", "5"), ("13", "13")]
    assert stretches(registered, []) == []


def test_a_scattered_selection_runs_as_one_selected_keys_run(
    looker: FakeLooker, synced: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lookervault_pipelines.cli import runs as cli

    monkeypatch.setattr(cli, "MAX_RANGE_RUNS", 0)  # as if the keys lay in more stretches than that
    looker.remove("dashboards", "101")
    [summary] = cli.run_type(synced, CT.DASHBOARD, ["101", "102"], cli.RunOptions())
    assert summary.success and summary.counts["created"] == 1 and summary.counts["unchanged"] == 1
    run = synced.get_run_by_id(summary.run_id)
    assert run is not None and run.job_name == "restore_selected_keys_job"
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT}


def test_launchpad_filter_by_folder_restores_the_folder_subtree_in_one_run(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    looker.remove("looks", "201")  # folder 11
    looker.remove("looks", "202")  # folder 13, inside 11
    result = defs.resolve_job_def("restore_selected_keys_job").execute_in_process(
        instance=synced, raise_on_error=False,
        run_config={"ops": {"restore_selected_keys": {"config": {"content_type": "looks", "folders": ["11"]}}}},
    )
    assert result.success
    assert sorted(m.partition for m in result.asset_materializations_for_node("restore_selected_keys")) == ["201", "202"]
    assert "Orders by Month" in titles(looker, "looks") and "Orders by Status (Regional)" in titles(looker, "looks")


def test_launchpad_filter_by_owner_selects_nothing_for_an_unknown_owner(synced: dg.DagsterInstance,
                                                                        looker: FakeLooker) -> None:
    result = defs.resolve_job_def("restore_selected_keys_job").execute_in_process(
        instance=synced, raise_on_error=False,
        run_config={"ops": {"restore_selected_keys": {"config": {"content_type": "dashboards", "owners": [999]}}}},
    )
    assert result.success and result.asset_materializations_for_node("restore_selected_keys") == []


def test_a_run_launched_without_partition_tags_fails_naming_the_tags_to_give(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """`dagster job launch -j restore_dashboards` without tags: a run that says what to launch instead."""
    looker.clear_requests()
    result = defs.resolve_job_def("restore_dashboards").execute_in_process(instance=synced, raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.error.message if failure.step_failure_data.error else ""
    assert "launched without partition tags" in message, message
    assert f'{{"{RANGE_START_TAG}": "101", "{RANGE_END_TAG}": "102"}}' in message, message
    assert statuses(synced, CT.DASHBOARD) == {"101": None, "102": None}
    assert not [r for r in looker.requests if r.method in WRITES and r.path != "/login"]

    # Once an upstream type has materializations, Dagster fails the step before the asset body runs
    # ("Cannot access partition_key for a non-partitioned run"): still nothing restored, nothing FAILED.
    assert run_range(synced, CT.FOLDER, "11", "13").success
    again = defs.resolve_job_def("restore_dashboards").execute_in_process(instance=synced, raise_on_error=False)
    assert not again.success and not again.asset_materializations_for_node("dashboards")
    assert statuses(synced, CT.DASHBOARD) == {"101": None, "102": None}
    assert not [r for r in looker.requests if r.method in WRITES and r.path not in ("/login", "/folders")
                and not r.path.startswith("/folders/")]


def test_stale_keys_are_skipped_as_stale_not_failed_and_can_be_pruned(
    looker: FakeLooker, synced: dg.DagsterInstance, backup: Path
) -> None:
    """A key registered from an older backup: not restored, not FAILED, shown as stale, then pruned."""
    from lookervault_core.backup import BackupReader
    from lookervault_pipelines.defs.partitions import prune_partitions, sync_partitions

    synced.add_dynamic_partitions("dashboards", ["999"])  # in an earlier backup, deleted since
    looker.remove("dashboards", "101")
    result = run_range(synced, CT.DASHBOARD, "101", "999")
    assert result.success, result.get_step_failure_events()
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT, "999": None}
    assert dead_letters(synced, [CT.DASHBOARD]) == []
    observed = {o.partition: o.metadata["status"].value for o in result.asset_observations_for_node("dashboards")}
    assert observed == {"999": "not_in_backup"}

    with BackupReader(backup) as reader:
        assert "1 registered but not in this backup" in sync_partitions(synced, reader).describe()
        assert prune_partitions(synced, reader) == {CT.DASHBOARD: ["999"]}
        assert prune_partitions(synced, reader) == {}
    assert synced.get_dynamic_partitions("dashboards") == ["101", "102"]


def test_items_skipped_by_skip_modified_are_not_recorded_as_restored(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """skip_modified leaves an edited dashboard as it is in Looker: its partition must not turn green."""
    edited = {**looker.get("dashboards", "102"), "title": "Edited in Looker", "updated_at": "2099-01-01T00:00:00Z"}
    looker.put("dashboards", edited)  # type: ignore[arg-type]
    looker.remove("dashboards", "101")
    result = run_range(synced, CT.DASHBOARD, "101", "102", skip_modified=True)
    assert result.success
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": None}
    assert [m.partition for m in result.asset_materializations_for_node("dashboards")] == ["101"]
    [skipped] = result.asset_observations_for_node("dashboards")
    assert (skipped.partition, skipped.metadata["status"].value) == ("102", "skipped_modified")
    assert looker.get("dashboards", "102")["title"] == "Edited in Looker"  # type: ignore[index]
    assert dead_letters(synced, [CT.DASHBOARD]) == []


def test_a_run_failing_before_any_item_records_its_cause_as_each_keys_latest_dead_letter(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """Login refused after an earlier, different failure: the dead letters show the login error, readably."""
    looker.remove("dashboards", "101")
    looker.inject("POST /dashboards", ServerError(500), times=1000)
    quick = {"resources": {"looker": {"config": {"retry_attempts": 1, "retry_backoff_seconds": 0.0}}}}
    first = defs.resolve_job_def("restore_dashboards").execute_in_process(
        instance=synced, raise_on_error=False, tags={RANGE_START_TAG: "101", RANGE_END_TAG: "102"}, run_config=quick)
    assert [d.error_type for d in dead_letters(synced, [CT.DASHBOARD])] == ["Unavailable"]
    looker.clear_faults()

    refused = {"resources": {"looker": {"config": {"client_secret": "not-the-secret", "retry_attempts": 1}}}}
    result = defs.resolve_job_def("restore_dashboards").execute_in_process(
        instance=synced, raise_on_error=False, tags={RANGE_START_TAG: "101", RANGE_END_TAG: "102"},
        run_config=refused)
    assert not result.success and first.run_id != result.run_id
    assert statuses(synced, CT.DASHBOARD) == {"101": FAILED, "102": FAILED}
    letters = dead_letters(synced, [CT.DASHBOARD])
    assert [(d.id, d.error_type, d.run_id) for d in letters] == [
        ("101", "AuthenticationFailed", result.run_id), ("102", "AuthenticationFailed", result.run_id)]
    [failure] = result.get_step_failure_events()
    headline = failure.step_failure_data.error.message if failure.step_failure_data.error else ""
    assert headline.splitlines()[0].endswith(f"AuthenticationFailed: {letters[0].error}"), headline
    assert "not-the-secret" not in headline + letters[0].error
    assert f"Looker at {looker.base_url}: login refused" in letters[0].error


def test_a_run_that_cannot_reach_looker_names_it_in_every_dead_letter(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """Runs launched by Dagster (UI, daemon) record the run-level cause per key: it must say Looker is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again below: nothing listens there
    down = {"resources": {"looker": {"config": {"base_url": nowhere, "retry_attempts": 2,
                                                "retry_backoff_seconds": 0.0}}}}
    result = defs.resolve_job_def("restore_dashboards").execute_in_process(
        instance=synced, raise_on_error=False, tags={RANGE_START_TAG: "101", RANGE_END_TAG: "102"}, run_config=down)
    assert not result.success
    letters = dead_letters(synced, [CT.DASHBOARD])
    assert [(d.id, d.error_type) for d in letters] == [("101", "Unavailable"), ("102", "Unavailable")]
    assert all(f"cannot reach Looker at {nowhere}" in d.error for d in letters), letters[0].error


def test_failures_in_a_selected_keys_run_are_dead_letters_until_restored(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """restore_selected_keys_job plans no partitions (they cannot turn FAILED): still one dead-letter queue."""
    looker.remove("dashboards", "101")
    looker.inject("POST /dashboards", ServerError(500), times=1000)
    config = {"content_type": "dashboards", "keys": ["101", "102"]}
    run_config = {"ops": {"restore_selected_keys": {"config": config}},
                  "resources": {"looker": {"config": {"retry_attempts": 1, "retry_backoff_seconds": 0.0}}}}
    job = defs.resolve_job_def("restore_selected_keys_job")
    result = job.execute_in_process(instance=synced, raise_on_error=False, run_config=run_config)
    assert not result.success
    [letter] = dead_letters(synced, [CT.DASHBOARD])
    assert (letter.id, letter.error_type, letter.run_id) == ("101", "Unavailable", result.run_id)

    looker.clear_faults()
    assert job.execute_in_process(instance=synced, raise_on_error=False, run_config=run_config).success
    assert dead_letters(synced, [CT.DASHBOARD]) == []
    assert titles(looker, "dashboards").count("Sales Overview") == 1


def test_one_dashboard_with_what_it_needs_from_the_launchpad(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    """The UI's way to `--with-dependencies`: the missing look is restored first, as its own partition."""
    looker.remove("dashboards", "101")
    looker.remove("looks", "201")  # a tile of dashboard 101 shows it
    config = {"content_type": "dashboards", "keys": ["101"]}
    job = defs.resolve_job_def("restore_selected_keys_job")
    alone = job.execute_in_process(instance=synced, raise_on_error=False,
                                   run_config={"ops": {"restore_selected_keys": {"config": config}}})
    assert not alone.success and "Sales Overview" not in titles(looker, "dashboards")
    both = job.execute_in_process(
        instance=synced, raise_on_error=False,
        run_config={"ops": {"restore_selected_keys": {"config": {**config, "with_dependencies": True}}}})
    assert both.success
    assert sorted((m.asset_key.path[0], m.partition) for m in both.asset_materializations_for_node(
        "restore_selected_keys")) == [("dashboards", "101"), ("looks", "201")]
    assert titles(looker, "looks").count("Orders by Month") == 1
    assert titles(looker, "dashboards").count("Sales Overview") == 1
    assert statuses(synced, CT.LOOK)["201"] == dg.AssetPartitionStatus.MATERIALIZED


def test_a_step_stopped_by_an_unexpected_error_still_records_the_items_it_restored(
    looker: FakeLooker, synced: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Materializations are written in batches (batching.py): the batch in hand is written when the step dies."""
    import lookervault_pipelines.restore_step.execution as execution

    real = execution.restore_many

    def two_then_a_bug(restorer, keys, **kwargs):  # type: ignore[no-untyped-def]
        real(restorer, keys[:2], **kwargs)
        raise RuntimeError("a bug after two items")

    monkeypatch.setattr(execution, "restore_many", two_then_a_bug)
    keys = synced.get_dynamic_partitions(CT.FOLDER.plural)
    assert len(keys) == 3
    result = run_range(synced, CT.FOLDER, keys[0], keys[-1])
    assert not result.success
    assert "a bug after two items" in str(result.get_step_failure_events()[0].step_failure_data.error)
    restored = {k for k, s in statuses(synced, CT.FOLDER).items() if s == MAT}
    assert restored == set(keys[:2])
