"""Read and write LookerVault backups (SQLite, schema versions 1 to 4).

A backup is one SQLite file whose `content_items` table holds every Looker
object as a MessagePack blob (see backup-format.md). `BackupReader` opens it
strictly read-only and streams rows without loading blobs; `BackupWriter`
produces the schema-v4 files that LookerVault itself writes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from lookervault_core._backup_codec import (
    UNKNOWN_ID,
    as_int,
    as_str,
    decode_blob,
    encode_blob,
    item_key,
    normalize_id,
    sqlite_errors,
)
from lookervault_core._backup_schema import VERSION_ROWS
from lookervault_core._backup_writer import BackupWriter
from lookervault_core.content_types import ContentType
from lookervault_core.errors import (
    BackupError,
    BackupUnreadable,
    CorruptItem,
    ItemNotFound,
    UnrestorableItem,
)

__all__ = [
    "BackupItem",
    "BackupReader",
    "BackupRow",
    "BackupWriter",
    "decode_blob",
    "encode_blob",
    "item_key",
    "normalize_id",
]

_CODE_LIST = ", ".join(str(ct.value) for ct in ContentType)
_ROW_COLUMNS = ("id", "content_type", "name", "owner_id", "created_at", "updated_at",
                "synced_at", "deleted_at", "content_size", "folder_id")
_FOLDERED = frozenset({ContentType.DASHBOARD, ContentType.LOOK})
_HASH_CHUNK = 1 << 20
#: The newest `schema_version` this reader understands (backup-format.md).
NEWEST_SCHEMA_VERSION = VERSION_ROWS[-1][0]


# --- records ---------------------------------------------------------------


@dataclass(frozen=True)
class BackupRow:
    """One `content_items` row without its blob."""

    content_type: ContentType
    #: Normalised id: `dashboard::42` -> `42`, `lookml_model::thelook` -> `thelook`.
    id: str
    #: The id as stored.
    raw_id: str
    name: str
    owner_id: int | None
    folder_id: str | None
    created_at: str | None
    updated_at: str | None
    synced_at: str | None
    deleted_at: str | None
    content_size: int


@dataclass(frozen=True)
class BackupItem:
    """A row with its decoded content."""

    row: BackupRow
    #: Decoded MessagePack; timestamps are timezone-aware UTC datetimes.
    data: Mapping[str, object]


def _parse_time(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class BackupReader:
    """A read-only, thread-safe view of one backup file.

    The file is opened through a `mode=ro` URI, with `immutable=1` when no `-wal`
    file is beside it, so reading never creates `-wal`/`-shm` files and works in
    a read-only directory. Each thread gets its own connection.

    Rows whose ids are stored twice, raw and prefixed (both extractors writing
    into one file), are listed once: the more recently synced row wins.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open a backup.

        Raises:
            BackupUnreadable: the file is missing, not SQLite, or has no `content_items`.
        """
        self.path = Path(path)
        if not self.path.is_file():
            raise BackupUnreadable(f"{self.path}: no such backup file")
        wal = Path(f"{self.path}-wal")
        self._wal = wal if wal.exists() else None
        query = "mode=ro" if self._wal else "mode=ro&immutable=1"
        self._uri = f"{self.path.resolve().as_uri()}?{query}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._fingerprint: str | None = None
        self._fingerprint_lock = threading.Lock()
        self._shadowed: frozenset[tuple[int, str]] | None = None
        self._has: dict[tuple[ContentType, str], bool] = {}
        self._columns, self.schema_version = self._inspect()

    # -- connection and schema --

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise BackupError(f"{self.path}: the backup reader is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._closed:
                    raise BackupError(f"{self.path}: the backup reader is closed")
                with sqlite_errors(self.path):
                    conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
                    conn.execute("PRAGMA query_only = ON")
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def _inspect(self) -> tuple[frozenset[str], int]:
        try:
            with sqlite_errors(self.path):
                conn = self._conn()
                tables = {r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "content_items" not in tables:
                    raise BackupUnreadable(
                        f"{self.path}: not a LookerVault backup (no content_items table)")
                info = conn.execute("PRAGMA table_info(content_items)").fetchall()
                declared = None
                if "schema_version" in tables:
                    declared = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        except BackupError:
            self.close()
            raise
        columns = frozenset(r[1] for r in info)
        key = {r[1] for r in info if r[5]}
        if {"id", "content_type"} <= key:
            inferred = 4
        elif "folder_id" in columns:
            inferred = 2
        else:
            inferred = 1
        version = int(declared) if declared is not None else inferred
        if version > NEWEST_SCHEMA_VERSION:
            # A newer LookerVault may have renamed or dropped columns read here (a renamed `deleted_at`
            # would read as NULL and turn the soft-delete filter off): refuse rather than guess.
            self.close()
            raise BackupUnreadable(
                f"{self.path}: backup of schema version {version}, newer than this reader knows (it reads "
                f"versions 1 to {NEWEST_SCHEMA_VERSION}): upgrade lookervault-restore; nothing was read")
        return columns, version

    def _col(self, name: str) -> str:
        return name if name in self._columns else "NULL"

    @property
    def _row_select(self) -> str:
        return ", ".join(self._col(c) for c in _ROW_COLUMNS)

    def close(self) -> None:
        """Close every thread's connection; the reader cannot be used afterwards."""
        with self._lock:
            self._closed = True
            conns, self._connections = self._connections, []
        for conn in conns:
            conn.close()

    def __enter__(self) -> BackupReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def fingerprint(self) -> str:
        """sha256 of the file's bytes (and of its `-wal` file, if any), computed once."""
        with self._fingerprint_lock:
            if self._fingerprint is None:
                digest = hashlib.sha256()
                for part in (self.path, self._wal):
                    if part is None:
                        continue
                    with part.open("rb") as fh:
                        while chunk := fh.read(_HASH_CHUNK):
                            digest.update(chunk)
                self._fingerprint = digest.hexdigest()
            return self._fingerprint

    # -- duplicate ids (raw and prefixed forms of one item) --

    def _shadowed_rows(self) -> frozenset[tuple[int, str]]:
        if self._shadowed is None:
            labels = ", ".join(f"({ct.value}, '{ct.label}::')" for ct in ContentType)
            synced = ("p.synced_at, r.synced_at" if "synced_at" in self._columns else "NULL, NULL")
            sql = f"""
                WITH labels(code, prefix) AS (VALUES {labels})
                SELECT p.content_type, p.id, r.id, {synced}
                FROM content_items p
                JOIN labels l ON l.code = p.content_type
                JOIN content_items r ON r.content_type = p.content_type
                    AND r.id = substr(p.id, length(l.prefix) + 1)
                WHERE substr(p.id, 1, length(l.prefix)) = l.prefix
                  AND (p.content_type != {ContentType.EXPLORE.value}
                       OR instr(substr(p.id, length(l.prefix) + 1), '::') > 0)
            """
            losers: set[tuple[int, str]] = set()
            with sqlite_errors(self.path):
                for code, prefixed, raw, p_synced, r_synced in self._conn().execute(sql):
                    # Same order as _find: newest synced_at first, raw id on a tie.
                    raw_wins = (r_synced or "") >= (p_synced or "")
                    losers.add((code, prefixed if raw_wins else raw))
            self._shadowed = frozenset(losers)
        return self._shadowed

    def _has_live_row(self, code: int, raw_id: str) -> bool:
        """Whether the row stored as (code, raw_id) exists and is not soft-deleted."""
        live = "AND deleted_at IS NULL" if "deleted_at" in self._columns else ""
        with sqlite_errors(self.path):
            return self._conn().execute(
                f"SELECT 1 FROM content_items WHERE content_type = ? AND id = ? {live}",
                (code, raw_id)).fetchone() is not None

    # -- rows --

    def _make_row(self, record: tuple[object, ...]) -> BackupRow:
        raw_id, code, name, owner, created, updated, synced, deleted, size, folder = record
        ct = ContentType(int(str(code)))
        return BackupRow(
            content_type=ct,
            id=normalize_id(ct, str(raw_id)),
            raw_id=str(raw_id),
            name=str(name) if name is not None else "",
            owner_id=as_int(owner),
            folder_id=as_str(folder),
            created_at=as_str(created),
            updated_at=as_str(updated),
            synced_at=as_str(synced),
            deleted_at=as_str(deleted),
            content_size=as_int(size) or 0,
        )

    def _stream(self, content_type: ContentType | None, include_deleted: bool,
                with_blob: bool) -> Iterator[tuple[BackupRow, object]]:
        where = [f"content_type IN ({_CODE_LIST})"]
        params: list[object] = []
        if content_type is not None:
            where.append("content_type = ?")
            params.append(ContentType(content_type).value)
        if not include_deleted and "deleted_at" in self._columns:
            where.append("deleted_at IS NULL")
        blob = ", content_data" if with_blob else ""
        sql = (f"SELECT {self._row_select}{blob} FROM content_items "
               f"WHERE {' AND '.join(where)} ORDER BY content_type, rowid")
        shadowed = self._shadowed_rows()
        with sqlite_errors(self.path):
            for record in self._conn().execute(sql, params):
                if shadowed and (record[1], record[0]) in shadowed:
                    continue
                yield self._make_row(record[:10]), record[10] if with_blob else None

    def rows(self, content_type: ContentType | None = None, *,
             include_deleted: bool = True) -> Iterator[BackupRow]:
        """Stream rows (never their blobs) of one type, or of all known types.

        Soft-deleted rows are included unless `include_deleted=False`; their
        `deleted_at` is set.
        """
        for row, _ in self._stream(content_type, include_deleted, with_blob=False):
            yield row

    def ids(self, content_type: ContentType, *, include_deleted: bool = True) -> list[str]:
        """Normalised ids of one type, in file order."""
        return [row.id for row in self.rows(content_type, include_deleted=include_deleted)]

    def counts(self, *, include_deleted: bool = True) -> dict[ContentType, int]:
        """Number of rows per type (types without rows are absent)."""
        live = ("AND deleted_at IS NULL"
                if not include_deleted and "deleted_at" in self._columns else "")
        out: dict[ContentType, int] = {}
        with sqlite_errors(self.path):
            for code, n in self._conn().execute(
                    f"SELECT content_type, COUNT(*) FROM content_items "
                    f"WHERE content_type IN ({_CODE_LIST}) {live} GROUP BY content_type"):
                out[ContentType(code)] = n
        for code, raw_id in self._shadowed_rows():
            if include_deleted or self._has_live_row(code, raw_id):
                out[ContentType(code)] -= 1
        return {ct: n for ct, n in out.items() if n}

    def unknown_type_rows(self) -> list[tuple[str, int]]:
        """`(raw_id, code)` of rows whose content type is not one of the twelve codes."""
        with sqlite_errors(self.path):
            found = self._conn().execute(
                f"SELECT id, content_type FROM content_items "
                f"WHERE content_type NOT IN ({_CODE_LIST}) OR content_type IS NULL "
                "ORDER BY rowid").fetchall()
        return [(str(raw_id), -1 if as_int(code) is None else int(code)) for raw_id, code in found]

    # -- single items --

    def _find(self, content_type: ContentType, item_id: str,
              with_blob: bool) -> tuple[BackupRow, object] | None:
        content_type = ContentType(content_type)
        bare = normalize_id(content_type, str(item_id))
        blob = ", content_data" if with_blob else ""
        synced = self._col("synced_at")
        sql = (f"SELECT {self._row_select}{blob} FROM content_items "
               f"WHERE content_type = ? AND id IN (?, ?) "
               f"ORDER BY {synced} DESC, id = ? DESC LIMIT 1")
        with sqlite_errors(self.path):
            record = self._conn().execute(
                sql, (content_type.value, bare, f"{content_type.label}::{bare}", bare)).fetchone()
        if record is None:
            return None
        return self._make_row(record[:10]), record[10] if with_blob else None

    def has(self, content_type: ContentType, item_id: str) -> bool:
        """Whether the backup holds a row for this type and id (either id form).

        Remembered per reader: a restore asks it of every reference, ~10 times
        per dashboard, and each query hands the GIL to the other workers.
        """
        key = (ContentType(content_type), str(item_id))
        known = self._has.get(key)
        if known is None:
            known = self._has[key] = self._find(content_type, item_id, with_blob=False) is not None
        return known

    def row(self, content_type: ContentType, item_id: str) -> BackupRow:
        """The row of one item, without decoding its blob.

        Raises:
            ItemNotFound: no row for this type and id.
        """
        found = self._find(content_type, item_id, with_blob=False)
        if found is None:
            raise ItemNotFound(ContentType(content_type).label, str(item_id))
        return found[0]

    def get(self, content_type: ContentType, item_id: str) -> BackupItem:
        """One item, decoded. Lookups always use both type and id.

        Raises:
            ItemNotFound: no row for this type and id.
            UnrestorableItem: the row's id is "unknown".
            CorruptItem: the blob does not decode to a map.
        """
        found = self._find(content_type, item_id, with_blob=True)
        if found is None:
            raise ItemNotFound(ContentType(content_type).label, str(item_id))
        result = self._to_item(*found)
        if isinstance(result, BackupError):
            raise result
        return result

    @staticmethod
    def _to_item(row: BackupRow, blob: object) -> BackupItem | CorruptItem | UnrestorableItem:
        if row.id == UNKNOWN_ID:
            return UnrestorableItem(row.content_type.label, row.raw_id,
                                    "the backup stored it without an id")
        try:
            data = decode_blob(blob)  # type: ignore[arg-type]
        except ValueError as exc:
            return CorruptItem(row.content_type.label, row.id, str(exc))
        return BackupItem(row=row, data=data)

    def items(
        self, content_type: ContentType, *, include_deleted: bool = True
    ) -> Iterator[BackupItem | CorruptItem | UnrestorableItem]:
        """Stream decoded items of one type.

        A row that cannot be used is yielded as its error (`CorruptItem`,
        `UnrestorableItem`) instead of stopping the stream.
        """
        for row, blob in self._stream(content_type, include_deleted, with_blob=True):
            yield self._to_item(row, blob)

    # -- selection --

    def folder_parents(self) -> dict[str, str | None]:
        """Folder id -> parent folder id, from the folder rows' blobs (corrupt rows skipped)."""
        parents: dict[str, str | None] = {}
        for item in self.items(ContentType.FOLDER):
            if isinstance(item, BackupItem):
                parents[item.row.id] = as_str(item.data.get("parent_id"))
        return parents

    def _expand_folders(self, roots: Iterable[str], recursive: bool) -> set[str]:
        selected = {str(f) for f in roots}
        if not recursive:
            return selected
        children: dict[str, list[str]] = {}
        for child, parent in self.folder_parents().items():
            if parent is not None:
                children.setdefault(parent, []).append(child)
        stack = list(selected)
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in selected:
                    selected.add(child)
                    stack.append(child)
        return selected

    def _folder_of(self, row: BackupRow) -> str | None:
        if row.content_type is ContentType.FOLDER:
            return row.id
        if row.content_type not in _FOLDERED:
            return None
        if row.folder_id is not None:
            return row.folder_id
        # v1 files have no folder_id column: the blob knows.
        found = self._find(row.content_type, row.raw_id, with_blob=True)
        item = self._to_item(*found) if found else None
        return as_str(item.data.get("folder_id")) if isinstance(item, BackupItem) else None

    def select(
        self,
        *,
        types: Iterable[ContentType] | None = None,
        ids: Iterable[str] | None = None,
        folder_ids: Iterable[str] | None = None,
        recursive_folders: bool = True,
        owner_ids: Iterable[int | str] | None = None,
        updated_from: str | datetime | None = None,
        updated_to: str | datetime | None = None,
        include_deleted: bool = True,
    ) -> list[BackupRow]:
        """Rows matching every given filter; an empty or `None` filter matches all.

        `ids` match the normalised or the stored id. `folder_ids` keep folders in
        those folders (and, with `recursive_folders`, their descendants) plus the
        dashboards and looks inside them; other types have no folder and drop out.
        `updated_from`/`updated_to` are inclusive ISO strings or datetimes (naive
        means UTC); a date-only `updated_to` includes that whole day.
        """
        wanted_types = list(dict.fromkeys(types)) if types else [None]
        wanted_ids = {str(i) for i in ids} if ids else None
        owners = {o for o in (as_int(x) for x in owner_ids)} if owner_ids else None
        folders = self._expand_folders(folder_ids, recursive_folders) if folder_ids else None
        low = _parse_time(updated_from) if updated_from else None
        high = _upper_bound(updated_to) if updated_to else None
        out: list[BackupRow] = []
        for ct in wanted_types:
            for row in self.rows(ct, include_deleted=include_deleted):
                if wanted_ids is not None and not {row.id, row.raw_id} & wanted_ids:
                    continue
                if owners is not None and row.owner_id not in owners:
                    continue
                if (low or high) and not _in_range(row.updated_at, low, high):
                    continue
                if folders is not None and self._folder_of(row) not in folders:
                    continue
                out.append(row)
        return out


def _upper_bound(value: str | datetime) -> tuple[datetime, bool]:
    """(bound, inclusive); a date-only string means "before the next day"."""
    if isinstance(value, str) and len(value.strip()) == 10:
        return _parse_time(value) + timedelta(days=1), False
    return _parse_time(value), True


def _in_range(stamp: str | None, low: datetime | None, high: tuple[datetime, bool] | None) -> bool:
    if stamp is None:
        return False
    try:
        moment = _parse_time(stamp)
    except ValueError:
        return False
    if low is not None and moment < low:
        return False
    if high is not None:
        bound, inclusive = high
        return moment <= bound if inclusive else moment < bound
    return True


# --- writer --------------------------------------------------------------------------
