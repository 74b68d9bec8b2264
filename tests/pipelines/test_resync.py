"""resync_job: drift found by reads alone, reported on looker_drift, then only what drifted restored."""

from __future__ import annotations

from typing import Any

import dagster as dg

from lookervault_core.content_types import ContentType as CT
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.testing.fake_looker import FakeLooker, ServerError
from lookervault_pipelines.restore_step.deadletters import dead_letters
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.defs.resync import DRIFT_ASSET, check_name

from .test_pipeline import WRITES, statuses, titles

MAT = dg.AssetPartitionStatus.MATERIALIZED
QUICK = {"looker": {"config": {"retry_attempts": 1, "retry_backoff_seconds": 0.0}}}


def resync(instance: dg.DagsterInstance, *, report_only: bool = False,
           resources: dict[str, Any] | None = None) -> dg.ExecuteInProcessResult:
    run_config: dict[str, Any] = {"ops": {"restore_drift": {"config": {"report_only": report_only}}}}
    if resources:
        run_config["resources"] = resources
    return defs.resolve_job_def("resync_job").execute_in_process(instance=instance, raise_on_error=False,
                                                                 run_config=run_config)


def writes(fake: FakeLooker) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in WRITES and r.path != "/login"]


def restored(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], str]:
    """(type, id) → action of every item the run recorded a materialization for."""
    return {(m.asset_key.path[0], str(m.partition)): m.metadata["action"].value
            for m in result.asset_materializations_for_node("restore_drift")}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_key for e in evaluations} == {DRIFT_ASSET}
    return {e.check_name: e for e in evaluations}


def meta(evaluation: dg.AssetCheckEvaluation, key: str) -> object:
    return evaluation.metadata[key].value


def damage(fake: FakeLooker) -> None:
    """Folder 13 deleted with the look in it, dashboard 101 renamed, user 6 (owner of dashboard 102) deleted."""
    fake.remove("looks", "202")
    fake.remove("folders", "13")
    fake.put("dashboards", {**fake.get("dashboards", "101"), "title": "Renamed in Looker"})  # type: ignore[dict-item]
    fake.remove("users", "6")


def test_resync_restores_exactly_what_drifted_and_a_second_run_writes_nothing(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    synced.add_dynamic_partitions("dashboards", ["999"])  # stale: registered from an older backup
    synced.delete_dynamic_partition("folders", "13")  # in the backup, not registered yet
    damage(looker)
    looker.clear_requests()
    result = resync(synced)
    assert result.success, result.get_step_failure_events()

    # Only the drifted items were written, and only they have events.
    assert restored(result) == {("folders", "13"): "created", ("looks", "202"): "created",
                                ("users", "6"): "created", ("dashboards", "101"): "updated",
                                ("dashboards", "102"): "updated"}
    assert result.asset_observations_for_node("restore_drift") == []
    assert result.asset_materializations_for_node("find_drift") == [
        m for m in result.asset_materializations_for_node("find_drift") if m.asset_key == DRIFT_ASSET]
    assert len(result.asset_materializations_for_node("find_drift")) == 1
    assert "Sales Overview" in titles(looker, "dashboards")
    assert "Orders by Status (Regional)" in titles(looker, "looks")
    assert any(f.get("name") == "Regional Sales" for f in looker.all("folders").values())
    new_user = [u for u in looker.all("users").values() if u.get("first_name") == "Bob"]
    assert len(new_user) == 1, new_user
    user = str(new_user[0]["id"])
    assert str(looker.get("dashboards", "102")["user_id"]) == user  # type: ignore[index]
    # Eight writes in all: the user (with email, group and roles), the folder, the look, two dashboard patches.
    assert sorted(writes(looker)) == sorted([
        "POST /users", f"POST /users/{user}/credentials_email", "POST /groups/4/users", f"PUT /users/{user}/roles",
        "POST /folders", "POST /looks", "PATCH /dashboards/101", "PATCH /dashboards/102"])

    # The drift report: one check per type, failing exactly where Looker differed.
    report = checks(result)
    assert set(report) == {check_name(ct) for ct in TYPE_ORDER}
    assert {n for n, e in report.items() if not e.passed} == {
        "folders_in_sync", "looks_in_sync", "users_in_sync", "dashboards_in_sync"}
    assert meta(report["folders_in_sync"], "missing_ids") == ["13"]
    assert meta(report["looks_in_sync"], "missing_ids") == ["202"]
    assert meta(report["users_in_sync"], "missing_ids") == ["6"]
    changed = meta(report["dashboards_in_sync"], "changed_fields")
    assert isinstance(changed, dict) and sorted(changed) == ["101", "102"] and "title" in changed["101"]
    assert meta(report["dashboards_in_sync"], "checked") == 2  # the stale key 999 is not compared
    assert meta(report["roles_in_sync"], "unchanged") == 2 and report["roles_in_sync"].passed

    # Partitions: restored ones materialized (13 registered on the way), the rest untouched, 999 too.
    assert statuses(synced, CT.FOLDER) == {"11": None, "12": None, "13": MAT}
    assert statuses(synced, CT.DASHBOARD) == {"101": MAT, "102": MAT, "999": None}
    assert statuses(synced, CT.LOOK) == {"201": None, "202": MAT}

    looker.clear_requests()
    again = resync(synced)
    assert again.success
    assert writes(looker) == []
    assert restored(again) == {}
    assert all(e.passed for e in checks(again).values())


def test_report_only_reports_the_drift_and_writes_nothing(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    damage(looker)
    looker.clear_requests()
    result = resync(synced, report_only=True)
    assert result.success
    assert writes(looker) == []
    assert restored(result) == {}
    assert [e.asset_key for e in result.get_asset_observation_events()] == []
    report = checks(result)
    assert {n for n, e in report.items() if not e.passed} == {
        "folders_in_sync", "looks_in_sync", "users_in_sync", "dashboards_in_sync"}
    [summary] = result.asset_materializations_for_node("find_drift")
    assert summary.metadata["drifted"].value == 5
    # Cheap: about one read per item (24 items in the sample), the login not counted.
    reads = [r for r in looker.requests if r.path != "/login"]
    assert summary.metadata["api_calls"].value == len(reads) <= 48
    assert "Renamed in Looker" in titles(looker, "dashboards")


def test_a_failing_item_is_a_dead_letter_and_the_other_types_are_still_restored(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    damage(looker)
    looker.inject("POST /folders", ServerError(500), times=1000)
    result = resync(synced, resources=QUICK)
    assert not result.success
    letters = {(d.content_type, d.id): d.error_type for d in dead_letters(synced)}
    assert letters == {("folders", "13"): "Unavailable", ("looks", "202"): "MissingDependency"}
    [failure] = result.get_step_failure_events()
    user_failure = failure.step_failure_data.user_failure_data
    assert user_failure is not None
    assert user_failure.metadata["failed_keys"].value == {"folders": ["13"], "looks": ["202"]}
    assert restored(result) == {("users", "6"): "created", ("dashboards", "101"): "updated",
                                ("dashboards", "102"): "updated"}

    looker.clear_faults()
    fixed = resync(synced)
    assert fixed.success
    assert restored(fixed) == {("folders", "13"): "created", ("looks", "202"): "created"}
    assert dead_letters(synced) == []


def test_the_nightly_schedule_is_off_and_launches_resync_job_without_tags(synced: dg.DagsterInstance) -> None:
    schedule = defs.resolve_schedule_def("nightly_resync")
    assert schedule.job_name == "resync_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    [request] = schedule.evaluate_tick(dg.build_schedule_context(instance=synced)).run_requests or []
    assert not {k for k in request.tags if k.startswith("dagster/asset_partition") or k == "dagster/partition"}


def test_executing_checks_from_the_ui_reports_the_selected_types_and_writes_nothing(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """The asset page's *Execute checks*: a run of only the selected checks of looker_drift."""
    from lookervault_pipelines.defs.resources import BackupResource, LookerResource, RestoreStateResource
    from lookervault_pipelines.defs.resync import drift_checks, drift_report_asset

    selected = [dg.AssetCheckKey(DRIFT_ASSET, check_name(ct)) for ct in (CT.FOLDER, CT.ROLE)]
    job = dg.Definitions(
        assets=[drift_report_asset], asset_checks=[drift_checks],
        jobs=[dg.define_asset_job("checks_only", selection=dg.AssetSelection.checks(*selected))],
        resources={"looker": LookerResource(), "backup": BackupResource(path=dg.EnvVar("LOOKERVAULT_BACKUP")),
                   "restore_state": RestoreStateResource()},
    ).resolve_job_def("checks_only")
    damage(looker)
    looker.clear_requests()
    result = job.execute_in_process(instance=synced, raise_on_error=False)
    assert result.success
    assert writes(looker) == []
    report = checks(result)
    assert set(report) == {"folders_in_sync", "roles_in_sync"}
    assert not report["folders_in_sync"].passed and meta(report["folders_in_sync"], "missing_ids") == ["13"]
    assert report["roles_in_sync"].passed
    # Only the selected types were read: no dashboard, look or user.
    assert not [r for r in looker.requests if r.path.startswith(("/dashboards", "/looks", "/users"))]


def test_an_item_that_cannot_be_compared_fails_its_check_as_an_error_and_is_not_restored(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    """An explore gone from deployed LookML: restore could only fail on it, so it is reported, not attempted."""
    looker.put("lookml_models", {**looker.get("lookml_models", "thelook"), "explores": []})  # type: ignore[dict-item]
    looker.remove("explores", "thelook::orders")
    looker.clear_requests()
    result = resync(synced)
    assert result.success
    assert writes(looker) == [] and restored(result) == {}
    report = checks(result)
    assert {n for n, e in report.items() if not e.passed} == {"explores_in_sync"}
    failing = report["explores_in_sync"]
    assert failing.severity == dg.AssetCheckSeverity.ERROR
    errors = meta(failing, "undecided_errors")
    assert isinstance(errors, dict) and list(errors) == ["thelook::orders"]
    assert "UnrestorableItem" in errors["thelook::orders"]
    assert report["folders_in_sync"].severity == dg.AssetCheckSeverity.WARN


def test_a_user_restored_before_its_home_folder_gets_it_in_the_same_run(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    # Users are restored before folders: user 6's home folder (12) does not exist yet when
    # the user is created, so the run restores the user once more after the folders.
    looker.remove("users", "6")
    looker.remove("folders", "12")
    result = resync(synced)
    assert result.success, result.get_step_failure_events()
    (marketing,) = [f for f in looker.all("folders").values() if f.get("name") == "Marketing"]
    (bob,) = [u for u in looker.all("users").values() if u.get("email") == "bob.marketer@example.com"]
    assert str(bob["home_folder_id"]) == str(marketing["id"]), bob

    looker.clear_requests()
    again = resync(synced)
    assert again.success, again.get_step_failure_events()
    assert writes(looker) == []
    assert all(e.passed for e in checks(again).values()), {n: e.description for n, e in checks(again).items()}
