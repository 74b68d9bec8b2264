"""The backup format layer: LookerVault files in, LookerVault files out."""

from __future__ import annotations

import enum
import hashlib
import os
import shutil
import sqlite3
import stat
import time
import tracemalloc
import typing
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attr
import msgspec
import pytest
from looker_sdk.sdk.api40 import models as sdk_models

from lookervault_core.backup import (
    BackupItem,
    BackupReader,
    BackupRow,
    BackupWriter,
    decode_blob,
    encode_blob,
    normalize_id,
)
from lookervault_core.content_types import SPECS
from lookervault_core.content_types import ContentType as CT
from lookervault_core.errors import (
    BackupError,
    BackupUnreadable,
    CorruptItem,
    ItemNotFound,
    UnrestorableItem,
)
from lookervault_core.testing.backups import (
    build_backup,
    build_legacy_backup,
    build_synthetic_backup,
    main,
    sample_items,
)

BUNDLED_SAMPLE = Path(__file__).parents[2] / "lookervault_pipelines" / "sample" / "sample.sqlite"


@pytest.fixture
def sample_path(tmp_path: Path) -> Path:
    return build_backup(tmp_path / "backups dir" / "sample.sqlite")


@pytest.fixture
def reader(sample_path: Path) -> typing.Iterator[BackupReader]:
    with BackupReader(sample_path) as r:
        yield r


def _insert_raw(path: Path, rows: list[tuple[str, int, bytes]]) -> None:
    """Insert rows behind the writer's back (corrupt blobs, odd codes)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO content_items (id, content_type, name, created_at, updated_at, synced_at, "
            "content_size, content_data) VALUES (?, ?, 'x', '2024-01-01', '2024-01-01', "
            "'2024-01-01', ?, ?)",
            [(i, code, len(blob), blob) for i, code, blob in rows])
    conn.close()


# --- blobs ---------------------------------------------------------------------------


class Color(enum.Enum):
    red = "RED"


def test_encode_blob_drops_top_level_none_and_private_keys_only() -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    data = {"id": "1", "title": None, "_private": 1, "folder": {"id": "2", "name": None},
            "created_at": when, "color": Color.red}
    decoded = decode_blob(encode_blob(data))
    assert decoded == {"id": "1", "folder": {"id": "2", "name": None}, "created_at": when,
                       "color": "RED"}
    assert decoded["created_at"].tzinfo is not None  # type: ignore[union-attr]


def test_encode_blob_writes_msgpack_timestamps() -> None:
    blob = encode_blob({"at": datetime(2024, 1, 1, tzinfo=UTC)})
    assert b"\xd6\xff" in blob or b"\xd7\xff" in blob or b"\xc7\x0c\xff" in blob  # ext type -1


def test_encode_blob_accepts_nested_sdk_objects() -> None:
    folder = sdk_models.FolderBase(name="Sales", id="11", parent_id="1")
    decoded = decode_blob(encode_blob({"id": "1", "folder": folder}))
    nested = decoded["folder"]
    assert isinstance(nested, dict)
    assert nested["name"] == "Sales" and nested["parent_id"] == "1"
    assert "created_at" in nested and nested["created_at"] is None  # nested None kept


@pytest.mark.parametrize("blob", [b"\xc1\xc1garbage", msgspec.msgpack.encode([1, 2]), b""])
def test_decode_blob_rejects_non_maps(blob: bytes) -> None:
    with pytest.raises(ValueError):
        decode_blob(blob)


def test_normalize_id_strips_only_the_own_type_prefix() -> None:
    assert normalize_id(CT.DASHBOARD, "dashboard::42") == "42"
    assert normalize_id(CT.DASHBOARD, "42") == "42"
    assert normalize_id(CT.LOOK, "dashboard::42") == "dashboard::42"
    assert normalize_id(CT.LOOKML_MODEL, "lookml_model::thelook") == "thelook"
    assert normalize_id(CT.EXPLORE, "thelook::orders") == "thelook::orders"
    assert normalize_id(CT.EXPLORE, "explore::thelook::orders") == "thelook::orders"
    # A model named "explore": its raw explore id must survive.
    assert normalize_id(CT.EXPLORE, "explore::orders") == "explore::orders"


# --- writer --------------------------------------------------------------------------


def test_writer_creates_lookervaults_v4_schema(sample_path: Path) -> None:
    conn = sqlite3.connect(f"{sample_path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    info = conn.execute("PRAGMA table_info(content_items)").fetchall()
    assert [r[1] for r in info] == [
        "id", "content_type", "name", "owner_id", "owner_email", "created_at", "updated_at",
        "synced_at", "deleted_at", "content_size", "content_data", "folder_id"]
    assert {r[1]: r[5] for r in info if r[5]} == {"id": 1, "content_type": 2}
    assert [r[1] for r in info if r[3]] == [
        "id", "content_type", "name", "created_at", "updated_at", "synced_at", "content_size",
        "content_data"]
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [3, 4]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sync_checkpoints", "extraction_sessions", "restoration_sessions",
            "restoration_checkpoints", "id_mappings", "dead_letter_queue"} <= tables
    assert conn.execute("SELECT status, total_items FROM extraction_sessions").fetchall() == [
        ("completed", len(sample_items()))]
    conn.close()
    header = sample_path.read_bytes()[:100]
    assert header[18:20] == b"\x02\x02"  # WAL journal mode, as LookerVault leaves its files
    assert not Path(f"{sample_path}-wal").exists()


def test_round_trip_keeps_every_item(reader: BackupReader) -> None:
    expected = sample_items()
    assert sum(reader.counts().values()) == len(expected)
    assert set(reader.counts()) == {ct for ct in CT if ct.in_lookervault}
    for content_type, data in expected:
        key = data["name"] if content_type is CT.LOOKML_MODEL else data["id"]
        item = reader.get(content_type, str(key))
        assert item.data == decode_blob(encode_blob(data))
        assert item.row.content_size == len(encode_blob(data))


def test_round_trip_decodes_timestamps_as_aware_utc(reader: BackupReader) -> None:
    data = reader.get(CT.DASHBOARD, "101").data
    assert data["created_at"] == datetime(2024, 3, 7, 9, 30, tzinfo=UTC)
    assert data["created_at"].tzinfo is not None  # type: ignore[union-attr]
    folder = data["folder"]
    assert isinstance(folder, Mapping) and isinstance(folder["created_at"], datetime)


def test_writer_derives_columns_like_lookervault(reader: BackupReader) -> None:
    dash = reader.row(CT.DASHBOARD, "101")
    assert (dash.name, dash.owner_id, dash.folder_id) == ("Sales Overview", 5, "11")
    assert dash.created_at == "2024-03-07T09:30:00+00:00"
    assert dash.updated_at == "2024-03-24T09:30:00+00:00"
    assert reader.row(CT.LOOK, "202").folder_id == "13"
    assert reader.row(CT.BOARD, "601").owner_id == 5
    assert reader.row(CT.SCHEDULED_PLAN, "401").owner_id == 5
    assert reader.row(CT.LOOKML_MODEL, "thelook").name == "thelook"
    assert reader.row(CT.EXPLORE, "thelook::orders").name == "Orders"
    user = reader.row(CT.USER, "5")
    assert (user.name, user.owner_id, user.folder_id) == ("Untitled 5", None, None)
    # Users have no timestamps: extraction time, like synced_at.
    assert user.created_at == user.updated_at == user.synced_at
    assert reader.row(CT.FOLDER, "13").folder_id is None  # the parent lives in the blob


def test_writer_upserts_on_id_and_type(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with BackupWriter(path) as writer:
        writer.add(CT.DASHBOARD, {"id": "7", "title": "Old"})
        writer.add(CT.USER, {"id": "7", "first_name": "Seven"})
        writer.add(CT.DASHBOARD, {"id": "7", "title": "New"})
    with BackupWriter(path) as writer:  # reopening upserts into the same file
        writer.add(CT.LOOK, {"id": "7", "title": "Look"})
    with BackupReader(path) as r:
        assert r.counts() == {CT.DASHBOARD: 1, CT.USER: 1, CT.LOOK: 1}
        assert r.get(CT.DASHBOARD, "7").data["title"] == "New"


def test_writer_refuses_a_legacy_file(tmp_path: Path) -> None:
    legacy = build_legacy_backup(tmp_path / "v2.sqlite", 2, sample_items())
    with pytest.raises(BackupError):
        BackupWriter(legacy)
    with pytest.raises(ValueError):
        BackupWriter(tmp_path / "x.sqlite", id_form="short")  # type: ignore[arg-type]


def test_writer_keys_models_by_name_and_explores_by_model(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with BackupWriter(path, id_form="prefixed") as writer:
        writer.add(CT.LOOKML_MODEL, {"name": "thelook", "project_name": "thelook"})
        writer.add(CT.EXPLORE, {"name": "users", "model_name": "thelook"})
    with BackupReader(path) as r:
        assert [(row.raw_id, row.id) for row in r.rows()] == [
            ("lookml_model::thelook", "thelook"), ("explore::thelook::users", "thelook::users")]


# --- reading -------------------------------------------------------------------------


def test_prefixed_ids_are_normalised_and_found_by_either_form(tmp_path: Path) -> None:
    path = build_backup(tmp_path / "p.sqlite", id_form="prefixed")
    with BackupReader(path) as r:
        dash = r.row(CT.DASHBOARD, "101")
        assert (dash.id, dash.raw_id) == ("101", "dashboard::101")
        assert r.ids(CT.LOOKML_MODEL) == ["thelook"]
        assert r.ids(CT.EXPLORE) == ["thelook::orders"]
        assert r.get(CT.DASHBOARD, "dashboard::101").data["title"] == "Sales Overview"
        assert r.get(CT.EXPLORE, "thelook::orders").row.raw_id == "explore::thelook::orders"
        assert r.has(CT.FOLDER, "folder::13") and r.has(CT.FOLDER, "13")


def test_raw_ids_are_found_by_either_form(reader: BackupReader) -> None:
    assert reader.row(CT.DASHBOARD, "dashboard::101").raw_id == "101"
    assert reader.row(CT.EXPLORE, "explore::thelook::orders").raw_id == "thelook::orders"


def test_lookups_use_type_and_id(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with BackupWriter(path) as writer:
        writer.add(CT.USER, {"id": "7", "first_name": "Ada"})
        writer.add(CT.DASHBOARD, {"id": "7", "title": "Seven"})
    with BackupReader(path) as r:
        assert r.get(CT.USER, "7").data["first_name"] == "Ada"
        assert r.get(CT.DASHBOARD, "7").data["title"] == "Seven"
        assert not r.has(CT.LOOK, "7")
        with pytest.raises(ItemNotFound) as caught:
            r.get(CT.LOOK, "7")
        assert (caught.value.content_type, caught.value.item_id) == ("look", "7")


def test_a_row_stored_raw_and_prefixed_is_listed_once(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with BackupWriter(path) as writer:
        writer.add(CT.DASHBOARD, {"id": "42", "title": "Older"})
    time.sleep(0.01)
    with BackupWriter(path, id_form="prefixed") as writer:
        writer.add(CT.DASHBOARD, {"id": "42", "title": "Newer"})
        writer.add(CT.DASHBOARD, {"id": "43", "title": "Only"})
    with BackupReader(path) as r:
        assert r.ids(CT.DASHBOARD) == ["42", "43"]
        assert r.counts() == {CT.DASHBOARD: 2}
        assert r.get(CT.DASHBOARD, "42").data["title"] == "Newer"
        assert [i.data["title"] for i in r.items(CT.DASHBOARD) if isinstance(i, BackupItem)] == [
            "Newer", "Only"]


@pytest.mark.parametrize("version", [1, 2, 3])
def test_legacy_files(tmp_path: Path, version: int) -> None:
    path = build_legacy_backup(tmp_path / f"v{version}.sqlite", version, sample_items())
    with BackupReader(path) as r:
        assert r.schema_version == version
        assert sum(r.counts().values()) == len(sample_items())
        look = r.get(CT.LOOK, "202")
        assert look.row.raw_id == "look::202" and look.data["query_id"] == "301"
        assert r.row(CT.LOOK, "202").folder_id == (None if version == 1 else "13")
        in_sales = {(row.content_type, row.id) for row in r.select(folder_ids=["11"])}
        assert (CT.LOOK, "202") in in_sales and (CT.DASHBOARD, "101") in in_sales


@pytest.mark.parametrize(("version", "expected"), [(1, 1), (2, 2), (4, 4)])
def test_version_inferred_from_columns_without_schema_version(
        tmp_path: Path, version: int, expected: int) -> None:
    path = tmp_path / "b.sqlite"
    if version == 4:
        build_backup(path)
        conn = sqlite3.connect(path)
        conn.execute("DROP TABLE schema_version")
        conn.commit()
        conn.close()
    else:
        build_legacy_backup(path, version, sample_items(), with_version_table=False)
    with BackupReader(path) as r:
        assert r.schema_version == expected
        assert r.has(CT.DASHBOARD, "101")


def test_a_newer_schema_version_is_refused_naming_both_versions(tmp_path: Path) -> None:
    # A version-5 file may have renamed or dropped columns this reader needs (a renamed `deleted_at`
    # would read as NULL and turn off the soft-delete filter): refuse it rather than guess.
    path = build_backup(tmp_path / "b.sqlite")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (5, '2027-01-01T00:00:00', 'a future change')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(BackupUnreadable, match=r"schema version 5.*reads versions 1 to 4"):
        BackupReader(path)
    assert path.read_bytes() == before


def test_corrupt_rows_are_isolated(sample_path: Path) -> None:
    _insert_raw(sample_path, [("103", CT.DASHBOARD, b"\xc1not msgpack"),
                              ("104", CT.DASHBOARD, msgspec.msgpack.encode(["a", "list"]))])
    with BackupReader(sample_path) as r:
        assert r.ids(CT.DASHBOARD) == ["101", "102", "103", "104"]
        results = list(r.items(CT.DASHBOARD))
        assert [type(x) for x in results] == [BackupItem, BackupItem, CorruptItem, CorruptItem]
        with pytest.raises(CorruptItem) as caught:
            r.get(CT.DASHBOARD, "104")
        assert caught.value.item_id == "104" and "list" in caught.value.reason
        assert r.get(CT.DASHBOARD, "101").data["title"] == "Sales Overview"


def test_unknown_ids_are_unrestorable(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with BackupWriter(path, id_form="prefixed") as writer:
        writer.add(CT.USER, {"first_name": "No", "last_name": "Id", "id": None})
        writer.add(CT.USER, {"id": "5", "first_name": "Alice"})
    with BackupReader(path) as r:
        assert r.ids(CT.USER) == ["unknown", "5"]
        assert r.row(CT.USER, "unknown").raw_id == "user::unknown"
        with pytest.raises(UnrestorableItem):
            r.get(CT.USER, "unknown")
        assert [type(x) for x in r.items(CT.USER)] == [UnrestorableItem, BackupItem]


def test_unknown_type_codes_are_listed_and_skipped(sample_path: Path) -> None:
    _insert_raw(sample_path, [("x1", 99, encode_blob({"id": "x1"})),
                              ("101", 0, encode_blob({"id": "101"}))])
    with BackupReader(sample_path) as r:
        assert r.unknown_type_rows() == [("x1", 99), ("101", 0)]
        assert sum(r.counts().values()) == len(sample_items())
        assert all(row.raw_id != "x1" for row in r.rows())
        assert len(r.select()) == len(sample_items())


def test_soft_deleted_rows(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    gone = datetime(2024, 6, 1, tzinfo=UTC)
    with BackupWriter(path) as writer:
        writer.add(CT.LOOK, {"id": "1", "title": "Kept"})
        writer.add(CT.LOOK, {"id": "2", "title": "Gone"}, deleted_at=gone)
    with BackupReader(path) as r:
        assert r.row(CT.LOOK, "2").deleted_at == gone.isoformat()
        assert r.ids(CT.LOOK) == ["1", "2"]
        assert r.ids(CT.LOOK, include_deleted=False) == ["1"]
        assert r.counts(include_deleted=False) == {CT.LOOK: 1}
        assert [row.id for row in r.select(include_deleted=False)] == ["1"]
        assert r.get(CT.LOOK, "2").data["title"] == "Gone"  # still restorable


@pytest.mark.parametrize("content", [None, b"", b"this is not a database, just text" * 100])
def test_unreadable_files(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "backup.sqlite"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BackupUnreadable):
        BackupReader(path)


def test_sqlite_without_content_items_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (id TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(BackupUnreadable, match="content_items"):
        BackupReader(path)


def test_closed_reader_refuses_work(sample_path: Path) -> None:
    r = BackupReader(sample_path)
    r.close()
    with pytest.raises(BackupError):
        r.get(CT.DASHBOARD, "101")


# --- read-only-ness, threads, fingerprint --------------------------------------------


def _read_everything(r: BackupReader) -> int:
    seen = 0
    for ct in CT:
        for row in r.rows(ct):
            seen += 1
            assert r.has(ct, row.id)
            try:
                r.get(ct, row.id)
            except (CorruptItem, UnrestorableItem):
                pass
        seen += sum(1 for _ in r.items(ct))
    r.counts()
    r.unknown_type_rows()
    r.select(folder_ids=["1"], updated_from="2000-01-01")
    assert r.fingerprint
    return seen


def test_reading_never_touches_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "sample.sqlite"
    shutil.copy(BUNDLED_SAMPLE, path)
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(folder)))
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with BackupReader(path) as r, ThreadPoolExecutor(4) as pool:
            assert all(n > 0 for n in pool.map(lambda _: _read_everything(r), range(8)))
            assert sorted(os.listdir(folder)) == ["sample.sqlite"]  # no -wal/-shm while open
    finally:
        folder.chmod(stat.S_IRWXU)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(folder))) == before


def test_a_live_wal_is_read_not_ignored(tmp_path: Path) -> None:
    path = build_backup(tmp_path / "b.sqlite")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE content_items SET name = 'Renamed' WHERE id = '101'")
    try:
        assert Path(f"{path}-wal").exists()
        with BackupReader(path) as r:
            assert r.row(CT.DASHBOARD, "101").name == "Renamed"
    finally:
        writer.close()


def test_threads_get_their_own_connections(reader: BackupReader) -> None:
    expected = {(ct, d.get("id") or d["name"]) for ct, d in sample_items()}

    def fetch(key: tuple[CT, object]) -> Mapping[str, object]:
        return reader.get(key[0], str(key[1])).data

    keys = sorted(expected, key=str) * 10
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(fetch, keys))
    assert results == [fetch(key) for key in keys]


def test_fingerprint_is_the_files_sha256(sample_path: Path, tmp_path: Path) -> None:
    with BackupReader(sample_path) as r:
        assert r.fingerprint == hashlib.sha256(sample_path.read_bytes()).hexdigest()
        assert r.fingerprint == r.fingerprint
    other = build_backup(tmp_path / "other.sqlite", sample_items()[:3])
    with BackupReader(other) as r2:
        assert r2.fingerprint != hashlib.sha256(sample_path.read_bytes()).hexdigest()


# --- streaming -----------------------------------------------------------------------

BIG_ROWS = 50_000
PAD = "x" * 1000


@pytest.fixture(scope="module")
def big_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.sqlite"
    with BackupWriter(path) as writer:
        for n in range(BIG_ROWS):
            writer.add(CT.LOOK, {"id": str(n), "title": f"Look {n}", "description": PAD,
                                 "folder_id": str(n % 100)})
    return path


def test_listing_50k_ids_streams_with_bounded_memory(big_backup: Path) -> None:
    # Speed belongs to the benchmark (a shared, noisy machine); memory is deterministic.
    total_blob = BIG_ROWS * len(PAD)
    with BackupReader(big_backup) as r:
        tracemalloc.start()
        try:
            count = sum(1 for _ in r.rows(CT.LOOK))
            _, rows_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            decoded = sum(1 for item in r.items(CT.LOOK) if isinstance(item, BackupItem))
            _, items_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == decoded == BIG_ROWS
        assert rows_peak < total_blob / 50
        assert items_peak < total_blob / 50
        assert len(r.ids(CT.LOOK)) == BIG_ROWS


def test_rows_never_read_blobs(tmp_path: Path) -> None:
    path = tmp_path / "huge.sqlite"
    with BackupWriter(path) as writer:
        for n in range(5):
            writer.add(CT.DASHBOARD, {"id": str(n), "title": "big", "description": "y" * 4_000_000})
    with BackupReader(path) as r:
        tracemalloc.start()
        try:
            assert len(r.ids(CT.DASHBOARD)) == 5
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 1_000_000


# --- select --------------------------------------------------------------------------


def _keys(rows: list[BackupRow]) -> set[tuple[CT, str]]:
    return {(row.content_type, row.id) for row in rows}


def test_select_by_type_and_id(reader: BackupReader) -> None:
    assert _keys(reader.select(types=[CT.DASHBOARD])) == {
        (CT.DASHBOARD, "101"), (CT.DASHBOARD, "102")}
    assert _keys(reader.select(types=[CT.DASHBOARD, CT.USER], ids=["101", "user::5"])) == {
        (CT.DASHBOARD, "101")}
    assert _keys(reader.select(types=[CT.USER], ids=["5"])) == {(CT.USER, "5")}
    assert len(reader.select()) == len(sample_items())


def test_select_by_folder_is_recursive(reader: BackupReader) -> None:
    assert _keys(reader.select(folder_ids=["11"])) == {
        (CT.FOLDER, "11"), (CT.FOLDER, "13"), (CT.LOOK, "201"), (CT.LOOK, "202"),
        (CT.DASHBOARD, "101")}
    assert _keys(reader.select(folder_ids=["11"], recursive_folders=False)) == {
        (CT.FOLDER, "11"), (CT.LOOK, "201"), (CT.DASHBOARD, "101")}
    assert _keys(reader.select(types=[CT.LOOK], folder_ids=["1"])) == {
        (CT.LOOK, "201"), (CT.LOOK, "202")}


def test_select_by_owner(reader: BackupReader) -> None:
    assert _keys(reader.select(owner_ids=["6"])) == {(CT.DASHBOARD, "102")}
    assert (CT.BOARD, "601") in _keys(reader.select(owner_ids=[5]))


def test_select_by_updated_range_is_inclusive(reader: BackupReader) -> None:
    updated = datetime(2024, 3, 24, 9, 30, tzinfo=UTC)  # dashboard 101
    dashboards = [CT.DASHBOARD]
    assert _keys(reader.select(types=dashboards, updated_from=updated)) == {(CT.DASHBOARD, "101")}
    assert _keys(reader.select(types=dashboards, updated_to=updated)) == {
        (CT.DASHBOARD, "101"), (CT.DASHBOARD, "102")}
    assert _keys(reader.select(types=dashboards, updated_to=updated - timedelta(seconds=1))) == {
        (CT.DASHBOARD, "102")}
    assert _keys(reader.select(types=dashboards, updated_from="2024-03-24T09:30:00Z",
                               updated_to="2024-03-24")) == {(CT.DASHBOARD, "101")}
    assert _keys(reader.select(types=dashboards, updated_from=datetime(2024, 3, 24, 9, 30),
                               updated_to="2024-03-23")) == set()


# --- the sample ----------------------------------------------------------------------


def _model_of(annotation: object) -> type | None:
    """The attrs model inside Optional[...] / Sequence[...] / 'ForwardRef', if any."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        found = getattr(sdk_models, annotation, None)
        return found if isinstance(found, type) and attr.has(found) else None
    if isinstance(annotation, type) and attr.has(annotation):
        return annotation
    for arg in typing.get_args(annotation):
        model = _model_of(arg)
        if model is not None:
            return model
    return None


def _unknown_fields(data: object, model: type, where: str) -> list[str]:
    if isinstance(data, list):
        return [bad for n, x in enumerate(data)
                for bad in _unknown_fields(x, model, f"{where}[{n}]")]
    if not isinstance(data, dict):
        return []
    fields = attr.fields_dict(model)
    bad = [f"{where}.{k}" for k in data if k not in fields]
    for key, value in data.items():
        nested = _model_of(fields[key].type) if key in fields else None
        if nested is not None:
            bad += _unknown_fields(value, nested, f"{where}.{key}")
    return bad


def test_sample_uses_the_sdk_read_models_field_names() -> None:
    bad = [b for ct, data in sample_items()
           for b in _unknown_fields(data, SPECS[ct].read_model, f"{ct.label}:{data.get('id')}")]
    # The one key of our own: a merged-results tile's merge query, kept where
    # gzr's export keeps it (the SDK's DashboardElement has no field for it).
    assert bad == ["dashboard:101.dashboard_elements[3].merge_result"]


def test_sample_is_coherent() -> None:
    items = sample_items()
    by_type: dict[CT, dict[str, dict[str, object]]] = {}
    for ct, data in items:
        by_type.setdefault(ct, {})[str(data.get("id") or data["name"])] = data
    assert set(by_type) == {ct for ct in CT if ct.in_lookervault}
    assert set(by_type[CT.FOLDER]) == {"11", "12", "13"}
    assert {f["parent_id"] for f in by_type[CT.FOLDER].values()} == {"1", "11"}
    full, bare = by_type[CT.LOOK]["201"], by_type[CT.LOOK]["202"]
    assert "query" not in bare
    assert bare["query_id"] == full["query"]["id"] == full["query_id"]  # type: ignore[index]
    dash = by_type[CT.DASHBOARD]["101"]
    elements = dash["dashboard_elements"]
    assert isinstance(elements, list) and [e["type"] for e in elements] == ["vis", "vis", "text", "vis", "vis"]
    assert elements[0]["look_id"] in by_type[CT.LOOK]
    assert elements[1]["query"]["id"] == elements[1]["query_id"]
    assert elements[3]["merge_result_id"] == elements[3]["merge_result"]["id"]
    filter_names = {f["name"] for f in dash["dashboard_filters"]}  # type: ignore[attr-defined]
    bound = {x["dashboard_filter_name"] for e in elements if e.get("result_maker")
             for f in e["result_maker"]["filterables"] for x in f["listen"]}
    assert bound == filter_names
    tabs = dash["dashboard_layouts"]
    assert [t["label"] for t in tabs] == ["Overview", "Details"]  # type: ignore[index, union-attr]
    placed = [c["dashboard_element_id"] for t in tabs for c in t["dashboard_layout_components"]]  # type: ignore[union-attr]
    assert sorted(placed) == sorted(e["id"] for e in elements)  # each tile on exactly one tab
    for tab in tabs:  # type: ignore[union-attr]
        assert {c["dashboard_layout_id"] for c in tab["dashboard_layout_components"]} == {tab["id"]}
    assert len(dash["dashboard_filters"]) == 2  # type: ignore[arg-type]
    assert "dashboard_elements" not in by_type[CT.DASHBOARD]["102"]
    for user in by_type[CT.USER].values():
        assert user["email"] and user["home_folder_id"] in by_type[CT.FOLDER]
        assert set(user["group_ids"]) <= set(by_type[CT.GROUP])  # type: ignore[arg-type]
        assert set(user["role_ids"]) <= set(by_type[CT.ROLE])  # type: ignore[arg-type]
    for role in by_type[CT.ROLE].values():
        assert role["permission_set"]["id"] in by_type[CT.PERMISSION_SET]  # type: ignore[index]
        assert role["model_set"]["id"] in by_type[CT.MODEL_SET]  # type: ignore[index]
        assert "permission_set_id" not in role
    assert [p["built_in"] for p in by_type[CT.PERMISSION_SET].values()] == [True, False]
    plan = by_type[CT.SCHEDULED_PLAN]["401"]
    assert plan["dashboard_id"] == "101"
    assert plan["scheduled_plan_destination"][0]["type"] == "email"  # type: ignore[index]
    board = by_type[CT.BOARD]["601"]
    section = board["board_sections"][0]  # type: ignore[index]
    assert board["section_order"] == [section["id"]]
    assert section["item_order"] == [i["id"] for i in section["board_items"]]
    assert by_type[CT.EXPLORE]["thelook::orders"]["model_name"] == "thelook"
    assert by_type[CT.LOOKML_MODEL]["thelook"]["project_name"] == "thelook"
    for ct, data in items:  # read-only fields restore must strip
        assert set(data) & SPECS[ct].read_only & {"can", "id", "url", "created_at", "view_count",
                                                  "model_name"}
    assert sample_items() is not items and sample_items() == items


def test_sample_items_share_no_mutable_objects() -> None:
    seen: set[int] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict | list):
            assert id(value) not in seen
            seen.add(id(value))
            for child in value.values() if isinstance(value, dict) else value:
                walk(child)

    for _, data in sample_items():
        walk(data)


def test_bundled_sample_matches_sample_items() -> None:
    with BackupReader(BUNDLED_SAMPLE) as r:
        assert r.schema_version == 4
        for ct, data in sample_items():
            key = str(data.get("id") or data["name"])
            assert r.get(ct, key).data == decode_blob(encode_blob(data))


def test_build_sample_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "s.sqlite"
    target.write_bytes(b"stale")
    assert main(["build-sample", str(target)]) == 0
    assert "wrote" in capsys.readouterr().out
    with BackupReader(target) as r:
        assert sum(r.counts().values()) == len(sample_items())


def test_synthetic_backup(tmp_path: Path) -> None:
    path = build_synthetic_backup(tmp_path / "syn.sqlite", folders=20, looks=30, dashboards=10,
                                  tiles_per_dashboard=12)
    with BackupReader(path) as r:
        counts = r.counts()
        assert (counts[CT.FOLDER], counts[CT.LOOK], counts[CT.DASHBOARD]) == (20, 30, 10)
        dash = r.get(CT.DASHBOARD, "100001").data
        elements = dash["dashboard_elements"]
        assert isinstance(elements, list) and len(elements) == 12
        look_ids = set(r.ids(CT.LOOK))
        assert all(e["look_id"] in look_ids for e in elements if e["look_id"])
        folders = r.folder_parents()
        assert all(parent == "1" or parent in folders for parent in folders.values())
        assert len(r.select(folder_ids=["1001"])) > 1
