"""Persistent map of source ids to destination ids.

Looker assigns ids on create, so an item restored as new gets a new id and
everything that referenced the old one must be rewritten. The map is kept per
(source, destination, kind) in its own SQLite file — never in the backup,
which restore must not modify. `kind` is a content type label (`folder`) or a
sub-resource kind (`query`, `dashboard_element`, `board_section`, ...).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import MappingError

__all__ = ["IdMap"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS id_map (
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source, destination, kind, source_id)
);
CREATE INDEX IF NOT EXISTS id_map_reverse
    ON id_map (source, destination, kind, destination_id);
"""


class IdMap:
    """Source → destination ids for one (source, destination) pair, thread-safe.

    Args:
        path: SQLite file holding the map, created when missing; ``":memory:"``
            for a map that lives as long as the object.
        source: names where the content came from (e.g. the backup's instance).
        destination: names the Looker instance written to (its host).
    """

    def __init__(self, path: str | os.PathLike[str], source: str, destination: str) -> None:
        self.path = str(path)
        self.source = source
        self.destination = destination
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            # One connection guarded by a lock: writes are tiny and rare next to API calls.
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise MappingError(f"cannot open id map {self.path}: {exc}") from exc
        self._cache: dict[tuple[str, str], str] = {}

    def get(self, kind: str, source_id: str) -> str | None:
        """The destination id of `source_id`, or None when it was never mapped."""
        key = (kind, source_id)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            row = self._conn.execute(
                "SELECT destination_id FROM id_map WHERE source=? AND destination=? AND kind=? AND source_id=?",
                (self.source, self.destination, kind, source_id),
            ).fetchone()
            if row is not None:
                self._cache[key] = row[0]
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
            self._conn.execute(
                "DELETE FROM id_map WHERE source=? AND destination=? AND kind=? AND source_id=?",
                (self.source, self.destination, kind, source_id),
            )
            self._conn.commit()
            self._cache.pop((kind, source_id), None)

    def set(self, kind: str, source_id: str, destination_id: str, *, created: bool = False) -> None:
        """Record that `source_id` now lives at `destination_id`.

        On the same instance an object at its own id needs no row (`lookup`
        assumes it), unless restore `created` it there: a new object that got
        its source's id by chance must be recorded, since it cannot be
        recognised by identity (restore.identity) later.
        """
        known = self.get(kind, source_id)
        if known == destination_id or (self.same_instance and source_id == destination_id and known is None
                                       and not created):
            return
        with self._lock:
            self._conn.execute(
                "INSERT INTO id_map (source, destination, kind, source_id, destination_id) VALUES (?,?,?,?,?) "
                "ON CONFLICT (source, destination, kind, source_id) DO UPDATE SET "
                "destination_id=excluded.destination_id, updated_at=excluded.updated_at",
                (self.source, self.destination, kind, source_id, destination_id),
            )
            self._conn.commit()
            self._cache[(kind, source_id)] = destination_id

    def source_of(self, kind: str, destination_id: str) -> str | None:
        """The source id mapped to `destination_id`, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT source_id FROM id_map WHERE source=? AND destination=? AND kind=? AND destination_id=?",
                (self.source, self.destination, kind, destination_id),
            ).fetchone()
        return None if row is None else str(row[0])

    def items(self, kind: str | None = None) -> Iterator[tuple[str, str, str]]:
        """(kind, source_id, destination_id) of every mapping, optionally of one kind."""
        sql = "SELECT kind, source_id, destination_id FROM id_map WHERE source=? AND destination=?"
        args: tuple[str, ...] = (self.source, self.destination)
        if kind is not None:
            sql += " AND kind=?"
            args += (kind,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY kind, source_id", args).fetchall()
        for k, s, d in rows:
            yield str(k), str(s), str(d)

    def close(self) -> None:
        """Close the underlying connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> IdMap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
