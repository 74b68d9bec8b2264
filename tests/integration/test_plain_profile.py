"""The instance plug-ins are optional: the key webserver and daemon scenarios on Dagster's stock pieces.

The same tests as test_webserver.py (one partition, a range with a failure re-executed from failure, dead
letters of a selected-keys run), on a deployment whose dagster.yaml is dagster.plain.yaml: the stock run
coordinator, run launcher and SQLite event log.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from . import test_webserver as scenarios
from .conftest import PROJECT, Stack, start_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The deployment of conftest.py, with dagster.plain.yaml as its instance's dagster.yaml."""
    with start_stack(tmp_path_factory.mktemp("plain"),
                     dagster_yaml=(PROJECT / "dagster.plain.yaml").read_text()) as running:
        yield running


def test_the_plain_profile_runs_none_of_the_projects_plug_ins(stack: Stack) -> None:
    with dg.DagsterInstance.from_config(str(stack.home)) as instance:
        pieces = [type(instance.run_launcher), type(instance.run_coordinator), type(instance.event_log_storage)]
    assert [p.__module__.split(".")[0] for p in pieces] == ["dagster"] * 3, pieces
    assert [p.__name__ for p in pieces] == ["DefaultRunLauncher", "QueuedRunCoordinator", "SqliteEventLogStorage"]


# In this order: each scenario leaves the fake as the next one expects (as in test_webserver.py).


def test_one_partition_launched_through_graphql(stack: Stack) -> None:
    scenarios.test_single_partition_run_through_graphql(stack)


def test_a_range_with_a_failure_reexecuted_from_failure_restores_only_what_failed(stack: Stack) -> None:
    scenarios.test_run_reexecuted_from_failure_on_its_run_page_restores_only_what_failed(stack)


def test_failures_of_a_selected_keys_run_are_dead_letters(stack: Stack) -> None:
    scenarios.test_failures_of_a_selected_keys_run_launched_from_the_ui_are_dead_letters(stack)
