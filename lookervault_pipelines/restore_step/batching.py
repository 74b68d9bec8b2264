"""Restored partitions written to Dagster's event log in batches, the way Dagster writes an output's partitions.

A restore records one materialization per changed item. Stored one by one,
each is its own database round trip (dagster-postgres: an INSERT, a NOTIFY,
then the asset tags and the asset row in a second transaction). Dagster
itself batches the events of one output's partitions and a run's planned
events: it hands `DagsterEventBatchMetadata` to `instance.handle_new_event`,
which buffers the events of a batch and writes them with one
`store_event_batch` once the batch ends or holds `DAGSTER_EVENT_BATCH_SIZE`
events (dagster/_core/instance/methods/event_methods.py; execute_step.py
`_store_output`; run_domain.py planned events). Materializations a step
yields itself get no batch metadata, so `MaterializationBatches` builds their
`DagsterEvent`s the way execute_step does for a yielded one
(`DagsterEvent.asset_materialization(step_context, materialization)`), with
batch metadata. These are Dagster internals, imported from
instance/internals.py, which checks them when it loads.

What a batch changes for the user: a restored item shows in the UI when its
batch is written: once `DAGSTER_EVENT_BATCH_SIZE` items are in it, or with
the first item finished `MAX_WAIT_S` after the batch began (when items come
slower than that, each is written as the next one finishes), and always
before a failure, a stale key or the step's end is recorded, so the order of
events is kept. If the run
worker is killed, the items of the unwritten batch are not recorded as
restored; they are in Looker, and the next restore finds them unchanged and
records them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import dagster as dg
from ..instance.internals import DagsterEvent, DagsterEventBatchMetadata, generate_event_batch_id

__all__ = ["BATCH_SIZE", "MAX_WAIT_S", "MaterializationBatches", "enable_batch_writes"]

#: Events per batch write unless DAGSTER_EVENT_BATCH_SIZE says otherwise (0 turns batching off).
BATCH_SIZE = 100
#: A batch ends with the first item finished this long after it began (or after the item before).
MAX_WAIT_S = 1.0


def enable_batch_writes() -> None:
    """Turn on Dagster's batched event writes in this process, unless the environment chose already.

    Dagster reads DAGSTER_EVENT_BATCH_SIZE at every event (instance
    `_get_event_batch_size`); without it, batch metadata is ignored and each
    event is written at once. Set in every process that loads this code
    location, it also batches the planned events of the runs it creates.
    """
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(BATCH_SIZE))


class MaterializationBatches:
    """Turns a step's yielded partition materializations into batched `DagsterEvent`s.

    One materialization is held back until the next event arrives, so that the
    last one of a batch can say it ends it. `add` passes every other event on
    after writing what is held; `flush` writes what is held at the end of the
    step; `close` (in a `finally`) writes it when the step stops on an
    exception, where nothing can be yielded any more.
    """

    def __init__(self, context: dg.OpExecutionContext, *, max_wait_s: float = MAX_WAIT_S) -> None:
        self._step = context.get_step_execution_context()
        self._max_wait_s = max_wait_s
        self._held: dg.AssetMaterialization | None = None
        self._held_since = 0.0
        self._batch = generate_event_batch_id()
        self._batch_since: float | None = None

    def add(self, event: dg.AssetMaterialization | dg.AssetObservation
            ) -> Iterator[dg.AssetMaterialization | dg.AssetObservation | DagsterEvent]:
        now = time.monotonic()
        if isinstance(event, dg.AssetMaterialization) and event.partition is not None:
            held, self._held = self._held, event
            if held is not None:
                # The batch ends once it is MAX_WAIT_S old, or at once when items come slower than that.
                old = self._batch_since is not None and now - self._batch_since >= self._max_wait_s
                yield self._write(held, end=old or now - self._held_since >= self._max_wait_s)
            self._held_since = now
            return
        yield from self.flush()
        yield event

    def flush(self) -> Iterator[DagsterEvent]:
        if self._held is not None:
            held, self._held = self._held, None
            yield self._write(held, end=True)

    def close(self) -> None:
        for _ in self.flush():
            pass

    def _write(self, materialization: dg.AssetMaterialization, *, end: bool) -> DagsterEvent:
        if self._batch_since is None:
            self._batch_since = time.monotonic()
        # Building the event logs it: the instance buffers it, or writes the batch when it ends.
        event = DagsterEvent.asset_materialization(self._step, materialization,
                                                   DagsterEventBatchMetadata(self._batch, end))
        if end:
            self._batch, self._batch_since = generate_event_batch_id(), None
        return event
