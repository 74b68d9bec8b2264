"""Restore meets the answers real Looker instances were recorded giving (looker-api.md, "Recorded from real instances")."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.looker import LookerClient, RetryPolicy, connect
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.testing.backups import Item, build_backup, sample_items
from lookervault_core.testing.fake_looker import FakeLooker

from ..conftest import settings_for
from .test_restore import all_keys, assert_restored, deploy_lookml, restore_all, writes

Obj = dict[str, object]


def _item(items: list[Item], ct: CT, item_id: str) -> Obj:
    return next(d for c, d in items if c is ct and d.get("id") == item_id)


def _with_finance(items: list[Item]) -> list[Item]:
    """The sample plus a look (203) and a dashboard (103) with a tile on model `finance`, whose LookML nobody deployed."""
    look = copy.deepcopy(_item(items, CT.LOOK, "201"))
    query = {**look["query"], "id": "391", "model": "finance", "view": "budget"}  # type: ignore[dict-item]
    look.update(id="203", title="Budget by Month", query_id="391", query=query, model={"id": "finance"})
    tiles = {str(e["id"]): e for e in _item(items, CT.DASHBOARD, "101")["dashboard_elements"]}  # type: ignore[attr-defined]
    finance, kept, text = (copy.deepcopy(tiles[i]) for i in ("1002", "1002", "1003"))
    for tile, new_id in ((finance, "1031"), (kept, "1032"), (text, "1033")):
        tile.update(id=new_id, dashboard_id="103")
        tile.pop("result_maker", None)
        tile.pop("result_maker_id", None)
    finance.update(title="Budget", query_id="392", query={**finance["query"], "id": "392", "model": "finance"})
    dashboard = copy.deepcopy(_item(items, CT.DASHBOARD, "102"))
    dashboard.update(id="103", title="Budget Overview", slug="bUdG3t0v", dashboard_elements=[finance, kept, text],
                     dashboard_filters=[], dashboard_layouts=[])
    return [*items, (CT.LOOK, look), (CT.DASHBOARD, dashboard)]


def test_content_whose_model_looker_lacks_fails_alone_naming_it_and_the_preflight_names_it_first(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    backup = build_backup(tmp_path / "b.sqlite", _with_finance(sample_items()))
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook"})
    deploy_lookml(fake)
    fake.clear_requests()
    dry = make_restorer(backup, dry_run=True)
    preflight = restore_many(dry, all_keys(dry.backup), workers=4)
    assert writes(fake) == []
    assert preflight.lacking_models == {"finance": 2}
    failed = {(f.content_type, f.source_id): f.error for f in preflight.failures}
    assert set(failed) == {(CT.LOOK, "203"), (CT.DASHBOARD, "103")}

    real = restore_many(make_restorer(backup), all_keys(dry.backup), workers=4)
    errors = {(f.content_type, f.source_id): f.error for f in real.failures}
    assert set(errors) == set(failed)
    for error in errors.values():
        assert error.type == "MissingLookmlModel"
        assert "LookML model 'finance'" in error.message and "deploy the LookML project" in error.message
        assert error.details["needs"] == "lookml_model finance"
    # The rest is restored, the dashboard with its two other tiles.
    restorer = make_restorer(backup)
    for ct, item_id in all_keys(restorer.backup):
        if (ct, item_id) not in errors:
            assert_restored(fake, restorer.idmap, ct, restorer.backup.get(ct, item_id).data)
    assert [lk for lk in fake.all("looks").values() if lk["title"] == "Budget by Month"] == []
    budget = next(d for d in fake.all("dashboards").values() if d["title"] == "Budget Overview")
    assert sorted(str(e.get("title") or e.get("type")) for e in budget["dashboard_elements"]) == \
        sorted(str(t.get("title") or t.get("type")) for t in _item(_with_finance(sample_items()), CT.DASHBOARD,
                                                                   "103")["dashboard_elements"][1:])  # type: ignore[index]


def test_the_lookml_dashboards_folder_is_mapped_and_lookml_dashboards_reported(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    lookml_folder: Obj = {"id": "lookml", "name": "LookML Dashboards", "parent_id": None, "is_personal": False}
    lookml_dashboard: Obj = {"id": "thelook::business_pulse", "title": "Business Pulse", "folder_id": "lookml",
                             "model": {"id": "thelook"}}
    backup = build_backup(tmp_path / "b.sqlite", [(CT.FOLDER, lookml_folder), (CT.DASHBOARD, lookml_dashboard)])
    restorer = make_restorer(backup)
    folder = restorer.restore(CT.FOLDER, "lookml")
    assert (folder.action, folder.destination_id) == (Action.SKIPPED, "lookml")
    summary = restore_many(restorer, all_keys(restorer.backup))
    assert [(f.content_type, f.source_id) for f in summary.failures] == [(CT.DASHBOARD, "thelook::business_pulse")]
    assert "deploy the LookML project" in summary.failures[0].error.message
    assert writes(fake) == []
    fake.put("dashboards", {**lookml_dashboard, "slug": "bp"})  # its LookML deployed
    assert restorer.restore(CT.DASHBOARD, "thelook::business_pulse").action is Action.SKIPPED
    assert writes(fake) == []


def _sales_overview() -> Obj:
    return _item(sample_items(), CT.DASHBOARD, "101")


def test_a_slug_another_dashboard_holds_in_the_trash_is_left_to_it(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook"})
    other = fake.put("dashboards", {"title": "Someone else's", "folder_id": "1", "slug": "sRx8kqT2", "deleted": True,
                                    "created_at": "2020-01-01T00:00:00.000+00:00"})
    restore_all(make_restorer(sample_backup), expected_failures=frozenset({(CT.EXPLORE, "thelook::orders")}))
    restored = [d for d in fake.all("dashboards").values() if d["title"] == "Sales Overview"]
    assert len(restored) == 1 and restored[0]["slug"] != "sRx8kqT2" and not restored[0]["deleted"]
    assert fake.get("dashboards", str(other["id"]))["deleted"] is True  # type: ignore[index]


def test_the_backups_own_dashboard_in_the_trash_holding_the_slug_is_brought_back(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook"})
    own = _sales_overview()
    trashed = fake.put("dashboards", {"id": "900", "title": own["title"], "folder_id": "1", "slug": own["slug"],
                                      "created_at": own["created_at"], "deleted": True})
    restore_all(make_restorer(sample_backup), expected_failures=frozenset({(CT.EXPLORE, "thelook::orders")}))
    sales = [d for d in fake.all("dashboards").values() if d["title"] == "Sales Overview"]
    assert [d["id"] for d in sales] == [trashed["id"]]
    assert sales[0]["deleted"] is False and sales[0]["slug"] == own["slug"]
    assert len(sales[0]["dashboard_elements"]) == len(own["dashboard_elements"])  # type: ignore[arg-type]


@pytest.mark.parametrize("in_trash", [False, True], ids=["live", "in-the-trash"])
def test_a_409_on_update_writes_the_dashboard_without_the_slug(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer], in_trash: bool
) -> None:
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook"})
    restorer = make_restorer(sample_backup)
    restore_all(restorer, expected_failures=frozenset({(CT.EXPLORE, "thelook::orders")}))
    dest = restorer.idmap.get(CT.DASHBOARD.label, "101")
    assert dest is not None
    live = fake.get("dashboards", dest)
    assert live is not None
    fake.put("dashboards", {**live, "slug": "changedSlug", "title": "Edited", "deleted": in_trash})
    other = fake.put("dashboards", {"title": "Squatter", "folder_id": "1", "slug": "sRx8kqT2", "deleted": True})
    result = restorer.restore(CT.DASHBOARD, "101")
    assert result.action is Action.UPDATED and "written without it" in result.message
    after = fake.get("dashboards", dest)
    assert after is not None and after["title"] == "Sales Overview" and after["slug"] == "changedSlug"
    assert after["deleted"] is False
    assert fake.get("dashboards", str(other["id"]))["slug"] == "sRx8kqT2"  # type: ignore[index]


SYSTEM_IDS = {"shared": "801", "users": "709", "all_users": "49"}


@pytest.fixture
def other_instance() -> Iterator[tuple[FakeLooker, LookerClient]]:
    with FakeLooker(strict=True, system_ids=SYSTEM_IDS, first_id=5000) as looker:
        with connect(settings_for(looker), retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0, jitter=0.0)) as c:
            yield looker, c


def test_a_full_restore_into_an_instance_whose_system_ids_differ(
    other_instance: tuple[FakeLooker, LookerClient], tmp_path: Path
) -> None:
    from lookervault_core.backup import BackupReader
    from lookervault_core.idmap import IdMap

    fake, client = other_instance
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook"})
    deploy_lookml(fake)
    # As a backup of a real instance holds them: the system folders and the All Users group at 1, 2 and 1.
    items = sample_items()
    for ct, data in items:
        if ct is CT.USER:
            data["group_ids"] = ["1", *data["group_ids"]]  # type: ignore[misc]
    roots: list[Item] = [
        (CT.FOLDER, {"id": "1", "name": "Shared", "is_shared_root": True, "creator_id": "1"}),
        (CT.FOLDER, {"id": "2", "name": "Users", "is_users_root": True, "creator_id": "1"}),
        (CT.GROUP, {"id": "1", "name": "All Users", "include_by_default": True, "externally_managed": False}),
    ]
    backup = build_backup(tmp_path / "lv.sqlite", [*roots, *items])
    with BackupReader(backup) as reader, IdMap(tmp_path / "idmap.sqlite", "prod", client.settings.instance_id) as idmap:
        restorer = Restorer(client, reader, idmap)
        summary = restore_many(restorer, all_keys(reader), workers=4)
        failed = {(f.content_type, f.source_id): f.error.message for f in summary.failures}
        assert failed == {}
        assert idmap.get(CT.FOLDER.label, "1") == "801" and idmap.get(CT.FOLDER.label, "2") == "709"
        assert idmap.get(CT.GROUP.label, "1") == "49"
        for folder in ("11", "12"):
            assert fake.get("folders", str(idmap.get(CT.FOLDER.label, folder)))["parent_id"] == "801"  # type: ignore[index]
        for ct, item_id in all_keys(reader):
            assert_restored(fake, idmap, ct, reader.get(ct, item_id).data)
        fake.clear_requests()
        again = restore_many(restorer, all_keys(reader), workers=4)
        assert again.failures == [] and writes(fake) == []
