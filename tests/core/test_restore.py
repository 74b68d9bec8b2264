"""Restore of every content type into the fake Looker over real HTTP, checked on the fake's state.

The sample backup (all 12 types) is restored into an empty instance (creates),
the fake's copies are then changed behind restore's back (updates), and a
third restore must write nothing. After each pass the fake's objects must
equal the backup field by field, references rewritten through the id map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.content_types import spec
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.idmap import IdMap
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.restore.payload import body_from, same
from lookervault_core.testing.backups import sample_items
from lookervault_core.testing.fake_looker import FakeLooker

WRITES = {"POST", "PATCH", "PUT", "DELETE"}

#: Reference fields: (content type or id-map kind) they point at.
_REFS: dict[str, str] = {
    "folder_id": "folder", "parent_id": "folder", "home_folder_id": "folder", "user_id": "user",
    "query_id": "query", "look_id": "look", "dashboard_id": "dashboard",
    "permission_set_id": "permission_set", "model_set_id": "model_set",
}


def all_keys(reader: BackupReader) -> list[tuple[CT, str]]:
    return [(ct, row.id) for ct in TYPE_ORDER for row in reader.rows(ct)]


def writes(fake: FakeLooker) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in WRITES and not r.path.endswith("login")]


def _mapped(idmap: IdMap, field: str, value: object) -> object:
    kind = _REFS.get(field)
    # Unmapped references were used as they are (in Looker, not in the backup).
    return value if kind is None or value is None else idmap.resolve(kind, str(value)) or str(value)


def assert_same_fields(idmap: IdMap, wanted: Mapping[str, object], live: Mapping[str, object], what: str) -> None:
    for field, value in wanted.items():
        expected = _mapped(idmap, field, value)
        assert same(expected, live.get(field)), f"{what}.{field}: backup {expected!r} != Looker {live.get(field)!r}"


def dest_of(idmap: IdMap, ct: CT, data: Mapping[str, object]) -> str:
    key = str(data["name"]) if ct is CT.LOOKML_MODEL else str(data["id"])
    return idmap.resolve(ct.label, key) or key


def _by(fake: FakeLooker, collection: str, field: str, value: str) -> list[dict[str, object]]:
    return [o for o in fake.all(collection).values() if str(o.get(field)) == value]


def _all_users(fake: FakeLooker, idmap: IdMap, source_group: object) -> bool:
    dest = idmap.resolve("group", str(source_group)) or str(source_group)
    return bool((fake.get("groups", dest) or {}).get("include_by_default"))


def assert_restored(fake: FakeLooker, idmap: IdMap, ct: CT, data: Mapping[str, object]) -> None:
    """The fake's object equals the backup blob in every field restore writes."""
    if ct is CT.EXPLORE:
        model = fake.get("lookml_models", str(data["model_name"]))
        assert model is not None
        assert str(data["name"]) in [str(e.get("name")) for e in model.get("explores") or []]  # type: ignore[union-attr]
        return
    built_in = data.get("built_in") or (ct is CT.ROLE and data.get("name") == "Admin")
    system_folder = ct is CT.FOLDER and (data.get("is_shared_root") or data.get("is_users_root") or data.get("is_personal"))
    if built_in or system_folder:
        return
    dest = dest_of(idmap, ct, data)
    live = fake.get(ct.plural, dest)
    assert live is not None, f"{ct.label} {data.get('id')} is not in Looker at {dest}"
    what = f"{ct.label} {data.get('id')}"
    skip = {"section_order", "scheduled_plan_destination", "credentials_email", "permission_set", "model_set", "query"}
    assert_same_fields(idmap, {k: v for k, v in body_from(data, spec(ct).writable).items() if k not in skip},
                       live, what)
    if ct is CT.ROLE:
        assert str(live["permission_set_id"]) == idmap.resolve("permission_set", str(data["permission_set"]["id"]))  # type: ignore[index]
        assert str(live["model_set_id"]) == idmap.resolve("model_set", str(data["model_set"]["id"]))  # type: ignore[index]
    if ct is CT.USER:
        assert live.get("email") == data.get("email")
        # Looker puts every user in its include_by_default group ("All Users") too.
        joined = [str(g) for g in live["group_ids"] if not (fake.get("groups", str(g)) or {}).get("include_by_default")]  # type: ignore[union-attr]
        assert sorted(joined) == sorted(idmap.resolve("group", g) for g in data["group_ids"] if not _all_users(fake, idmap, g))  # type: ignore[union-attr, attr-defined]
        assert sorted(map(str, live["role_ids"])) == sorted(idmap.resolve("role", r) for r in data["role_ids"])  # type: ignore[union-attr, attr-defined]
    if ct is CT.LOOK and isinstance(data.get("query"), Mapping):
        query = fake.get("queries", str(live["query_id"]))
        assert query is not None
        assert_same_fields(idmap, {k: v for k, v in body_from(data["query"], {"model", "view", "fields", "filters", "sorts", "limit"}).items()},  # type: ignore[arg-type]
                           query, f"{what}.query")
    if ct is CT.DASHBOARD:
        _assert_dashboard_parts(fake, idmap, dest, data)
    if ct is CT.SCHEDULED_PLAN:
        dests = live.get("scheduled_plan_destination") or []
        assert [d.get("address") for d in dests] == [d.get("address") for d in data["scheduled_plan_destination"]]  # type: ignore[union-attr, attr-defined]
    if ct is CT.BOARD:
        sections = _by(fake, "board_sections", "board_id", dest)
        assert len(sections) == len(data["board_sections"])  # type: ignore[arg-type]
        assert [str(s) for s in live["section_order"]] == [  # type: ignore[union-attr]
            idmap.resolve("board_section", str(s)) for s in data["section_order"]]  # type: ignore[union-attr]
        for section in data["board_sections"]:  # type: ignore[union-attr]
            sec_id = idmap.resolve("board_section", str(section["id"]))
            items = _by(fake, "board_items", "board_section_id", sec_id)
            assert sorted(str(i.get("dashboard_id") or i.get("look_id")) for i in items) == sorted(
                _mapped(idmap, "dashboard_id" if i.get("dashboard_id") else "look_id",
                        i.get("dashboard_id") or i.get("look_id")) for i in section["board_items"])


def _assert_dashboard_parts(fake: FakeLooker, idmap: IdMap, dest: str, data: Mapping[str, object]) -> None:
    elements = _by(fake, "dashboard_elements", "dashboard_id", dest)
    filters = {str(f["name"]): f for f in _by(fake, "dashboard_filters", "dashboard_id", dest)}
    for f in data.get("dashboard_filters") or []:  # type: ignore[union-attr]
        live = filters[str(f["name"])]
        assert_same_fields(idmap, body_from(f, {"title", "type", "default_value", "model", "explore", "dimension",
                                                "allow_multiple_values", "required"}), live, f"filter {f['name']}")
    by_id = {str(e["id"]): e for e in elements}
    for el in data.get("dashboard_elements") or []:  # type: ignore[union-attr]
        live_el = by_id[idmap.resolve("dashboard_element", str(el["id"]))]
        assert_same_fields(idmap, body_from(el, {"title", "type", "body_text", "look_id", "note_text", "subtitle_text"}),
                           live_el, f"element {el['id']}")
        if el.get("query_id") and not el.get("look_id"):
            assert str(live_el["query_id"]) == idmap.resolve("query", str(el["query_id"]))
    for layout in data.get("dashboard_layouts") or []:  # type: ignore[union-attr]
        lid = idmap.resolve("dashboard_layout", str(layout["id"]))
        comps = {str(c["dashboard_element_id"]): c for c in _by(fake, "dashboard_layout_components", "dashboard_layout_id", lid)}
        for comp in layout.get("dashboard_layout_components") or []:
            live_comp = comps[idmap.resolve("dashboard_element", str(comp["dashboard_element_id"]))]
            for field in ("row", "column", "width", "height"):
                assert live_comp.get(field) == comp.get(field), f"component {comp['id']}.{field}"
    if not data.get("dashboard_elements") and "dashboard_elements" not in data:
        return
    assert len(elements) == len(data["dashboard_elements"])  # type: ignore[arg-type]


def restore_all(restorer: Restorer, expected_failures: frozenset[tuple[CT, str]] = frozenset()) -> dict[tuple[CT, str], Action]:
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    failed = {(f.content_type, f.source_id) for f in summary.failures}
    assert failed == expected_failures, [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures]
    return {(r.content_type, r.source_id): r.action for r in summary.results}


def deploy_lookml(fake: FakeLooker) -> None:
    """What a LookML deploy does on a real instance: the model's explores appear."""
    model = fake.get("lookml_models", "thelook")
    assert model is not None
    fake.put("lookml_models", {**model, "explores": [{"name": "orders", "description": None, "label": "Orders",
                                                      "hidden": False, "group_label": None}]})


def assert_all_restored(fake: FakeLooker, restorer: Restorer) -> None:
    for ct, item_id in all_keys(restorer.backup):
        assert_restored(fake, restorer.idmap, ct, restorer.backup.get(ct, item_id).data)


def test_sample_creates_then_updates_then_writes_nothing(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    restorer = make_restorer(sample_backup)
    # Explores come from deployed LookML: on an instance without it, verifying one fails clearly.
    first = restore_all(restorer, expected_failures=frozenset({(CT.EXPLORE, "thelook::orders")}))
    created = {k for k, a in first.items() if a is Action.CREATED}
    assert {ct for ct, _ in created} == {ct for ct in CT if ct.in_lookervault} - {CT.EXPLORE}
    assert first[(CT.PERMISSION_SET, "1")] is Action.SKIPPED  # built-in Admin set, mapped by name
    deploy_lookml(fake)
    assert restorer.restore(CT.EXPLORE, "thelook::orders").action is Action.UNCHANGED
    assert_all_restored(fake, restorer)

    # Someone edits Looker after the restore: one change per type.
    idmap = restorer.idmap
    for ct, field, value in [
        (CT.PERMISSION_SET, "permissions", ["access_data"]), (CT.MODEL_SET, "models", ["other"]),
        (CT.ROLE, "name", "Renamed role"), (CT.GROUP, "name", "Renamed group"), (CT.USER, "first_name", "Changed"),
        (CT.FOLDER, "name", "Renamed folder"), (CT.LOOK, "title", "Changed look"),
        (CT.DASHBOARD, "title", "Changed dashboard"), (CT.SCHEDULED_PLAN, "crontab", "0 0 1 1 *"),
        (CT.BOARD, "title", "Changed board"), (CT.LOOKML_MODEL, "allowed_db_connection_names", ["other_db"]),
    ]:
        item = next(d for c, d in sample_items() if c is ct and not d.get("built_in"))
        dest = dest_of(idmap, ct, item)
        live = fake.get(ct.plural, dest)
        assert live is not None
        fake.put(ct.plural, {**live, field: value})
    second = restore_all(restorer)
    updated = {ct for (ct, _), a in second.items() if a is Action.UPDATED}
    assert updated == {ct for ct in CT if ct.in_lookervault} - {CT.EXPLORE}
    assert_all_restored(fake, restorer)

    fake.clear_requests()
    third = restore_all(restorer)
    assert set(third.values()) <= {Action.UNCHANGED, Action.SKIPPED}
    assert writes(fake) == []
    assert_all_restored(fake, restorer)


def test_the_backup_file_is_never_modified(sample_backup: Path, make_restorer: Callable[..., Restorer]) -> None:
    before = (sample_backup.read_bytes(), sample_backup.stat().st_mtime_ns)
    restore_all(make_restorer(sample_backup), expected_failures=frozenset({(CT.EXPLORE, "thelook::orders")}))
    assert (sample_backup.read_bytes(), sample_backup.stat().st_mtime_ns) == before
    assert sorted(p.name for p in sample_backup.parent.iterdir() if p.name.startswith("sample")) == ["sample.sqlite"]


def test_same_instance_after_deletions_and_edits(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """The everyday case: the backup's instance, after someone deleted and edited things."""
    fake.load_backup(sample_backup)
    fake.remove("dashboards", "101")                       # hard-deleted dashboard
    look = fake.get("looks", "201")
    assert look is not None
    fake.put("looks", {**look, "deleted": True})            # soft-deleted look (trash)
    folder = fake.get("folders", "13")
    assert folder is not None
    fake.put("folders", {**folder, "name": "Someone renamed me"})
    restorer = make_restorer(sample_backup, same_instance=True)
    actions = restore_all(restorer)
    assert actions[(CT.DASHBOARD, "101")] is Action.CREATED
    assert actions[(CT.LOOK, "201")] is Action.UPDATED
    assert actions[(CT.FOLDER, "13")] is Action.UPDATED
    assert actions[(CT.DASHBOARD, "102")] is Action.UNCHANGED
    assert actions[(CT.USER, "5")] is Action.UNCHANGED
    new_id = restorer.idmap.get("dashboard", "101")
    assert new_id is not None and new_id != "101"
    assert fake.get("looks", "201")["deleted"] is False  # type: ignore[index]
    assert_all_restored(fake, restorer)
    # The board and the schedule that pointed at dashboard 101 now point at its new id.
    plan = fake.get("scheduled_plans", "401")
    assert plan is not None and str(plan["dashboard_id"]) == new_id


def test_a_dashboard_blob_without_tiles_never_deletes_live_tiles(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    fake.load_backup(sample_backup)
    fake.put("dashboards", {**fake.get("dashboards", "102"), "title": "Edited"})  # type: ignore[dict-item]
    tiles_before = _by(fake, "dashboard_elements", "dashboard_id", "102")
    restorer = make_restorer(sample_backup, same_instance=True)
    result = restorer.restore(CT.DASHBOARD, "102")
    assert result.action is Action.UPDATED and result.changed_fields == ("title",)
    assert "no tiles" in result.message
    assert _by(fake, "dashboard_elements", "dashboard_id", "102") == tiles_before
    assert not any(r.method == "DELETE" for r in fake.requests)


def test_missing_dependency_is_named_and_nothing_is_written(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    from lookervault_core.errors import MissingDependency
    from lookervault_core.testing.backups import build_backup

    look = next(d for c, d in sample_items() if c is CT.LOOK and d.get("query"))
    backup = build_backup(tmp_path / "one.sqlite", [(CT.LOOK, {**look, "id": "42", "folder_id": "7"})])
    restorer = make_restorer(backup)
    fake.clear_requests()
    with pytest.raises(MissingDependency, match="look 42 needs folder 7, which is neither in the backup nor in Looker"):
        restorer.restore(CT.LOOK, "42")
    assert writes(fake) == []


def test_lookervault_look_without_query_on_a_new_instance_fails_clearly(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    from lookervault_core.errors import UnrestorableItem
    from lookervault_core.testing.backups import build_backup

    bare = next(d for c, d in sample_items() if c is CT.LOOK and not d.get("query"))
    backup = build_backup(tmp_path / "bare.sqlite", [(CT.LOOK, {**bare, "folder_id": "1", "user_id": None})])
    with pytest.raises(UnrestorableItem, match="holds only its id"):
        make_restorer(backup).restore(CT.LOOK, str(bare["id"]))
    assert fake.all("looks") == {}


def test_dry_run_reports_changes_and_writes_nothing(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    fake.load_backup(sample_backup)
    fake.remove("dashboards", "101")
    fake.put("folders", {**fake.get("folders", "13"), "name": "Renamed"})  # type: ignore[dict-item]
    fake.clear_requests()
    restorer = make_restorer(sample_backup, same_instance=True, dry_run=True)
    folder = restorer.restore(CT.FOLDER, "13")
    dash = restorer.restore(CT.DASHBOARD, "101")
    assert folder.action is Action.WOULD_UPDATE and folder.changed_fields == ("name",)
    assert dash.action is Action.WOULD_CREATE and "title" in dash.changed_fields
    assert writes(fake) == []
    assert fake.get("folders", "13")["name"] == "Renamed"  # type: ignore[index]


def test_corrupt_row_fails_alone(fake: FakeLooker, sample_backup: Path, tmp_path: Path,
                                 make_restorer: Callable[..., Restorer]) -> None:
    import shutil
    import sqlite3

    broken = tmp_path / "broken.sqlite"
    shutil.copy(sample_backup, broken)
    with sqlite3.connect(broken) as conn:
        conn.execute("UPDATE content_items SET content_data = x'c1c1c1' WHERE id = '12' AND content_type = 5")
    restorer = make_restorer(broken)
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    failures = {(f.content_type, f.source_id): f.error for f in summary.failures}
    assert failures.pop((CT.FOLDER, "12")).type == "CorruptItem"
    assert failures.pop((CT.EXPLORE, "thelook::orders")).type == "UnrestorableItem"  # no LookML deployed
    # What lives in folder 12 fails naming it; a board showing that dashboard names the dashboard.
    assert failures[(CT.DASHBOARD, "102")].message == (
        "dashboard 102 needs folder 12, which is in the backup but not yet restored")
    assert all(e.type == "MissingDependency" for e in failures.values())
    assert len(summary.results) == len(all_keys(restorer.backup)) - len(summary.failures)
    assert_restored(fake, restorer.idmap, CT.DASHBOARD, restorer.backup.get(CT.DASHBOARD, "101").data)


def test_each_type_restored_by_a_fresh_restorer_as_dagster_runs_do(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """Each Dagster run builds its own Restorer: nothing may rely on what an earlier one learned."""
    fake.load_backup(sample_backup)
    fake.remove("users", "5")
    fake.remove("dashboards", "101")
    for ct in TYPE_ORDER:
        restorer = make_restorer(sample_backup, same_instance=True)
        summary = restore_many(restorer, [(ct, row.id) for row in restorer.backup.rows(ct)], workers=4)
        assert summary.failures == [], [f.error.message for f in summary.failures]
    final = make_restorer(sample_backup, same_instance=True)
    assert_all_restored(fake, final)
    assert {r.action for r in restore_many(final, all_keys(final.backup)).results} <= {Action.UNCHANGED, Action.SKIPPED}


def test_a_create_whose_answer_was_lost_is_not_duplicated(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """The POST reached Looker but the connection dropped: the dashboard is looked for and adopted, not re-sent."""
    from lookervault_core.testing.fake_looker import DropConnection

    fake.load_backup(sample_backup)
    fake.remove("dashboards", "101")
    fake.inject("POST /dashboards", DropConnection(after_processing=True), times=1)
    restorer = make_restorer(sample_backup, same_instance=True)
    result = restorer.restore(CT.DASHBOARD, "101")
    assert [d["title"] for d in fake.all("dashboards").values()].count("Sales Overview") == 1
    assert "already had it" in result.message
    assert result.action is Action.CREATED
    assert [r.status for r in fake.requests if (r.method, r.path) == ("POST", "/dashboards")] == [0]
    tiles = restorer.backup.get(CT.DASHBOARD, "101").data["dashboard_elements"]
    assert len(_by(fake, "dashboard_elements", "dashboard_id", str(result.destination_id))) == len(tiles)  # type: ignore[arg-type]


def test_an_item_another_run_restored_meanwhile_is_not_created_twice(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """A batch reads the id map once (`IdMap.load`); a run beside it that restores the same dashboard meanwhile
    must be seen before creating (Looker takes a second dashboard of the same title), tiles included."""
    early = make_restorer(sample_backup)
    beside = make_restorer(sample_backup)
    # (Explores are only verified, against deployed LookML the fake lacks.)
    after = {CT.DASHBOARD, CT.BOARD, CT.SCHEDULED_PLAN, CT.EXPLORE}
    assert restore_many(beside, [key for key in all_keys(beside.backup) if key[0] not in after], workers=4).failures == []
    early.idmap.load()  # as restore_many does at its start
    dashboard = "101"
    assert beside.restore(CT.DASHBOARD, dashboard).action is Action.CREATED
    made = {**fake.all("dashboard_elements")}
    again = early.restore(CT.DASHBOARD, dashboard)
    assert again.action is Action.UNCHANGED, again.message
    assert again.destination_id == beside.idmap.get("dashboard", dashboard)
    assert len(fake.all("dashboards")) == 1
    assert fake.all("dashboard_elements") == made  # its tiles neither made again nor changed


def test_a_user_already_on_the_destination_is_matched_by_exact_email(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    from lookervault_core.testing.backups import build_backup

    user = {"id": "77", "first_name": "Ann", "last_name": "Lee", "email": "ann_lee@example.com"}
    backup = build_backup(tmp_path / "u.sqlite", [(CT.USER, user)])
    fake.put("users", {"id": "500", "first_name": "Decoy", "email": "annxlee@example.com"})  # "_" is a wildcard
    existing = fake.put("users", {"id": "501", "first_name": "Old name", "email": "ann_lee@example.com"})
    result = make_restorer(backup).restore(CT.USER, "77")
    assert (result.action, result.destination_id) == (Action.UPDATED, str(existing["id"]))
    assert fake.get("users", str(existing["id"]))["first_name"] == "Ann"  # type: ignore[index]
    assert fake.get("users", "500")["first_name"] == "Decoy"  # type: ignore[index]
