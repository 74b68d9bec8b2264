"""Run `restore_looks` over a range in this process and SIGKILL it between the two writes of one event.

Dagster's SQLite event log stores an asset event in the run's shard, then in
the index shard (SqliteEventLogStorage.store_event, a transaction each). This
script lets the Nth materialization reach the run shard and kills the process
before its index write, as kill -9 of a run worker can. Used by
tests/pipelines/test_reexecution.py only.

    python kill_between_writes.py DAGSTER_HOME FIRST_KEY LAST_KEY N
"""

from __future__ import annotations

import os
import signal
import sys

import dagster as dg

from lookervault_pipelines.definitions import defs
from lookervault_pipelines.defs.jobs import RANGE_END_TAG, RANGE_START_TAG


def main(home: str, first: str, last: str, kill_at: int) -> None:
    with dg.DagsterInstance.local_temp(home) as instance:
        storage = instance.event_log_storage
        store_event, index_transaction = storage.store_event, storage.index_transaction  # type: ignore[attr-defined]
        seen = 0

        def counting_store_event(event: dg.EventLogEntry) -> None:
            nonlocal seen
            if event.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                seen += 1
            store_event(event)

        def killing_index_transaction() -> object:
            if seen >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return index_transaction()

        storage.store_event = counting_store_event  # type: ignore[method-assign]
        storage.index_transaction = killing_index_transaction  # type: ignore[attr-defined]
        defs.resolve_job_def("restore_looks").execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={"resources": {"looker": {"config": {"retry_attempts": 1}}}},
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
