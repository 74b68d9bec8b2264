"""Dagster's PostgreSQL event log storage with one pooled connection per process (needs dagster-postgres).

dagster-postgres creates its engine with `NullPool` (event_log.py: "Default to
not holding any connections open to prevent accumulating connections per
DagsterInstance"): a run worker then opens a new PostgreSQL connection for
every event it writes, and a restore writes one event per changed item. This
class keeps the storage as it is and only swaps the engine for the pooled one
dagster-postgres itself uses in the webserver (`optimize_for_webserver`: pool
size 1, `max_overflow` more under load, recycled after `pool_recycle` s).
Configure it in dagster.yaml in place of `storage: postgres:`:

    run_storage:
      module: dagster_postgres.run_storage
      class: PostgresRunStorage
      config: {postgres_url: ...}
    event_log_storage:
      module: lookervault_pipelines.instance.pg_storage
      class: PooledPostgresEventLogStorage
      config: {postgres_url: ...}
    schedule_storage:
      module: dagster_postgres.schedule_storage
      class: PostgresScheduleStorage
      config: {postgres_url: ...}

Each process holds at most 1 + max_overflow connections: size PostgreSQL's
max_connections (or put PgBouncer in front) for the run workers running at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster_postgres.event_log import PostgresEventLogStorage  # type: ignore[import-not-found]
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config  # type: ignore[import-not-found]

__all__ = ["PooledPostgresEventLogStorage"]

_POOL_RECYCLE_S = 3600
_MAX_OVERFLOW = 4


class PooledPostgresEventLogStorage(PostgresEventLogStorage):  # type: ignore[misc]
    """PostgresEventLogStorage whose engine keeps its connection between events."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data: Any = None,
                 token_provider: Any = None) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        # statement_timeout 0: none (PostgreSQL's default), as for any run worker.
        self.optimize_for_webserver(statement_timeout=0, pool_recycle=_POOL_RECYCLE_S, max_overflow=_MAX_OVERFLOW)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> PooledPostgresEventLogStorage:
        return cls(pg_url_from_config(config_value), config_value.get("should_autocreate_tables", True), inst_data,
                   get_token_provider_from_config(config_value))
