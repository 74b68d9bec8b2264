"""Snapshots of a live (fake) Looker: complete where LookerVault is not, and a round trip through restore.

Server A holds the sample instance. Its snapshot must hold what LookerVault's
extraction misses (look 202's query, dashboard 101's tabs, tile bindings and
merge query). Restored into an empty server B, whose ids differ, and
snapshotted again, the two snapshots agree item for item once A's ids are
mapped through the restore's IdMap.

Compared are the fields restore writes (the SDK Write models' fields), nested
parts (tiles, filters, tabs and tile places, board sections and items, plan
destinations) and what a look or tile shows (its query's content, its merge
query's sources). Expected to differ, and not compared: every id (mapped
instead), timestamps Looker sets (`created_at`, `updated_at`, `last_*`),
counters (`view_count`, `favorite_count`, `user_count`, `child_count`),
URLs and `can`, `content_metadata_id`, query slugs and `client_id`,
`result_maker_id`, and names Looker derives (`user_name`, `display_name`).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from looker_sdk.sdk.api40 import models as m

from lookervault_core.backup import BackupItem, BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.content_types import spec, writable_fields
from lookervault_core.errors import Unavailable
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerClient, RetryPolicy, connect
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.snapshot import SNAPSHOT_ORDER, SnapshotProgress, take_snapshot
from lookervault_core.testing.backups import sample_items
from lookervault_core.testing.fake_looker import FakeLooker, ServerError

from ..conftest import settings_for
from .test_restore import all_keys

Obj = Mapping[str, object]
Ref = Callable[[str, object], object]


def _client(fake: FakeLooker) -> LookerClient:
    return connect(settings_for(fake), retry=RetryPolicy(attempts=2, initial_backoff=0.0, max_backoff=0.0, jitter=0.0))


@pytest.fixture
def origin(sample_backup: Path) -> Iterator[FakeLooker]:
    """Server A: the sample instance, live."""
    with FakeLooker(strict=True) as server:
        server.load_backup(sample_backup)
        yield server


def _snapshot(fake: FakeLooker, out: Path, **kwargs: object) -> Path:
    with _client(fake) as client:
        take_snapshot(client, out, **kwargs)  # type: ignore[arg-type]
    return out


def _items(path: Path) -> dict[tuple[CT, str], Obj]:
    with BackupReader(path) as reader:
        out = {}
        for ct in CT:
            for item in reader.items(ct):
                assert isinstance(item, BackupItem), item
                out[(ct, item.row.id)] = item.data
        return out


def _list(value: object) -> list[Obj]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _bindings(element: Obj) -> set[tuple[str, ...]]:
    maker = element.get("result_maker")
    return {(str(f.get("name")), str(x.get("dashboard_filter_name")), str(x.get("field")))
            for f in _list(maker.get("filterables") if isinstance(maker, Mapping) else None)
            for x in _list(f.get("listen"))}


_QUERY = ("model", "view", "fields", "pivots", "filters", "filter_expression", "sorts", "limit", "vis_config")


def _query(query: object) -> tuple[object, ...] | None:
    return tuple(query.get(k) for k in _QUERY) if isinstance(query, Mapping) else None


# --- completeness -------------------------------------------------------------------------


def test_a_snapshot_holds_what_lookervault_misses(origin: FakeLooker, tmp_path: Path) -> None:
    seen: list[SnapshotProgress] = []
    with _client(origin) as client:
        summary = take_snapshot(client, tmp_path / "a.sqlite", progress=seen.append)
    items = _items(tmp_path / "a.sqlite")
    sample = {(ct, str(d.get("name") if ct is CT.LOOKML_MODEL else d["id"])): d for ct, d in sample_items()}

    # Every object of the instance, the seeded system content included (Shared, Users, personal
    # folders, the API user, built-in Admin role and sets), each under LookerVault's type code.
    assert set(sample) < set(items)
    for ct, collection in ((CT.FOLDER, "folders"), (CT.USER, "users"), (CT.ROLE, "roles"), (CT.GROUP, "groups"),
                           (CT.PERMISSION_SET, "permission_sets"), (CT.MODEL_SET, "model_sets"),
                           (CT.LOOK, "looks"), (CT.DASHBOARD, "dashboards"), (CT.BOARD, "boards")):
        assert {i for c, i in items if c is ct} == set(origin.all(collection)), ct
    assert summary.counts == {ct: sum(1 for c, _ in items if c is ct) for ct in SNAPSHOT_ORDER}
    assert [p.content_type for p in seen if p.finished] == list(SNAPSHOT_ORDER)
    assert seen[-1].total == len(items) and summary.skipped == ()

    # Look 202: LookerVault kept only its query_id; the snapshot has the query.
    assert _query(items[(CT.LOOK, "202")]["query"]) == _query(sample[(CT.LOOK, "201")]["query"])
    # Dashboard 101: both tabs with their tiles in place, both filters, every tile's bindings.
    dash, want = items[(CT.DASHBOARD, "101")], sample[(CT.DASHBOARD, "101")]
    layouts = {str(lay["label"]): lay for lay in _list(dash["dashboard_layouts"])}
    for lay in _list(want["dashboard_layouts"]):
        got = layouts[str(lay["label"])]
        assert (got["order"], got["active"]) == (lay["order"], lay["active"])
        assert {(str(c["dashboard_element_id"]), c["row"], c["column"], c["width"], c["height"])
                for c in _list(got["dashboard_layout_components"])} == {
            (str(c["dashboard_element_id"]), c["row"], c["column"], c["width"], c["height"])
            for c in _list(lay["dashboard_layout_components"])}
    assert [f["name"] for f in _list(dash["dashboard_filters"])] == ["Date", "Status"]
    tiles = {str(e["id"]): e for e in _list(dash["dashboard_elements"])}
    for el in _list(want["dashboard_elements"]):
        assert _bindings(tiles[str(el["id"])]) == _bindings(el), el["id"]
    # The merged-results tile: its merge query, each source with its full query (gzr's form).
    merge, wanted_merge = tiles["1004"]["merge_result"], want["dashboard_elements"][3]["merge_result"]  # type: ignore[index]
    assert isinstance(merge, Mapping) and merge["id"] == "m8Kq2xZ"
    assert [(s["name"], s["merge_fields"], _query(s["query"])) for s in _list(merge["source_queries"])] == [
        (s["name"], s["merge_fields"], _query(s["query"])) for s in _list(wanted_merge["source_queries"])]  # type: ignore[index]
    # Users with roles, groups and email; roles with their sets nested; boards with sections and items.
    alice = items[(CT.USER, "5")]
    assert (alice["email"], alice["role_ids"], alice["group_ids"]) == ("alice.analyst@example.com", ["7"], ["1", "3"])
    assert alice["credentials_email"]["email"] == "alice.analyst@example.com"  # type: ignore[index]
    role = items[(CT.ROLE, "7")]
    assert (role["permission_set"]["name"], role["model_set"]["name"]) == ("Analyst", "Sales Models")  # type: ignore[index]
    section = _list(items[(CT.BOARD, "601")]["board_sections"])[0]
    assert [(i["dashboard_id"], i["look_id"]) for i in _list(section["board_items"])] == [("101", None), (None, "201")]
    dimensions = items[(CT.EXPLORE, "thelook::orders")]["fields"]["dimensions"]  # type: ignore[index]
    assert [d["name"] for d in dimensions] == ["orders.created_date", "orders.status"]
    assert "folders" not in items[(CT.FOLDER, "11")] and "looks" not in items[(CT.FOLDER, "11")]  # FolderBase rows


def test_the_file_is_lookervaults_format(origin: FakeLooker, tmp_path: Path) -> None:
    path = _snapshot(origin, tmp_path / "a.sqlite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sqlite", "sample.sqlite"]  # no -wal, no partial file
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)) as conn:
        assert [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")] == [3, 4]
        rows = dict(((code, raw_id), (name, owner, folder)) for raw_id, code, name, owner, folder in conn.execute(
            "SELECT id, content_type, name, owner_id, folder_id FROM content_items"))
        assert conn.execute("SELECT status FROM extraction_sessions").fetchall() == [("completed",)]
    assert rows[(1, "101")] == ("Sales Overview", 5, "11")
    assert rows[(3, "thelook")][0] == "thelook"
    assert rows[(4, "thelook::orders")][0] == "Orders"
    assert rows[(7, "5")] == ("Untitled 5", None, None)  # users have no title, as in LookerVault's files


def test_listings_are_paged_and_ask_only_for_ids_where_objects_are_read_whole(
    origin: FakeLooker, tmp_path: Path
) -> None:
    origin.clear_requests()
    small_pages = _items(_snapshot(origin, tmp_path / "paged.sqlite", page_size=1))
    listings = {r.path: r.query for r in origin.requests if r.path.split("/")[-1] in ("search", "users")}
    for path in ("/looks/search", "/dashboards/search", "/boards/search"):
        assert listings[path]["fields"] == "id", path
    for path, collection in (("/users", "users"), ("/roles/search", "roles"), ("/dashboards/search", "dashboards")):
        paged = [r for r in origin.requests if r.path == path]
        assert [r.query["offset"] for r in paged] == [str(n) for n in range(len(origin.all(collection)) + 1)], path
        assert all(r.query["limit"] == "1" for r in paged), path
    assert small_pages == _items(_snapshot(origin, tmp_path / "whole.sqlite"))


def test_a_failed_snapshot_leaves_no_file_and_an_existing_one_is_kept(origin: FakeLooker, tmp_path: Path) -> None:
    out = tmp_path / "a.sqlite"
    origin.inject("GET /dashboards/101", ServerError(503), times=100)
    with pytest.raises(Unavailable):
        _snapshot(origin, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.sqlite"]

    origin.clear_faults()
    out.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        _snapshot(origin, out)
    assert out.read_bytes() == b"precious"
    _snapshot(origin, out, overwrite=True)
    assert (CT.DASHBOARD, "101") in _items(out)


# --- round trip: snapshot A -> restore into B -> snapshot B ---------------------------------

_REFS = {"folder_id": "folder", "parent_id": "folder", "home_folder_id": "folder", "user_id": "user",
         "look_id": "look", "dashboard_id": "dashboard", "permission_set_id": "permission_set",
         "model_set_id": "model_set", "merge_result_id": "merge_query", "group_ids": "group", "role_ids": "role"}
#: Parts compared by content or mapped separately.
_NOT_COMPARED = {"id", "query_id", "query", "look", "result_maker", "result_maker_id", "dashboard_layout_id",
                 "dashboard_element_id", "section_order", "item_order", "scheduled_plan_destination",
                 "board_sections", "board_items", "board_section_id", "scheduled_plan_id"}
_ELEMENT = writable_fields(m.WriteDashboardElement)
_FILTER = writable_fields(m.WriteDashboardFilter) - {"dashboard_id"}
_LAYOUT = writable_fields(m.WriteDashboardLayout) - {"dashboard_id"}
_COMPONENT = writable_fields(m.WriteDashboardLayoutComponent)
_MERGE = writable_fields(m.WriteMergeQuery) - {"source_queries", "result_maker_id"}
_SECTION = writable_fields(m.WriteBoardSection) - {"board_id"}
_ITEM = writable_fields(m.WriteBoardItem)
_DESTINATION = writable_fields(m.ScheduledPlanDestination) - {"id", "scheduled_plan_id", "can", "looker_recipient",
                                                              "secret_parameters"}


def _fields(data: Obj, names: frozenset[str], ref: Ref) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in sorted(names - _NOT_COMPARED):
        value, kind = data.get(name), _REFS.get(name)
        if kind is not None and isinstance(value, list):
            value = sorted(str(ref(kind, v)) for v in value)
        elif kind is not None and value is not None:
            value = ref(kind, value)
        out[name] = value
    return out


def _element(el: Obj, ref: Ref) -> dict[str, object]:
    out = _fields(el, _ELEMENT, ref)
    out["query"] = _query(el.get("query"))
    out["bindings"] = sorted(_bindings(el))
    merge = el.get("merge_result")
    if isinstance(merge, Mapping):
        out["merge_result"] = {**_fields(merge, _MERGE, ref), "sources": [
            (s.get("name"), s.get("merge_fields"), _query(s.get("query"))) for s in _list(merge.get("source_queries"))]}
    return out


def _dashboard_parts(data: Obj, ref: Ref) -> dict[str, object]:
    return {
        "filters": {f["name"]: _fields(f, _FILTER, ref) for f in _list(data.get("dashboard_filters"))},
        "elements": {ref("dashboard_element", e["id"]): _element(e, ref) for e in _list(data.get("dashboard_elements"))},
        "layouts": {ref("dashboard_layout", lay["id"]): {
            **_fields(lay, _LAYOUT, ref),
            "components": {ref("dashboard_element", c["dashboard_element_id"]): _fields(c, _COMPONENT, ref)
                           for c in _list(lay.get("dashboard_layout_components"))},
        } for lay in _list(data.get("dashboard_layouts"))},
    }


def canonical(ct: CT, data: Obj, ref: Ref) -> dict[str, object]:
    """What restore writes of an object, its references resolved by `ref`."""
    if data.get("built_in") or (ct is CT.ROLE and data.get("name") == "Admin"):
        return {"name": data.get("name")}  # mapped by name, never written: each instance keeps its own
    if ct is CT.EXPLORE:  # read-only: defined by deployed LookML
        return {k: data.get(k) for k in ("name", "model_name", "label", "fields", "joins")}
    out = _fields(data, spec(ct).writable, ref)
    if ct is CT.LOOK:
        out["query"] = _query(data.get("query"))
    elif ct is CT.USER:  # read-only on the user, written through their own calls
        out.update(email=data.get("email"), **_fields(data, frozenset({"group_ids", "role_ids"}), ref))
    elif ct is CT.ROLE:
        out["sets"] = [ref(k, data[k]["id"]) for k in ("permission_set", "model_set")]  # type: ignore[index]
    elif ct is CT.DASHBOARD:
        out.update(_dashboard_parts(data, ref))
    elif ct is CT.SCHEDULED_PLAN:
        out["destinations"] = [_fields(d, _DESTINATION, ref) for d in _list(data.get("scheduled_plan_destination"))]
    elif ct is CT.BOARD:
        out["section_order"] = [ref("board_section", s) for s in data.get("section_order") or []]  # type: ignore[attr-defined]
        out["sections"] = {ref("board_section", s["id"]): {
            **_fields(s, _SECTION, ref),
            "item_order": [ref("board_item", i) for i in s.get("item_order") or []],  # type: ignore[attr-defined]
            "items": {ref("board_item", i["id"]): _fields(i, _ITEM, ref) for i in _list(s.get("board_items"))},
        } for s in _list(data.get("board_sections"))}
    return out


def _deploy_lookml(destination: FakeLooker, source: Mapping[tuple[CT, str], Obj]) -> None:
    """Deploy the LookML project on B first, as a move to another instance does: the model lists its explores.

    Explores are defined by deployed LookML; restore only verifies them.
    """
    for (ct, _), data in source.items():
        if ct is CT.LOOKML_MODEL:
            destination.put("lookml_models", data)
        elif ct is CT.EXPLORE:
            destination.put("explores", data)


def test_snapshot_restore_into_an_empty_instance_and_snapshot_again_agree(
    origin: FakeLooker, fake: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    a = _items(_snapshot(origin, tmp_path / "a.sqlite"))
    _deploy_lookml(fake, a)
    restorer = make_restorer(tmp_path / "a.sqlite")  # another instance: every id mapped, none assumed
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    assert summary.failures == [], [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures]
    b = _items(_snapshot(fake, tmp_path / "b.sqlite"))
    idmap: IdMap = restorer.idmap

    def mapped(kind: str, source_id: object) -> object:
        return idmap.resolve(kind, str(source_id)) or f"unmapped {kind} {source_id}"

    def same(kind: str, dest_id: object) -> object:
        return str(dest_id)

    counterparts: dict[tuple[CT, str], tuple[CT, str]] = {}
    for (ct, item_id), data in a.items():
        # LookML models and explores are keyed by name, the same on every instance.
        dest = (ct, item_id if ct in (CT.LOOKML_MODEL, CT.EXPLORE) else str(mapped(ct.label, item_id)))
        assert dest in b, f"{ct.label} {item_id} of A has no counterpart in B (mapped to {dest[1]})"
        assert canonical(ct, data, mapped) == canonical(ct, b[dest], same), f"{ct.label} {item_id} -> {dest[1]}"
        counterparts[(ct, item_id)] = dest
    # One counterpart each, and the ids really differ between the two servers.
    assert len(set(counterparts.values())) == len(counterparts)
    assert counterparts[(CT.DASHBOARD, "101")] != (CT.DASHBOARD, "101")
    # B's only other objects are its own API user (who restored) and that user's personal folder.
    extra = set(b) - set(counterparts.values())
    api_user = fake.get("users", "1")
    assert api_user is not None
    assert extra == {(CT.USER, "1"), (CT.FOLDER, str(api_user["personal_folder_id"]))}
