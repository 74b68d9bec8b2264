"""The SQLite schema of a LookerVault backup, version 4.

Table definitions follow LookerVault's `storage/schema.py` (z3z1ma/lookervault,
schema version 3) with the one change of version 4: `content_items` is keyed by
`(id, content_type)` instead of `id` alone. Only `schema_version` and
`content_items` matter to a reader; the other tables are created so that the
LookerVault CLI accepts files written here as its own.
"""

from __future__ import annotations

__all__ = ["CONTENT_COLUMNS", "SCHEMA_V4", "VERSION_ROWS"]

#: `content_items` columns in table order (backup-format.md).
CONTENT_COLUMNS: tuple[str, ...] = (
    "id",
    "content_type",
    "name",
    "owner_id",
    "owner_email",
    "created_at",
    "updated_at",
    "synced_at",
    "deleted_at",
    "content_size",
    "content_data",
    "folder_id",
)

#: Rows of `schema_version` in a current file: (version, description).
VERSION_ROWS: tuple[tuple[int, str], ...] = (
    (3, "Added unique constraints for idempotent upsert operations"),
    (4, "Composite primary key (id, content_type) on content_items"),
)

SCHEMA_V4 = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL,
    description TEXT
);

CREATE TABLE IF NOT EXISTS content_items (
    id TEXT NOT NULL,
    content_type INTEGER NOT NULL,
    name TEXT NOT NULL,
    owner_id INTEGER,
    owner_email TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    deleted_at TEXT DEFAULT NULL,
    content_size INTEGER NOT NULL,
    content_data BLOB NOT NULL,
    folder_id TEXT DEFAULT NULL,
    PRIMARY KEY (id, content_type)
);
CREATE INDEX IF NOT EXISTS idx_content_type ON content_items(content_type)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_owner_id ON content_items(owner_id)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_updated_at ON content_items(updated_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_deleted_at ON content_items(deleted_at)
    WHERE deleted_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_folder_id ON content_items(folder_id)
    WHERE deleted_at IS NULL AND folder_id IS NOT NULL AND content_type IN (1, 2, 6, 5);

CREATE TABLE IF NOT EXISTS sync_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    content_type INTEGER NOT NULL,
    checkpoint_data TEXT NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT DEFAULT NULL,
    item_count INTEGER DEFAULT 0,
    error_message TEXT DEFAULT NULL,
    UNIQUE(session_id, content_type, started_at)
);
CREATE INDEX IF NOT EXISTS idx_checkpoint_type_completed
    ON sync_checkpoints(content_type, completed_at);
CREATE INDEX IF NOT EXISTS idx_checkpoint_session ON sync_checkpoints(session_id);

CREATE TABLE IF NOT EXISTS extraction_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT DEFAULT NULL,
    status TEXT NOT NULL,
    total_items INTEGER DEFAULT 0,
    error_count INTEGER DEFAULT 0,
    config TEXT,
    metadata TEXT
);
CREATE INDEX IF NOT EXISTS idx_session_started ON extraction_sessions(started_at DESC);
CREATE INDEX IF NOT EXISTS idx_session_status ON extraction_sessions(status);

CREATE TABLE IF NOT EXISTS restoration_sessions (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    completed_at TEXT,
    status TEXT NOT NULL,
    total_items INTEGER DEFAULT 0,
    success_count INTEGER DEFAULT 0,
    error_count INTEGER DEFAULT 0,
    source_instance TEXT,
    destination_instance TEXT NOT NULL,
    config TEXT,
    metadata TEXT
);
CREATE INDEX IF NOT EXISTS idx_restoration_session_status ON restoration_sessions(status);
CREATE INDEX IF NOT EXISTS idx_restoration_session_started
    ON restoration_sessions(started_at DESC);

CREATE TABLE IF NOT EXISTS restoration_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    content_type INTEGER NOT NULL,
    checkpoint_data TEXT NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT,
    item_count INTEGER DEFAULT 0,
    error_count INTEGER DEFAULT 0,
    UNIQUE(session_id, content_type, started_at),
    FOREIGN KEY (session_id) REFERENCES restoration_sessions(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_restoration_checkpoint_session
    ON restoration_checkpoints(session_id);
CREATE INDEX IF NOT EXISTS idx_restoration_checkpoint_type
    ON restoration_checkpoints(content_type);

CREATE TABLE IF NOT EXISTS id_mappings (
    source_instance TEXT NOT NULL,
    content_type INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    session_id TEXT,
    PRIMARY KEY (source_instance, content_type, source_id),
    FOREIGN KEY (session_id) REFERENCES restoration_sessions(id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_id_mapping_dest ON id_mappings(destination_id);
CREATE INDEX IF NOT EXISTS idx_id_mapping_session ON id_mappings(session_id);

CREATE TABLE IF NOT EXISTS dead_letter_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    content_id TEXT NOT NULL,
    content_type INTEGER NOT NULL,
    content_data BLOB NOT NULL,
    error_message TEXT NOT NULL,
    error_type TEXT NOT NULL,
    stack_trace TEXT,
    retry_count INTEGER NOT NULL,
    failed_at TEXT NOT NULL,
    metadata TEXT,
    UNIQUE(session_id, content_id, content_type, retry_count),
    FOREIGN KEY (session_id) REFERENCES restoration_sessions(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_dlq_session ON dead_letter_queue(session_id);
CREATE INDEX IF NOT EXISTS idx_dlq_content ON dead_letter_queue(content_type, content_id);
CREATE INDEX IF NOT EXISTS idx_dlq_failed_at ON dead_letter_queue(failed_at DESC);
"""
