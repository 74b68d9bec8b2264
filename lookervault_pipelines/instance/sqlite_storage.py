"""Dagster's SQLite event log, keeping its SQLAlchemy engines between events.

`SqliteEventLogStorage._connect` (Dagster 1.13) creates a new engine for every
connection and disposes it afterwards. A new engine also starts with an empty
compiled-statement cache, so every event's statements are compiled again:
profiled over `lookervault restore` creating 2,000 looks, 9,434 connects took
13.3 s and statement compilation 7.5 s of 33.6 s spent storing 2,237 events.

This subclass keeps one engine per database file (the index and the most
recently used run shards) and is otherwise Dagster's: the same files, the same
`NullPool` (a fresh SQLite connection per use, so processes sharing the files
see each other's writes exactly as before), the same busy timeout, the same
lock around each connection.

It also writes a batch of asset events (`store_event_batch`, see
batching.py) in one transaction per database file, where Dagster's SQLite
storage writes them one by one, each in two transactions of its own (its run
shard, then the index shard): as dagster-postgres does for a batch.

An instance switches to it in dagster.yaml:

    event_log_storage:
      module: lookervault_pipelines.instance.sqlite_storage
      class: EngineKeepingSqliteEventLogStorage

With no `base_dir` it uses the directory Dagster's default storage uses,
`$DAGSTER_HOME/history/runs/`, so an existing instance keeps its events.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from .internals import require, unsupported

try:
    from dagster._core.events import ASSET_EVENTS
    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.event_log import SqliteEventLogStorage
    from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SQLITE_BUSY_TIMEOUT_SECONDS
except ImportError as exc:
    raise unsupported(f"the SQLite event log's internals ({exc})") from exc
# What store_event_batch and _engine call of Dagster's own SQLite storage.
require(SqliteEventLogStorage, "_store_asset_event_tags", "_store_asset_event", "prepare_insert_event",
        "_event_to_row", "_initdb", "conn_string_for_shard", "store_event_batch")

__all__ = ["EngineKeepingSqliteEventLogStorage", "default_base_dir"]

#: Run shards whose engines are kept besides the index shard's (a run writes to its own shard).
_KEPT_RUN_SHARDS = 8


def default_base_dir() -> str:
    """Where Dagster's default SQLite storage keeps the event log of the instance in $DAGSTER_HOME."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise dg.DagsterInvariantViolationError(
            "EngineKeepingSqliteEventLogStorage without base_dir needs DAGSTER_HOME set")
    return os.path.join(os.path.abspath(home), "history", "runs", "")


class EngineKeepingSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage that creates each database file's engine once instead of once per connection."""

    def __init__(self, base_dir: str | None = None, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir or default_base_dir(), inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]
                          ) -> EngineKeepingSqliteEventLogStorage:
        return cls(config_value.get("base_dir"), inst_data)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine (held under `_db_lock`), created and its database initialized on first use."""
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(self.conn_string_for_shard(shard), poolclass=NullPool,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        run_shards = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in run_shards[:-_KEPT_RUN_SHARDS]:
            self._engines.pop(old).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As SqliteEventLogStorage._connect, but for the engine's lifetime.
        with self._db_lock:
            with self._transaction(shard) as conn:
                yield conn

    @contextmanager
    def _transaction(self, shard: str) -> Iterator[Connection]:
        """A connection to `shard` in a transaction of its own; the caller holds `_db_lock`."""
        with self._engine(shard).connect() as conn:
            with conn.begin():
                yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """As `SqliteEventLogStorage.store_event` for each event, in one transaction per database file."""
        if not all(e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS and e.get_dagster_event().asset_key
                   for e in events):
            super().store_event_batch(events)  # one by one
            return
        by_run: dict[str, list[EventLogEntry]] = {}
        for event in events:
            by_run.setdefault(event.run_id, []).append(event)
        # All or nothing: when this raises, Dagster stores the batch again one event at a time
        # (DagsterInstance.handle_new_event), so nothing of it may stay behind. The run shards'
        # transactions stay open until the index shard's has committed, and roll back with it.
        with self._db_lock, contextlib.ExitStack() as open_transactions:
            for run_id, of_run in by_run.items():
                conn = open_transactions.enter_context(self._transaction(run_id))
                conn.execute(SqlEventLogStorageTable.insert(), [self._event_to_row(e) for e in of_run])
            # Mirrored in the index shard, as store_event does, where the asset tables point at its ids.
            with self._transaction(INDEX_SHARD_NAME) as conn:
                ids = [conn.execute(self.prepare_insert_event(e)).inserted_primary_key[0] for e in events]
                self._store_asset_event_tags(conn, events, ids)
                # The asset row keeps the latest event of each kind: writing only those, in their
                # order, leaves it as writing every event would.
                latest = {(e.get_dagster_event().asset_key, e.dagster_event_type): i for i, e in enumerate(events)}
                for i in sorted(latest.values()):
                    self._store_asset_event(conn, events[i], ids[i])

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
