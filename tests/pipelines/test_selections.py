"""Selections of several content types: restore_selected_keys_job level by level, and backfill levels expanded by Dagster."""

from __future__ import annotations

import dagster as dg

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker import FakeLooker, ServerError
from lookervault_pipelines.restore_step.deadletters import dead_letters
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.defs.jobs import RANGE_END_TAG, RANGE_START_TAG
from lookervault_pipelines.defs.selection import BACKFILL_TAG, ROOT_BACKFILL_TAG, types_above

from .test_pipeline import titles

THREE = ["folders", "looks", "dashboards"]
NO_RETRY = {"looker": {"config": {"retry_attempts": 1, "retry_backoff_seconds": 0.0}}}


def selected(instance: dg.DagsterInstance, **config: object) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("restore_selected_keys_job").execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"ops": {"restore_selected_keys": {"config": config}}, "resources": NO_RETRY})


def materialized(result: dg.ExecuteInProcessResult) -> set[tuple[str, str | None]]:
    return {(m.asset_key.to_user_string(), m.partition)
            for m in result.asset_materializations_for_node("restore_selected_keys")}


def level_run(instance: dg.DagsterInstance, ct: CT, first: str, last: str,
              tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    """A run of one level as the backfill daemon launches it: the asset selected, the range in tags."""
    return defs.resolve_job_def(f"restore_{ct.plural}").execute_in_process(
        instance=instance, raise_on_error=False, asset_selection=[dg.AssetKey(ct.plural)],
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last, **tags})


def test_several_types_by_folder_go_on_past_a_failed_folder(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    for collection, item in (("folders", "13"), ("looks", "201"), ("looks", "202"), ("dashboards", "101"),
                             ("dashboards", "102")):
        looker.remove(collection, item)
    looker.inject("POST /folders", ServerError(500), times=100)
    result = selected(synced, content_types=THREE, folders=["11"])
    assert not result.success
    # Folder 13 failed; look 202 inside it fails naming it; the rest of each level is restored.
    assert materialized(result) == {("folders", "11"), ("looks", "201"), ("dashboards", "101")}
    assert "Orders by Month" in titles(looker, "looks") and "Sales Overview" in titles(looker, "dashboards")
    assert "Marketing Funnel" not in titles(looker, "dashboards")  # folder 12 was not selected
    letters = {(d.content_type, d.id): d for d in dead_letters(synced, [CT.FOLDER, CT.LOOK, CT.DASHBOARD])}
    assert set(letters) == {("folders", "13"), ("looks", "202")}
    assert letters[("folders", "13")].error_type == "Unavailable"
    assert letters[("looks", "202")].error == "look 202 needs folder 13, which is in the backup but not yet restored"

    looker.clear_faults()
    retry = selected(synced, content_types=THREE, folders=["11"])
    assert retry.success
    assert materialized(retry) >= {("folders", "13"), ("looks", "202")}
    assert dead_letters(synced, [CT.FOLDER, CT.LOOK, CT.DASHBOARD]) == []
    assert "Orders by Status (Regional)" in titles(looker, "looks")


def test_with_dependencies_over_several_types_restores_each_item_once(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    looker.remove("folders", "13")
    looker.remove("looks", "202")
    result = selected(synced, content_types=["looks", "dashboards"], folders=["13"], with_dependencies=True)
    assert result.success
    # Folder 13 is not selected (only looks and dashboards are) but look 202 needs it.
    assert sorted(materialized(result)) == [("folders", "13"), ("looks", "202")]
    assert titles(looker, "looks").count("Orders by Status (Regional)") == 1


def test_ids_name_one_type(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    looker.remove("looks", "201")
    result = selected(synced, content_types=["folders", "looks"], keys=["201"])
    assert not result.success
    assert "keys are ids of one content type" in str(result.failure_data_for_node("restore_selected_keys"))
    assert "Orders by Month" not in titles(looker, "looks")


def test_types_above_follow_the_type_dependencies() -> None:
    assert types_above(CT.LOOK) >= {CT.FOLDER, CT.USER, CT.GROUP, CT.ROLE, CT.PERMISSION_SET}
    assert CT.DASHBOARD not in types_above(CT.LOOK) and CT.LOOK in types_above(CT.DASHBOARD)
    assert types_above(CT.PERMISSION_SET) == set()


def test_a_level_expanded_from_a_partial_pick_restores_nothing(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    looker.remove("looks", "202")
    # Backfill "picked": folder 11 only; Dagster gives the looks level every look.
    assert level_run(synced, CT.FOLDER, "11", "11", {BACKFILL_TAG: "picked"}).success
    looks = level_run(synced, CT.LOOK, "201", "202", {BACKFILL_TAG: "picked"})
    assert looks.success and looks.asset_materializations_for_node("looks") == []
    assert "Orders by Status (Regional)" not in titles(looker, "looks")
    # Re-executing that backfill from failure keeps its root's pick, so it is refused too.
    again = level_run(synced, CT.LOOK, "201", "202", {BACKFILL_TAG: "again", ROOT_BACKFILL_TAG: "picked"})
    assert again.success and again.asset_materializations_for_node("looks") == []

    # Backfill "all": every folder, so every look is what was asked for.
    assert level_run(synced, CT.FOLDER, "11", "13", {BACKFILL_TAG: "all"}).success
    every = level_run(synced, CT.LOOK, "201", "202", {BACKFILL_TAG: "all"})
    assert every.success
    assert {m.partition for m in every.asset_materializations_for_node("looks")} == {"201", "202"}
    assert "Orders by Status (Regional)" in titles(looker, "looks")


def test_a_partial_level_of_a_partial_pick_is_restored(looker: FakeLooker, synced: dg.DagsterInstance) -> None:
    """Only a level given *every* key was expanded by Dagster; a range of looks was chosen."""
    looker.remove("looks", "202")
    assert level_run(synced, CT.FOLDER, "11", "11", {BACKFILL_TAG: "some"}).success
    chosen = level_run(synced, CT.LOOK, "202", "202", {BACKFILL_TAG: "some"})
    assert chosen.success and {m.partition for m in chosen.asset_materializations_for_node("looks")} == {"202"}
