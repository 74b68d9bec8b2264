"""Dashboards restored the way real Looker builds them, checked tab by tab on the fake's state.

The sample's dashboard 101 has two tabs, two filters (one listening to the
other), tiles bound to those filters (`result_maker.filterables[].listen`), a
look tile, a text tile and a merged-results tile. After a restore the live
dashboard must equal the backup: on each tab exactly the backup's tiles at
the backup's positions, each tile with its source and its filter bindings,
and every filter; a second restore must write nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.errors import UnrestorableItem
from lookervault_core.idmap import IdMap
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.testing.backups import as_lookervault_extracted, build_backup, build_synthetic_backup, sample_items
from lookervault_core.testing.fake_looker import FakeLooker

from .test_restore import all_keys, restore_all, writes

Obj = Mapping[str, object]
_NO_EXPLORE = frozenset({(CT.EXPLORE, "thelook::orders")})  # no LookML deployed on an empty fake


def _list(value: object) -> list[Obj]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def bindings(element: Obj) -> set[tuple[str, ...]]:
    """(filterable model, view, name, dashboard filter, field) of each `listen` of a tile."""
    maker = element.get("result_maker")
    filterables = _list(maker.get("filterables")) if isinstance(maker, Mapping) else []
    return {(str(f.get("model")), str(f.get("view")), str(f.get("name") or ""), str(x.get("dashboard_filter_name")),
             str(x.get("field"))) for f in filterables for x in _list(f.get("listen"))}


def query_content(fake: FakeLooker, query_id: object) -> tuple[object, ...]:
    query = fake.get("queries", str(query_id))
    assert query is not None, f"query {query_id} is not in Looker"
    return tuple(query.get(k) for k in ("model", "view", "fields", "filters", "sorts", "limit"))


def assert_dashboard_equals_backup(fake: FakeLooker, idmap: IdMap, data: Obj) -> str:
    """Live dashboard == backup: filters, each tab's tiles and their places, each tile's source and bindings."""
    dest = idmap.resolve("dashboard", str(data["id"])) or str(data["id"])
    live = fake.get("dashboards", dest)
    assert live is not None and live["title"] == data["title"] and not live["deleted"]
    filters = {str(f["name"]): f for f in _list(live["dashboard_filters"])}
    assert set(filters) == {str(f["name"]) for f in _list(data.get("dashboard_filters"))}
    for f in _list(data.get("dashboard_filters")):
        for field in ("title", "type", "default_value", "model", "explore", "dimension", "listens_to_filters",
                      "ui_config"):
            assert filters[str(f["name"])][field] == f[field], f"filter {f['name']}.{field}"
    tiles = {str(e["id"]): e for e in _list(live["dashboard_elements"])}
    wanted_tiles = _list(data.get("dashboard_elements"))
    assert len(tiles) == len(wanted_tiles), f"dashboard {dest} has {len(tiles)} tiles, backup {len(wanted_tiles)}"
    for el in wanted_tiles:
        tile = tiles[idmap.resolve("dashboard_element", str(el["id"])) or ""]
        what = f"tile {el['id']}"
        for field in ("title", "type", "title_text", "subtitle_text", "body_text", "note_text"):
            assert tile[field] == el.get(field), f"{what}.{field}"
        assert tile["result_maker_id"] is None or tile["result_maker_id"] != el.get("result_maker_id") or \
            idmap.same_instance
        if el.get("look_id"):
            assert tile["look_id"] == idmap.resolve("look", str(el["look_id"]))
        elif el.get("merge_result_id"):
            merge = fake.get("merge_queries", str(tile["merge_result_id"]))
            assert merge is not None, f"{what} points at a merge query Looker does not have"
            backup_merge = el.get("merge_result")
            if isinstance(backup_merge, Mapping):
                assert [query_content(fake, s["query_id"]) for s in _list(merge["source_queries"])] == [
                    tuple(s["query"].get(k) for k in ("model", "view", "fields", "filters", "sorts", "limit"))  # type: ignore[attr-defined]
                    for s in _list(backup_merge["source_queries"])]
        elif isinstance(el.get("query"), Mapping):
            q = el["query"]
            assert query_content(fake, tile["query_id"]) == tuple(
                q.get(k) for k in ("model", "view", "fields", "filters", "sorts", "limit"))  # type: ignore[attr-defined]
        assert bindings(tile) == bindings(el), f"{what}: filter bindings"
    layouts = {str(lay["id"]): lay for lay in _list(live["dashboard_layouts"])}
    for lay in _list(data.get("dashboard_layouts")):
        tab = layouts[idmap.resolve("dashboard_layout", str(lay["id"])) or ""]
        assert (tab["label"], tab["order"], tab["active"]) == (lay.get("label"), lay.get("order"), lay["active"])
        placed = {str(c["dashboard_element_id"]): c for c in _list(tab["dashboard_layout_components"])}
        wanted = {idmap.resolve("dashboard_element", str(c["dashboard_element_id"])): c
                  for c in _list(lay["dashboard_layout_components"])}
        assert set(placed) == set(wanted), f"tab {lay.get('label')}: tiles {sorted(placed)} != backup's"
        for element_id, comp in wanted.items():
            got = placed[str(element_id)]
            assert [got[k] for k in ("row", "column", "width", "height")] == [
                comp[k] for k in ("row", "column", "width", "height")], f"tab {lay.get('label')}: tile {element_id}"
    return dest


def assert_rerun_writes_nothing(fake: FakeLooker, restorer: Restorer,
                                expected_failures: frozenset[tuple[CT, str]] = frozenset()) -> None:
    """Restoring everything again finds everything equal: not one write."""
    fake.clear_requests()
    restore_all(restorer, expected_failures=expected_failures)
    assert writes(fake) == []


def _sales(restorer: Restorer) -> Obj:
    return restorer.backup.get(CT.DASHBOARD, "101").data


def test_into_an_empty_instance_each_tab_tile_binding_and_filter_equals_the_backup(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    restorer = make_restorer(sample_backup)
    actions = restore_all(restorer, expected_failures=_NO_EXPLORE)
    assert actions[(CT.DASHBOARD, "101")] is Action.CREATED
    assert_dashboard_equals_backup(fake, restorer.idmap, _sales(restorer))
    fake.clear_requests()
    again = restore_all(restorer, expected_failures=_NO_EXPLORE)
    assert again[(CT.DASHBOARD, "101")] is Action.UNCHANGED
    assert writes(fake) == []


def test_damaged_dashboard_and_look_are_repaired_on_the_same_instance(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    fake.load_backup(sample_backup)
    fake.remove("dashboard_elements", "1002")   # a bound tile of the first tab
    fake.remove("dashboard_elements", "1005")   # a tile of the second tab
    unbound = fake.get("dashboard_elements", "1001")
    assert unbound is not None and bindings(unbound)
    fake.put("dashboard_elements", {**unbound, "result_maker": {**unbound["result_maker"], "filterables": []}})  # type: ignore[dict-item]
    moved = next(c for c in fake.all("dashboard_layout_components").values() if c["dashboard_element_id"] == "1003")
    fake.put("dashboard_layout_components", {**moved, "row": 40, "width": 4})
    fake.put("looks", {**fake.get("looks", "201"), "title": "Retitled"})  # type: ignore[dict-item]
    restorer = make_restorer(sample_backup, same_instance=True)
    actions = restore_all(restorer)
    assert actions[(CT.DASHBOARD, "101")] is Action.UPDATED and actions[(CT.LOOK, "201")] is Action.UPDATED
    assert_dashboard_equals_backup(fake, restorer.idmap, _sales(restorer))
    assert fake.get("looks", "201")["title"] == "Orders by Month"  # type: ignore[index]
    assert_rerun_writes_nothing(fake, restorer)


def test_a_deleted_dashboard_comes_back_with_its_tabs_and_everything_pointing_at_it(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    fake.load_backup(sample_backup)
    fake.remove("dashboards", "101")
    restorer = make_restorer(sample_backup, same_instance=True)
    assert restore_all(restorer)[(CT.DASHBOARD, "101")] is Action.CREATED
    dest = assert_dashboard_equals_backup(fake, restorer.idmap, _sales(restorer))
    assert dest != "101"
    # The merge query still on the instance is reused, not re-created.
    tile = fake.get("dashboard_elements", restorer.idmap.resolve("dashboard_element", "1004") or "")
    assert tile is not None and tile["merge_result_id"] == "m8Kq2xZ" and len(fake.all("merge_queries")) == 1
    assert_rerun_writes_nothing(fake, restorer)


def test_a_dashboard_already_on_the_destination_is_adopted_with_its_filters_tabs_and_tiles(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    """A second machine without the first one's id map: every part is matched, none created twice."""
    before = set(CT) - {CT.SCHEDULED_PLAN, CT.BOARD}  # plans and boards have no natural key to match on
    first = make_restorer(sample_backup)
    restore_many(first, [k for k in all_keys(first.backup) if k[0] in before], workers=4)
    other_map = IdMap(tmp_path / "elsewhere" / "idmap.sqlite", "source", first.idmap.destination)
    second = Restorer(first.client, first.backup, other_map)
    fake.clear_requests()
    summary = restore_many(second, [k for k in all_keys(second.backup) if k[0] in before], workers=4)
    assert {(f.content_type, f.source_id) for f in summary.failures} == _NO_EXPLORE, summary.failures
    # Matched, not rewritten: only creates that Looker answers with what it has (queries, duplicates).
    assert [w for w in writes(fake) if not w.startswith("POST")] == []
    sales = [d for d in fake.all("dashboards").values() if d["title"] == "Sales Overview"]
    assert len(sales) == 1
    assert_dashboard_equals_backup(fake, other_map, _sales(second))
    assert len(fake.all("dashboard_filters")) == 2 and len(fake.all("merge_queries")) == 1
    other_map.close()


def test_a_merged_results_tile_whose_merge_query_nobody_has_fails_alone(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """LookerVault backs up no merge queries: into a new instance that tile cannot come back."""
    backup = build_backup(tmp_path / "lv.sqlite", as_lookervault_extracted(sample_items()))
    restorer = make_restorer(backup)
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    failed = {(f.content_type, f.source_id): f.error for f in summary.failures}
    error = failed.pop((CT.DASHBOARD, "101"))
    assert error.type == "UnrestorableItem"
    assert "tile 1004 (Orders and Users): merged results m8Kq2xZ are not in Looker" in error.message
    assert set(failed) == _NO_EXPLORE
    dest = restorer.idmap.resolve("dashboard", "101")
    tiles = [e for e in fake.all("dashboard_elements").values() if e["dashboard_id"] == dest]
    assert sorted(str(t["title"] or t["title_text"]) for t in tiles) == [
        "About this dashboard", "Orders by Month", "Orders by Status", "Users by Status"]
    assert all(t["merge_result_id"] is None for t in tiles) and fake.all("merge_queries") == {}
    fake.clear_requests()
    with pytest.raises(UnrestorableItem, match="tile 1004"):
        restorer.restore(CT.DASHBOARD, "101")
    assert writes(fake) == []


def test_a_lookervault_backup_repairs_its_own_instance_after_damage(
    tmp_path: Path, fake: FakeLooker, make_restorer: Callable[..., Restorer]
) -> None:
    """Looks without their query, tiles without merge queries: the instance still has them."""
    backup = build_backup(tmp_path / "lv.sqlite", as_lookervault_extracted(sample_items()))
    fake.load_backup(backup)
    fake.remove("dashboard_elements", "1002")
    fake.remove("dashboard_elements", "1004")
    fake.remove("dashboards", "102")
    for look_id in ("201", "202"):
        fake.put("looks", {**fake.get("looks", look_id), "title": f"Retitled {look_id}"})  # type: ignore[dict-item]
    restorer = make_restorer(backup, same_instance=True)
    actions = restore_all(restorer)
    assert actions[(CT.DASHBOARD, "102")] is Action.CREATED
    assert_dashboard_equals_backup(fake, restorer.idmap, _sales(restorer))
    for look_id in ("201", "202"):
        look = restorer.backup.get(CT.LOOK, look_id).data
        assert fake.get("looks", look_id)["title"] == look["title"]  # type: ignore[index]
        assert fake.get("looks", look_id)["query_id"] == look["query_id"]  # type: ignore[index]
    assert_rerun_writes_nothing(fake, restorer)


def test_a_certified_tile_is_sent_without_read_only_fields_and_then_left_alone(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    items = sample_items()
    sales = next(d for ct, d in items if ct is CT.DASHBOARD and d["id"] == "101")
    tile = sales["dashboard_elements"][2]  # type: ignore[index]
    tile["certification_metadata"] = {"certification_status": "certified", "notes": "Checked", "ui_status": None,
                                      "user_name": "Alice Analyst", "updated_at": "2024-03-10T09:30:00+00:00"}
    restorer = make_restorer(build_backup(tmp_path / "certified.sqlite", items))
    restore_all(restorer, expected_failures=_NO_EXPLORE)  # the strict fake refuses read-only fields
    live = fake.get("dashboard_elements", restorer.idmap.resolve("dashboard_element", "1003") or "")
    assert live is not None and live["certification_metadata"]["notes"] == "Checked"  # type: ignore[index]
    assert_rerun_writes_nothing(fake, restorer, _NO_EXPLORE)


def test_one_deleted_dashboard_reads_each_object_once_and_independent_reads_at_once(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """The wait of a one-item restore is its round trips: reads that do not depend on each other go together.

    Dashboard 101's folder, owner and look, its own GET and its tiles' queries
    and merge query are read in one round trip before its first write;
    nothing is read twice. Sequential reads would arrive a whole call's
    latency apart.
    """
    latency_s = 0.15
    fake.load_backup(sample_backup)
    fake.remove("dashboards", "101")
    restorer = make_restorer(sample_backup, same_instance=True)
    restorer.client.authenticate()
    fake.clear_requests()
    fake.latency_ms = latency_s * 1000
    try:
        assert restorer.restore(CT.DASHBOARD, "101").action is Action.CREATED
    finally:
        fake.latency_ms = 0
    assert_dashboard_equals_backup(fake, restorer.idmap, _sales(restorer))
    reads = [r for r in fake.requests if r.method == "GET"]
    paths = [r.path for r in reads]
    assert len(paths) == len(set(paths)), f"an object was read twice: {paths}"
    arrived = {r.path: r.received_at for r in reads}

    def together(group: list[str]) -> None:
        times = [arrived[p] for p in group]
        assert max(times) - min(times) < latency_s / 2, f"{group} read one after another: {times}"

    tiles = sorted(p for p in paths if p.startswith(("/queries/", "/merge_queries/")))
    assert len(tiles) == 3, paths  # two query tiles, one merged-results tile
    first = ["/folders/11", "/users/5", "/looks/201", "/dashboards/101", *tiles]
    together(first)
    first_write = min(r.received_at for r in fake.requests if r.method != "GET")
    assert max(arrived[p] for p in first) < first_write


def test_a_batch_of_unchanged_dashboards_reads_each_dashboard_once_and_nothing_its_live_tiles_answer(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """A repeat restore of many dashboards pays one GET per dashboard; a tile pointed elsewhere is still put back.

    Each query tile's query is the one its live tile shows (queries are
    immutable and never deleted), and the looks its tiles show are checked
    through one listing: no GET of a query or look per tile. A tile that
    Looker shows with another query is read, found different and repointed.
    """
    backup = build_synthetic_backup(tmp_path / "many.sqlite", folders=3, looks=150, dashboards=120,
                                    tiles_per_dashboard=2)
    fake.load_backup(backup)
    keys = [(CT.DASHBOARD, str(100001 + n)) for n in range(120)]
    first = restore_many(make_restorer(backup, same_instance=True), keys, workers=4)
    assert not first.failures and {r.action for r in first.results} == {Action.UNCHANGED}
    query_tile = fake.get("dashboard_elements", "1000050001")  # the query tile of dashboard 100005
    assert query_tile is not None and query_tile["query_id"] == "91000050001"
    restorer = make_restorer(backup, same_instance=True)
    # Someone points the tile at another query Looker has (a look's), as the UI would.
    restorer.client.call(lambda: restorer.client.plain_sdk.update_dashboard_element(
        "1000050001", {"query_id": "500000"}))  # type: ignore[arg-type]
    assert fake.get("dashboard_elements", "1000050001")["query_id"] == "500000"  # type: ignore[index]
    fake.clear_requests()
    summary = restore_many(restorer, keys, workers=4)
    assert not summary.failures
    actions = {r.source_id: r.action for r in summary.results}
    assert actions.pop("100005") is Action.UPDATED and set(actions.values()) == {Action.UNCHANGED}
    assert fake.get("dashboard_elements", "1000050001")["query_id"] == "91000050001"  # type: ignore[index]
    reads = [r.path for r in fake.requests if r.method == "GET"]
    per_item = [p for p in reads if p.startswith(("/queries/", "/looks/")) and p != "/looks/search"]
    assert per_item == ["/queries/91000050001"], per_item
    assert sorted(p for p in reads if p.startswith("/dashboards/")) == sorted(f"/dashboards/{k}" for _, k in keys)
