"""What a UI selection of several content types does, through a real webserver and daemon.

Selecting several assets in the asset graph (folders, looks, dashboards) and
clicking *Materialize* opens Dagster's partition dialog on the top asset only
(the others have other partitions definitions): the UI then sends
`launchPartitionBackfill` with `assetSelection` = the selected assets and
`partitionNames` = the folders picked. Dagster expands every type below through
its `AllPartitionMapping` to all of its partitions, and one failed partition of
a level keeps the backfill from starting any level below. These tests send
exactly that, then restore the same choice with `restore_selected_keys_job`,
the selection the README gives for it.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest
import yaml

from lookervault_core.testing.fake_looker import ServerError

from .conftest import PROJECT, Stack
from .test_webserver import (
    MARKETING_FUNNEL,
    REGIONAL_LOOK,
    REGIONAL_SALES,
    RUN_TIMEOUT_S,
    SALES_OVERVIEW,
    backfill_runs,
    events_of,
    live,
    materialized_partitions,
    remove_titled,
    require_success,
    wait_backfill,
)

pytestmark = pytest.mark.integration

ORDERS_BY_MONTH = "Orders by Month"  # look 201, folder 11; a tile of dashboard 101
SELECTION = ["folders", "looks", "dashboards"]


def selected_keys_config(**config: Any) -> dict[str, Any]:
    """Run config of restore_selected_keys_job as typed in the launchpad (one retry per call)."""
    return {"ops": {"restore_selected_keys": {"config": config}},
            "resources": {"looker": {"config": {"retry_attempts": 1}}}}


def readme_launchpad_config() -> dict[str, Any]:
    """The README's launchpad config for several content types, as a user pastes it."""
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", (PROJECT / "docs" / "operations.md").read_text(), re.S)
               if "content_types" in b]
    config = yaml.safe_load(textwrap.dedent(block))
    assert isinstance(config, dict), block
    return config


def runs_by_asset(stack: Stack, backfill_id: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for run in backfill_runs(stack, backfill_id):
        for asset in ["/".join(a["path"]) for a in run.get("assetSelection") or []]:
            out.setdefault(asset, []).append(run)
    return out


def dead_letters(stack: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["content_type"], d["id"]): d
            for d in stack.cli_json("dead-letters", "--json", "--types", "folders,looks,dashboards")}


def test_picking_one_folder_of_several_assets_restores_nothing_below_it_and_says_what_to_launch(
    stack: Stack,
) -> None:
    """Folder 11 picked with looks and dashboards selected: Dagster would target every look and dashboard.

    The looks level, given all looks because one folder was picked, restores
    none and names the job that restores folder 11 with what it holds; that
    job then restores folder 11's subtree and leaves folder 12's dashboard alone.
    """
    fake, gql = stack.fake, stack.gql
    assert fake.all("looks").get("202") and fake.all("dashboards").get("102")
    fake.remove("looks", "202")  # folder 13, inside folder 11: part of what "folder 11" means
    assert remove_titled(fake, "dashboards", MARKETING_FUNNEL)  # folder 12: not picked

    # Exactly what the partition dialog sends for this selection with folder 11 picked.
    backfill_id = gql.launch_asset_backfill(SELECTION, partition_names=["11"], title="integration: folder 11 picked")
    backfill = wait_backfill(stack, backfill_id)
    by_asset = runs_by_asset(stack, backfill_id)

    assert not live(fake, "dashboards", MARKETING_FUNNEL), "dashboard 102 (folder 12, not picked) was restored"
    assert not live(fake, "looks", REGIONAL_LOOK), "the looks level restored looks although only a folder was picked"
    (folders_run,) = by_asset["folders"]
    require_success(stack, folders_run)
    assert materialized_partitions(stack, folders_run["runId"], "folders") == {"11"}
    (looks_run,) = by_asset["looks"]
    require_success(stack, looks_run)
    assert materialized_partitions(stack, looks_run["runId"], "looks") == set()
    warnings = [e["message"] for e in gql.run_events(looks_run["runId"])
                if e["__typename"] == "LogMessageEvent" and "restore_selected_keys_job" in (e.get("message") or "")]
    assert warnings and "folders 11" in warnings[0], warnings
    assert "dashboards" not in by_asset, "no level below the refused one may run"
    # Dagster counts the refused levels as not materialized: the backfill ends failed, no partition does.
    assert backfill["status"] == "COMPLETED_FAILED", backfill
    for asset in SELECTION:
        assert not gql.partition_statuses(asset).failed, asset
    assert dead_letters(stack) == {}

    # The README's launchpad config for "folder 11 with what it holds", copied from the README.
    run = gql.wait_run(gql.launch_run("restore_selected_keys_job", run_config=readme_launchpad_config()),
                       timeout=RUN_TIMEOUT_S)
    require_success(stack, run)
    assert materialized_partitions(stack, run["runId"], "looks") == {"201", "202"}
    # Folder 11, restored by the backfill above and unchanged since, needs no new event (issue 10).
    assert materialized_partitions(stack, run["runId"], "folders") == {"13"}
    assert {"11", "13"} <= gql.partition_statuses("folders").materialized
    assert materialized_partitions(stack, run["runId"], "dashboards") == {"101"}
    (look,) = live(fake, "looks", REGIONAL_LOOK)
    (folder,) = live(fake, "folders", REGIONAL_SALES)
    assert str(look["folder_id"]) == str(folder["id"]), (look, folder)
    assert not live(fake, "dashboards", MARKETING_FUNNEL)
    assert len(live(fake, "dashboards", SALES_OVERVIEW)) == 1
    assert "202" in gql.partition_statuses("looks").materialized


def test_a_failed_folder_stops_the_levels_below_in_a_backfill_but_not_in_the_selected_keys_job(
    stack: Stack,
) -> None:
    """Folder 13 fails (500 on create): a backfill starts no look or dashboard; the job goes on past it."""
    fake, gql = stack.fake, stack.gql
    remove_titled(fake, "folders", REGIONAL_SALES)  # folder 13
    remove_titled(fake, "looks", REGIONAL_LOOK)  # look 202, in folder 13
    remove_titled(fake, "looks", ORDERS_BY_MONTH)  # look 201, in folder 11
    remove_titled(fake, "dashboards", SALES_OVERVIEW)  # dashboard 101, folder 11, shows look 201
    remove_titled(fake, "dashboards", MARKETING_FUNNEL)  # dashboard 102, folder 12
    fake.inject("POST /folders", ServerError(500), times=1000)
    try:
        # All partitions of the three assets (the dialog's "all" or the `pureAll` case).
        backfill_id = gql.launch_asset_backfill(SELECTION, title="integration: a folder fails")
        backfill = wait_backfill(stack, backfill_id)
        by_asset = runs_by_asset(stack, backfill_id)
        assert backfill["status"] == "COMPLETED_FAILED", backfill
        assert set(by_asset) == {"folders"}, f"levels below a failed folder ran: {sorted(by_asset)}"
        assert "13" in gql.partition_statuses("folders").failed
        assert not live(fake, "looks", ORDERS_BY_MONTH) and not live(fake, "dashboards", SALES_OVERVIEW)
        assert set(dead_letters(stack)) == {("folders", "13")}

        # The same failure in restore_selected_keys_job over the three types: each level goes on.
        run = gql.wait_run(gql.launch_run("restore_selected_keys_job", run_config=selected_keys_config(
            content_types=SELECTION, folders=["11"])), timeout=RUN_TIMEOUT_S)
    finally:
        fake.clear_faults()
    assert run["status"] == "FAILURE", run
    assert materialized_partitions(stack, run["runId"], "looks") == {"201"}
    assert materialized_partitions(stack, run["runId"], "dashboards") == {"101"}
    assert len(live(fake, "looks", ORDERS_BY_MONTH)) == 1 and len(live(fake, "dashboards", SALES_OVERVIEW)) == 1
    assert not live(fake, "looks", REGIONAL_LOOK) and not live(fake, "folders", REGIONAL_SALES)
    assert not live(fake, "dashboards", MARKETING_FUNNEL), "dashboard 102 is not in folder 11"
    letters = dead_letters(stack)
    assert set(letters) == {("folders", "13"), ("looks", "202")}, letters
    assert letters[("folders", "13")]["run_id"] == run["runId"]
    assert letters[("folders", "13")]["error_type"] == "Unavailable", letters
    assert "folder 13" in letters[("looks", "202")]["error"], letters
    (step_failure,) = events_of(stack, run["runId"], "ExecutionStepFailureEvent")
    message = step_failure["error"]["message"]
    assert "1 of 2 folders failed" in message and "1 of 2 looks failed" in message, message

    # Fixed: the same selection again restores what failed; nothing is left in the dead-letter queue.
    run = gql.wait_run(gql.launch_run("restore_selected_keys_job", run_config=selected_keys_config(
        content_types=SELECTION, folders=["11"])), timeout=RUN_TIMEOUT_S)
    require_success(stack, run)
    assert dead_letters(stack) == {}
    (look,) = live(fake, "looks", REGIONAL_LOOK)
    (folder,) = live(fake, "folders", REGIONAL_SALES)
    assert str(look["folder_id"]) == str(folder["id"]), (look, folder)
    assert not gql.partition_statuses("looks").failed and not gql.partition_statuses("dashboards").failed
    assert not live(fake, "dashboards", MARKETING_FUNNEL)

    # The backfill's own way back (README): re-executed from failure, it restores every level below.
    retry_id = gql.reexecute_backfill(backfill_id, "FROM_FAILURE")
    retry = wait_backfill(stack, retry_id)
    assert retry["status"] == "COMPLETED_SUCCESS", retry
    assert set(runs_by_asset(stack, retry_id)) == set(SELECTION)
    assert len(live(fake, "dashboards", MARKETING_FUNNEL)) == 1, "dashboard 102 was in the first backfill"
    for asset in SELECTION:
        status = gql.partition_statuses(asset)
        assert status.materialized == set(status.keys) and not status.failed, status
    assert dead_letters(stack) == {}
