"""Items found by title: every materialization and failure names the item first (issue 19, parts 2 and 4)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.defs.jobs import RANGE_END_TAG, RANGE_START_TAG
from lookervault_pipelines.restore_step.deadletters import dead_letters

FAILED = dg.AssetPartitionStatus.FAILED


def _value(meta: object) -> object:
    return getattr(meta, "value", meta)


def run_range(instance: dg.DagsterInstance, ct: CT, first: str, last: str) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(f"restore_{ct.plural}").execute_in_process(
        instance=instance, raise_on_error=False, tags={RANGE_START_TAG: first, RANGE_END_TAG: last})


def test_materializations_and_failures_carry_title_and_folder_first(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    looker.remove("looks", "201")
    looker.put("looks", {**looker.get("looks", "202"), "title": "edited"})  # type: ignore[dict-item]
    looker.remove("folders", "13")  # look 202's folder
    looker.remove("looks", "202")
    result = run_range(synced, CT.LOOK, "201", "202")
    assert not result.success
    [mat] = result.asset_materializations_for_node("looks")
    assert mat.partition == "201"
    assert list(mat.metadata)[:2] == ["title", "folder"]
    assert (_value(mat.metadata["title"]), _value(mat.metadata["folder"])) == ("Orders by Month", "Sales")
    assert _value(mat.metadata["action"]) == "created"
    assert isinstance(_value(mat.metadata["changed_fields"]), list)
    assert _value(mat.metadata["looker_url"]) == f"{looker.base_url}/looks/{looker_id(looker, 'Orders by Month')}"
    # The event's message, which the run's log shows and its filter box searches, is the title.
    [logged] = synced.all_logs(result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    assert logged.message == '"Orders by Month" in Sales'
    [failure] = [o for o in result.asset_observations_for_node("looks") if o.partition == "202"]
    assert list(failure.metadata)[:2] == ["title", "folder"]
    assert _value(failure.metadata["title"]) == "Orders by Status (Regional)"
    assert _value(failure.metadata["folder"]) == "Sales / Regional Sales"
    [step_failure] = result.get_step_failure_events()
    error = step_failure.step_failure_data.error
    assert error is not None and '- look 202 "Orders by Status (Regional)": MissingDependency' in error.message

    [letter] = dead_letters(synced, [CT.LOOK])
    assert (letter.content_type, letter.id, letter.title, letter.folder) == (
        "looks", "202", "Orders by Status (Regional)", "Sales / Regional Sales")


def looker_id(looker: FakeLooker, title: str) -> str:
    [found] = [k for k, v in looker.all("looks").items() if v.get("title") == title and not v.get("deleted")]
    return str(found)


def test_unchanged_and_updated_items_say_so_with_a_list_of_changed_fields(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    looker.put("folders", {**looker.get("folders", "12"), "name": "Renamed"})  # type: ignore[dict-item]
    result = run_range(synced, CT.FOLDER, "11", "13")
    assert result.success
    metas = {m.partition: m.metadata for m in result.asset_materializations_for_node("folders")}
    assert {k: _value(m["action"]) for k, m in metas.items()} == {"11": "unchanged", "12": "updated",
                                                                  "13": "unchanged"}
    assert _value(metas["12"]["changed_fields"]) == ["name"] and _value(metas["11"]["changed_fields"]) == []
    assert {k: _value(m["looker_url"]) for k, m in metas.items()} == {
        k: f"{looker.base_url}/folders/{k}" for k in ("11", "12", "13")}
    assert _value(metas["13"]["folder"]) == "Sales"


def test_a_corrupt_row_fails_its_own_partition_named_by_its_title(
    looker: FakeLooker, synced: dg.DagsterInstance, backup: Path
) -> None:
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE content_items SET content_data = x'c1c1c1' WHERE content_type = 1 AND id = '102'")
        conn.execute("UPDATE content_items SET content_data = x'c1c1c1', name = '' "
                     "WHERE content_type = 1 AND id = '101'")
    result = run_range(synced, CT.DASHBOARD, "101", "102")
    assert not result.success
    letters = {d.id: d for d in dead_letters(synced, [CT.DASHBOARD])}
    assert (letters["102"].error_type, letters["102"].title) == ("CorruptItem", "Marketing Funnel")
    assert (letters["101"].error_type, letters["101"].title) == ("CorruptItem", "")
    assert "dashboard 101" in letters["101"].error
