"""Persistent map of source ids to destination ids.

Looker assigns ids on create, so an item restored as new gets a new id and
everything that referenced the old one must be rewritten. The map is kept per
(source, destination, kind) outside the backup, which restore must not
modify: in a SQLite file by default, or in a PostgreSQL database that every
run of a deployment reaches (runs in separate containers each start fresh, so
a file on one machine would give each its own map and duplicates). `kind` is
a content type label (`folder`) or a sub-resource kind (`query`,
`dashboard_element`, `board_section`, ...).

The same store records where each backup came from (`BackupSources`): a
LookerVault backup does not say, so the name a run is given (`--source-instance`,
LOOKERVAULT_SOURCE_INSTANCE) is kept for that backup, and every later run on
it (the UI, `dagster job launch`, schedules, sensors, re-execution, the CLI)
maps ids the same way without being told again.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from .errors import MappingError

__all__ = ["BackupSources", "IdMap", "SourceChoice", "is_database_url"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS id_map (
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, destination, kind, source_id)
)""",
    "CREATE INDEX IF NOT EXISTS id_map_reverse ON id_map (source, destination, kind, destination_id)",
    # `backup` is "sha256:<fingerprint>" for one file's content, or "path:<absolute path>" for whatever file
    # is at that path: LookerVault syncs into the same file, so a backup's content changes with every sync.
    """CREATE TABLE IF NOT EXISTS backup_source (
    destination TEXT NOT NULL,
    backup TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (destination, backup)
)""",
)
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")

Row = tuple[object, ...]


def is_database_url(target: str) -> bool:
    """Whether an id map location is a PostgreSQL URL rather than a file path."""
    return target.startswith(_POSTGRES_SCHEMES)


class _Database(Protocol):
    def run(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...

    def close(self) -> None: ...


class _Sqlite:
    """A SQLite file; one connection, WAL so readers never wait for a writer."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # No fsync per commit (every mapping is one, under the map's lock: ~2-4 ms
        # each, a ceiling on creates per second). WAL with synchronous=NORMAL
        # still survives a crash of the process; only a power loss can drop the
        # last mappings, which leaves the state of a crash between a create and
        # its mapping, already handled: the item is found again by its natural
        # key (title in folder, name, email) and not created twice.
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def run(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        rows = self._conn.execute(sql, tuple(args)).fetchall()
        self._conn.commit()
        return rows

    def close(self) -> None:
        self._conn.close()


class _Postgres:
    """A PostgreSQL database (psycopg 3, autocommit): shared by every run that reaches it."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise MappingError("an id map in PostgreSQL needs psycopg: pip install 'lookervault-restore[postgres]'"
                               ) from exc
        self._error = psycopg.Error
        try:
            self._conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise MappingError(f"cannot connect to the id map database {_redacted(url)}: {exc}") from exc

    def run(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), tuple(args))
                return list(cur.fetchall()) if cur.description is not None else []
        except self._error as exc:
            raise MappingError(f"id map database: {exc}") from exc

    def close(self) -> None:
        self._conn.close()


def _open(target: str) -> _Database:
    return _Postgres(target) if is_database_url(target) else _Sqlite(target)


def _redacted(target: str) -> str:
    # A database URL may carry a password: never show it in errors.
    if not is_database_url(target) or "@" not in target:
        return target
    scheme, _, rest = target.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _ensure_schema(db: _Database, target: str) -> None:
    try:
        for statement in _SCHEMA:
            db.run(statement)
    except (sqlite3.Error, OSError) as exc:
        raise MappingError(f"cannot open id map {_redacted(target)}: {exc}") from exc


@dataclass(frozen=True)
class SourceChoice:
    """The instance a backup's ids come from, for one run, and how that was decided."""

    source: str
    origin: str

    @property
    def same_instance_assumed(self) -> bool:
        """Nothing named the source: the destination may be the backup's own instance (identity checks)."""
        return self.origin == BackupSources.ASSUMED


class BackupSources:
    """Which instance each backup came from, per destination, kept beside the id map.

    One backup comes from one instance, so a name once given for a backup
    holds for every later run on it; a different name for the same content is
    refused (its items would be mapped afresh and created a second time).
    """

    GIVEN = "given to this run"
    RECORDED = "recorded for this backup's content"
    RECORDED_AT_PATH = "recorded for the backup at this path"
    ASSUMED = "not named: the destination may be the backup's own instance"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        try:
            self._db = _open(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise MappingError(f"cannot open id map {_redacted(self.path)}: {exc}") from exc
        _ensure_schema(self._db, self.path)

    def recorded(self, destination: str, backup: str) -> str | None:
        rows = self._db.run("SELECT source FROM backup_source WHERE destination=? AND backup=?",
                            (destination, backup))
        return str(rows[0][0]) if rows else None

    def choose(self, destination: str, *, fingerprint: str, backup_path: str, given: str | None,
               record: bool) -> SourceChoice:
        """The source for a run on the backup with `fingerprint` at `backup_path` into `destination`.

        `given` (a run's own setting) wins and, when `record`, is kept for the
        backup's content and its path; else the name kept for this content,
        else for this path; else none, and the destination is assumed to be
        the source (every write by an assumed id is checked by identity first).

        Raises:
            MappingError: `given` differs from the name kept for this content.
        """
        content, at_path = f"sha256:{fingerprint}", f"path:{backup_path}"
        if given:
            if record:
                self._db.run("INSERT INTO backup_source (destination, backup, source, recorded_at) "
                             "VALUES (?,?,?,?) ON CONFLICT (destination, backup) DO NOTHING",
                             (destination, content, given, _now()))
            known = self.recorded(destination, content)
            if known is not None and known != given:
                raise MappingError(
                    f"this backup (sha256 {fingerprint[:12]}) was restored into {destination} as coming from "
                    f"source instance {known!r}, and this run names {given!r}: one backup comes from one "
                    f"instance, and under another name its items would be mapped afresh and created again. "
                    f"Use {known!r}, or leave the source instance unset to use it")
            if record:
                self._db.run("INSERT INTO backup_source (destination, backup, source, recorded_at) "
                             "VALUES (?,?,?,?) ON CONFLICT (destination, backup) DO UPDATE SET "
                             "source=excluded.source, recorded_at=excluded.recorded_at",
                             (destination, at_path, given, _now()))
            return SourceChoice(given, self.GIVEN)
        for key, origin in ((content, self.RECORDED), (at_path, self.RECORDED_AT_PATH)):
            known = self.recorded(destination, key)
            if known is not None:
                return SourceChoice(known, origin)
        return SourceChoice(destination, self.ASSUMED)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> BackupSources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class IdMap:
    """Source → destination ids for one (source, destination) pair, thread-safe.

    Args:
        path: where the map lives: a SQLite file (created when missing;
            ``":memory:"`` for a map that lives as long as the object), or a
            ``postgresql://`` URL shared by every run of a deployment.
        source: names where the content came from (e.g. the backup's instance).
        destination: names the Looker instance written to (its host).
    """

    def __init__(self, path: str | os.PathLike[str], source: str, destination: str) -> None:
        self.path = str(path)
        self.source = source
        self.destination = destination
        self._lock = threading.Lock()
        try:
            # One connection guarded by a lock: writes are tiny and rare next to API calls.
            self._db = _open(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise MappingError(f"cannot open id map {_redacted(self.path)}: {exc}") from exc
        _ensure_schema(self._db, self.path)
        self._cache: dict[tuple[str, str], str] = {}
        #: Keys read from the store and found unmapped (after `load`, every key not in `_cache`).
        self._absent: set[tuple[str, str]] = set()
        self._loaded = False

    def get(self, kind: str, source_id: str, *, fresh: bool = False) -> str | None:
        """The destination id of `source_id`, or None when it was never mapped.

        Answers from memory what this map has read or written before: a
        mapping, and also its absence (a same-instance repair maps almost
        nothing, and an unchanged dashboard asks ~36 times). Another process
        writing the same map meanwhile is seen only with `fresh`, which reads
        the store: ask it where a stale absence would do harm (before a create).
        """
        key = (kind, source_id)
        with self._lock:
            if not fresh:
                if key in self._cache:
                    return self._cache[key]
                if self._loaded or key in self._absent:
                    return None
            rows = self._db.run(
                "SELECT destination_id FROM id_map WHERE source=? AND destination=? AND kind=? AND source_id=?",
                (self.source, self.destination, kind, source_id),
            )
            found = str(rows[0][0]) if rows else None
            if fresh and found != self._cache.get(key):
                # Another process restored this item meanwhile, and with it its parts (a dashboard's
                # tiles): nothing remembered of this map holds any longer.
                self._forget_memory()
            if found is None:
                self._cache.pop(key, None)
                self._absent.add(key)
            else:
                self._cache[key] = found
                self._absent.discard(key)
            return found

    def _forget_memory(self) -> None:
        """Read the store again: all of it when it was loaded (one query), else key by key (caller holds the lock)."""
        self._absent.clear()
        if self._loaded:
            rows = self._db.run("SELECT kind, source_id, destination_id FROM id_map WHERE source=? AND destination=?",
                                (self.source, self.destination))
            self._cache = {(str(k), str(s)): str(d) for k, s, d in rows}
        else:
            self._cache.clear()

    def load(self) -> int:
        """Read every mapping of this (source, destination) pair at once, so `get` asks the store no more.

        For a batch: one query instead of one per id it looks up. Returns how
        many mappings there are.
        """
        with self._lock:
            self._loaded = True
            self._forget_memory()
            return len(self._cache)

    @property
    def same_instance(self) -> bool:
        """Whether content goes back where it came from, so unmapped ids are kept as they are."""
        return self.source == self.destination

    def resolve(self, kind: str, source_id: str) -> str | None:
        """Where `source_id` lives in the destination: its mapping, else itself on the same instance.

        Across instances an unmapped id means "not restored yet": the same
        number there belongs to some unrelated object.
        """
        return self.lookup(kind, source_id)[0]

    def lookup(self, kind: str, source_id: str) -> tuple[str | None, bool]:
        """Like `resolve`, and whether the id is only assumed (same instance, never mapped).

        An assumed id is a guess that the object kept its id: before anything
        is written to it, the live object must be shown to be the backup's own
        (see restore.identity), since a backup does not record its instance.
        """
        mapped = self.get(kind, source_id)
        if mapped is not None:
            return mapped, False
        return (source_id, True) if self.same_instance else (None, False)

    def forget(self, kind: str, source_id: str) -> None:
        """Drop a mapping whose destination object no longer exists, so the item is resolved afresh."""
        with self._lock:
            self._db.run(
                "DELETE FROM id_map WHERE source=? AND destination=? AND kind=? AND source_id=?",
                (self.source, self.destination, kind, source_id),
            )
            self._cache.pop((kind, source_id), None)
            self._absent.add((kind, source_id))

    def set(self, kind: str, source_id: str, destination_id: str, *, created: bool = False,
            recognisable: bool = True) -> None:
        """Record that `source_id` now lives at `destination_id`.

        On the same instance an object at its own id needs no row (`lookup`
        assumes it), unless restore `created` it there, or found it by other
        means than its identity (not `recognisable`: a system folder mapped by
        its role, a personal folder through its user, an object found by name
        whose created_at differs). Such an object got its source's id by
        chance and must be recorded, since the identity check
        (restore.identity) would not recognise it later.
        """
        known = self.get(kind, source_id)
        if known == destination_id or (self.same_instance and source_id == destination_id and known is None
                                       and not created and recognisable):
            return
        with self._lock:
            self._db.run(
                "INSERT INTO id_map (source, destination, kind, source_id, destination_id, updated_at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (source, destination, kind, source_id) DO UPDATE SET "
                "destination_id=excluded.destination_id, updated_at=excluded.updated_at",
                (self.source, self.destination, kind, source_id, destination_id, _now()),
            )
            self._cache[(kind, source_id)] = destination_id
            self._absent.discard((kind, source_id))

    def source_of(self, kind: str, destination_id: str) -> str | None:
        """The source id mapped to `destination_id`, if any."""
        with self._lock:
            rows = self._db.run(
                "SELECT source_id FROM id_map WHERE source=? AND destination=? AND kind=? AND destination_id=?",
                (self.source, self.destination, kind, destination_id),
            )
        return str(rows[0][0]) if rows else None

    def items(self, kind: str | None = None) -> Iterator[tuple[str, str, str]]:
        """(kind, source_id, destination_id) of every mapping, optionally of one kind."""
        sql = "SELECT kind, source_id, destination_id FROM id_map WHERE source=? AND destination=?"
        args: tuple[str, ...] = (self.source, self.destination)
        if kind is not None:
            sql += " AND kind=?"
            args += (kind,)
        with self._lock:
            rows = self._db.run(sql + " ORDER BY kind, source_id", args)
        for k, s, d in rows:
            yield str(k), str(s), str(d)

    def close(self) -> None:
        """Close the underlying connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> IdMap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
