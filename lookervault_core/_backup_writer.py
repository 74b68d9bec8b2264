"""The writer of schema-v4 LookerVault backups."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal

from lookervault_core._backup_codec import as_int, as_str, encode_blob, item_key, sqlite_errors
from lookervault_core._backup_schema import CONTENT_COLUMNS, SCHEMA_V4, VERSION_ROWS
from lookervault_core.content_types import ContentType
from lookervault_core.errors import BackupError

__all__ = ["BackupWriter", "content_row"]

_OWNED = frozenset({ContentType.DASHBOARD, ContentType.LOOK, ContentType.BOARD,
                    ContentType.SCHEDULED_PLAN})
_FOLDERED = frozenset({ContentType.DASHBOARD, ContentType.LOOK})


def _iso(value: object, default: str) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value:
        return value
    return default


def content_row(content_type: ContentType, data: Mapping[str, object], *,
                id_form: Literal["raw", "prefixed"] = "raw", deleted_at: datetime | None = None,
                synced_at: datetime | None = None) -> tuple[object, ...]:
    """The `content_items` values (in CONTENT_COLUMNS order) LookerVault derives from an object."""
    now = (synced_at or datetime.now(UTC)).isoformat()
    key = item_key(content_type, data)
    row_id = f"{content_type.label}::{key}" if id_form == "prefixed" else key
    blob = encode_blob(data)
    title = data.get("title") or data.get("name") or data.get("custom_title")
    owner = as_int(data.get("user_id")) if content_type in _OWNED else None
    if content_type is ContentType.ALERT:
        owner = as_int(data.get("owner_id"))
    folder = as_str(data.get("folder_id")) if content_type in _FOLDERED else None
    return (
        row_id, content_type.value, str(title) if title else f"Untitled {key}", owner, None,
        _iso(data.get("created_at"), now), _iso(data.get("updated_at"), now), now,
        deleted_at.isoformat() if deleted_at else None, len(blob), blob, folder,
    )


class BackupWriter:
    """Writes a schema-v4 backup exactly as LookerVault does (one thread only).

    Rows are upserted on `(id, content_type)`. The file uses WAL journaling like
    LookerVault; closing the writer checkpoints it into the main file.
    """

    _BATCH = 500

    def __init__(self, path: str | os.PathLike[str], *,
                 id_form: Literal["raw", "prefixed"] = "raw") -> None:
        """Create (or open for upserts) a v4 backup.

        Raises:
            ValueError: unknown `id_form`.
            BackupError: the file exists with a pre-v4 `content_items` table.
        """
        if id_form not in ("raw", "prefixed"):
            raise ValueError(f"id_form must be 'raw' or 'prefixed', not {id_form!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._id_form = id_form
        self._started = datetime.now(UTC)
        self._written: set[int] = set()
        self._count = 0
        self._closed = False
        with sqlite_errors(self.path):
            self._conn = sqlite3.connect(self.path, isolation_level=None)
            key = {r[1] for r in self._conn.execute("PRAGMA table_info(content_items)") if r[5]}
            if key and key != {"id", "content_type"}:
                self._conn.close()
                raise BackupError(f"{self.path}: existing backup is older than schema v4")
            self._conn.execute("PRAGMA page_size = 16384")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(SCHEMA_V4)
            applied = datetime.now().isoformat()  # LookerVault records naive local time here
            self._conn.executemany(
                "INSERT OR IGNORE INTO schema_version (version, applied_at, description) "
                "VALUES (?, ?, ?)",
                [(v, applied, d) for v, d in VERSION_ROWS])
            self._conn.execute("BEGIN")

    def add(self, content_type: ContentType, data: Mapping[str, object], *,
            deleted_at: datetime | None = None) -> None:
        """Add or replace one object (a dict as the SDK's read model names its fields)."""
        values = content_row(content_type, data, id_form=self._id_form, deleted_at=deleted_at)
        updates = ", ".join(f"{c} = excluded.{c}" for c in CONTENT_COLUMNS[2:])
        with sqlite_errors(self.path):
            self._conn.execute(
                f"INSERT INTO content_items ({', '.join(CONTENT_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(CONTENT_COLUMNS))}) "
                f"ON CONFLICT(id, content_type) DO UPDATE SET {updates}", values)
            self._count += 1
            self._written.add(content_type.value)
            if self._count % self._BATCH == 0:
                self._conn.execute("COMMIT")
                self._conn.execute("BEGIN")

    def close(self, *, status: str = "completed") -> None:
        """Record the extraction session, commit and close."""
        if self._closed:
            return
        self._closed = True
        with sqlite_errors(self.path):
            self._conn.execute(
                "INSERT INTO extraction_sessions (id, started_at, completed_at, status, "
                "total_items, error_count, config, metadata) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                (str(uuid.uuid4()), self._started.isoformat(), datetime.now(UTC).isoformat(),
                 status, self._count, json.dumps({"content_types": sorted(self._written)}),
                 json.dumps({"writer": "lookervault-restore", "id_form": self._id_form})))
            self._conn.execute("COMMIT")
            self._conn.close()

    def __enter__(self) -> BackupWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(status="completed" if exc_type is None else "failed")
