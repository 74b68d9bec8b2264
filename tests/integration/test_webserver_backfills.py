"""The backfill scenarios of test_webserver.py, on a deployment of their own.

Backfills advance one level per backfill daemon tick (2 s with dagster.yaml's `backfill_interval_seconds`;
Dagster's own is 30 s): in a file of their own they run beside the other webserver tests (pytest-xdist,
`--dist loadfile`) instead of after them.
"""

from __future__ import annotations

import pytest

from . import test_webserver as scenarios
from .conftest import Stack

pytestmark = pytest.mark.integration


def test_multi_type_backfill_respects_type_order(stack: Stack) -> None:
    scenarios.backfill_multi_type_backfill_respects_type_order(stack)


def test_failed_partition_is_visible_and_reexecuted_from_failure(stack: Stack) -> None:
    scenarios.backfill_failed_partition_is_visible_and_reexecuted_from_failure(stack)


def test_a_stale_key_in_a_backfill_is_not_failed_and_prune_removes_it_from_the_ui(stack: Stack) -> None:
    scenarios.backfill_a_stale_key_in_a_backfill_is_not_failed_and_prune_removes_it_from_the_ui(stack)
