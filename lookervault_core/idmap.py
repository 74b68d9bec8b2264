"""Persistent map of source ids to destination ids.

Looker assigns ids on create, so an item restored as new gets a new id and
everything that referenced the old one must be rewritten. The map is kept per
(source, destination, kind) outside the backup, which restore must not
modify: in a SQLite file by default, or in a PostgreSQL database that every
run of a deployment reaches (runs in separate containers each start fresh, so
a file on one machine would give each its own map and duplicates). `kind` is
a content type label (`folder`) or a sub-resource kind (`query`,
`dashboard_element`, `board_section`, ...).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from .errors import MappingError

__all__ = ["IdMap", "is_database_url"]

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
            for statement in _SCHEMA:
                self._db.run(statement)
        except (sqlite3.Error, OSError) as exc:
            raise MappingError(f"cannot open id map {_redacted(self.path)}: {exc}") from exc
        self._cache: dict[tuple[str, str], str] = {}

    def get(self, kind: str, source_id: str) -> str | None:
        """The destination id of `source_id`, or None when it was never mapped."""
        key = (kind, source_id)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            rows = self._db.run(
                "SELECT destination_id FROM id_map WHERE source=? AND destination=? AND kind=? AND source_id=?",
                (self.source, self.destination, kind, source_id),
            )
            row = rows[0] if rows else None
            if row is not None:
                self._cache[key] = str(row[0])
            return None if row is None else str(row[0])

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
                (self.source, self.destination, kind, source_id, destination_id,
                 datetime.now(UTC).isoformat(timespec="milliseconds")),
            )
            self._cache[(kind, source_id)] = destination_id

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
