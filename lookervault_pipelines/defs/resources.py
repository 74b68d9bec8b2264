"""Dagster resources: the Looker connection, the backup file, and where restore state lives."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from pydantic import Field

from lookervault_core.backup import BackupReader
from lookervault_core.idmap import BackupSources, IdMap, SourceChoice
from lookervault_core.looker import LookerClient, LookerSettings, RetryPolicy, connect

__all__ = ["BackupResource", "LookerResource", "RestoreStateResource"]


class LookerResource(dg.ConfigurableResource):
    """The Looker instance written to. Give the secret as `dg.EnvVar("LOOKERSDK_CLIENT_SECRET")`.

    Unset optional fields fall back to the standard LOOKERSDK_* variables at
    run time, so people who already export them need no configuration.
    """

    base_url: str | None = Field(default=None, description="scheme://host:port of the API; LOOKERSDK_BASE_URL")
    client_id: str | None = Field(default=None, description="API client id; LOOKERSDK_CLIENT_ID")
    client_secret: str | None = Field(default=None, description="API client secret; LOOKERSDK_CLIENT_SECRET")
    verify_ssl: bool | None = Field(default=None, description="TLS verification; on unless turned off")
    timeout: int | None = Field(default=None, description="seconds per HTTP request (default 120)")
    workers: int = Field(default=8, description="threads restoring items at once within one run, at first")
    max_workers: int = Field(default=32, description="ceiling the items in flight grow toward while throughput "
                             "follows and the process is not busy (Looker's latency, not the CPU, is then the "
                             "limit); halved on 429s. "
                             "Equal to workers: fixed")
    retry_attempts: int = Field(default=5, description="tries per API call on 429, 5xx and network errors")
    retry_backoff_seconds: float = Field(default=0.5, description="first wait between tries; doubles each try")

    def settings(self, threads: int | None = None) -> LookerSettings:
        """Settings whose connection pool fits `threads` (default: max_workers)."""
        overrides: dict[str, str | bool | int] = {"workers": max(self.workers, threads or self.max_workers)}
        for name in ("base_url", "client_id", "client_secret", "verify_ssl", "timeout"):
            value = getattr(self, name)
            if value is not None:
                overrides[name] = value
        return LookerSettings.from_env(**overrides)

    def connect(self, threads: int | None = None) -> LookerClient:
        """An authenticated client whose connection pool fits `threads` (default: max_workers)."""
        policy = RetryPolicy(attempts=self.retry_attempts, initial_backoff=self.retry_backoff_seconds,
                             jitter=min(0.5, self.retry_backoff_seconds))
        return connect(self.settings(threads), retry=policy)


class BackupResource(dg.ConfigurableResource):
    """The LookerVault backup file restored from (opened read-only)."""

    path: str = Field(description="path of the backup .sqlite file; LOOKERVAULT_BACKUP")

    def open(self) -> BackupReader:
        return BackupReader(self.path)


def default_state_dir() -> str:
    """$LOOKERVAULT_STATE_DIR, else a `lookervault` folder in $DAGSTER_HOME, else ./.lookervault."""
    if os.environ.get("LOOKERVAULT_STATE_DIR"):
        return os.environ["LOOKERVAULT_STATE_DIR"]
    home = os.environ.get("DAGSTER_HOME")
    return str(Path(home) / "lookervault") if home else ".lookervault"


class RestoreStateResource(dg.ConfigurableResource):
    """Where the persistent source → destination id map lives.

    Partition status (Dagster's own storage) says what was restored; this
    holds only the ids Looker assigned to items it created.
    """

    state_dir: str | None = Field(
        default=None,
        description="folder for idmap.sqlite; default $LOOKERVAULT_STATE_DIR, else $DAGSTER_HOME/lookervault",
    )
    source_instance: str | None = Field(
        default=None,
        description="name of the instance the backup came from, kept for that backup so later runs need not "
                    "repeat it; default $LOOKERVAULT_SOURCE_INSTANCE, else the name kept for the backup, else "
                    "none: the destination may be the backup's own instance (ids kept after an identity check)",
    )

    database_url: str | None = Field(
        default=None,
        description="postgresql:// URL of the id map shared by every run (needed when runs start in separate "
                    "containers); default $LOOKERVAULT_IDMAP_URL, else idmap.sqlite in state_dir",
    )

    def location(self) -> str:
        """Where the id map lives: the database URL, else the SQLite file (read at run time)."""
        url = self.database_url or os.environ.get("LOOKERVAULT_IDMAP_URL")
        if url:
            return url
        return str(Path(self.state_dir or default_state_dir()) / "idmap.sqlite")

    def given_source(self) -> str | None:
        """The source instance this run is told: its own setting, else $LOOKERVAULT_SOURCE_INSTANCE."""
        return self.source_instance or os.environ.get("LOOKERVAULT_SOURCE_INSTANCE") or None

    def source_for(self, destination: str, backup: BackupReader, *, record: bool) -> SourceChoice:
        """Where `backup`'s ids come from, as every path decides it (see idmap.BackupSources).

        Raises:
            MappingError: the id map cannot be opened, or this run names another source than the one
                kept for this backup.
        """
        with BackupSources(self.location()) as sources:
            return sources.choose(destination, fingerprint=backup.fingerprint,
                                  backup_path=str(Path(backup.path).resolve()), given=self.given_source(),
                                  record=record)

    def idmap(self, destination: str, backup: BackupReader, *, record: bool = False,
              log: Callable[[str], object] | None = None) -> IdMap:
        """The id map of `backup` into `destination`, for the source every path agrees on.

        `record` keeps a given source for this backup (runs that write; a dry run only reads it);
        `log` is told which source that is and why.
        """
        choice = self.source_for(destination, backup, record=record)
        if log is not None:
            log(f"source instance of this backup: {choice.source!r} ({choice.origin})")
        return IdMap(self.location(), choice.source, destination)
