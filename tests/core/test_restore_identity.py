"""Safe by default: nothing is written to an object that merely shares an id with a backup item.

A LookerVault backup does not record its instance. Restored without
`--source-instance` into an instance that has other objects at the backup's
ids, restore must establish that a live object is the backup's own before it
writes to it (created_at, else the natural key) and otherwise map or create.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.content_types import spec
from lookervault_core.errors import LookervaultError
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.restore.payload import body_from
from lookervault_core.testing.backups import build_backup, every_type_items
from lookervault_core.testing.fake_looker import FakeLooker

from .test_restore import all_keys, assert_all_restored, deploy_lookml, restore_all, writes

_OLD = "2019-05-06T07:08:09.000+00:00"

#: Another instance's own objects, at the sample backup's ids.
FOREIGN: list[tuple[CT, dict[str, object]]] = [
    (CT.PERMISSION_SET, {"id": "4", "name": "Viewer", "permissions": ["see_looks"]}),
    (CT.MODEL_SET, {"id": "2", "name": "Finance Models", "models": ["finance"]}),
    (CT.MODEL_SET, {"id": "3", "name": "Ops Models", "models": ["ops"]}),
    (CT.ROLE, {"id": "7", "name": "Finance Role", "permission_set_id": "4", "model_set_id": "2"}),
    (CT.GROUP, {"id": "3", "name": "Finance Team"}),
    (CT.USER, {"id": "5", "first_name": "Zed", "last_name": "Other", "email": "zed@other.example.com",
               "role_ids": ["7"], "group_ids": ["3"]}),
    (CT.FOLDER, {"id": "11", "name": "Finance", "parent_id": "1", "created_at": _OLD}),
    (CT.FOLDER, {"id": "12", "name": "Ops", "parent_id": "1", "created_at": _OLD}),
    (CT.FOLDER, {"id": "13", "name": "Ledger", "parent_id": "11", "created_at": _OLD}),
    (CT.LOOK, {"id": "201", "title": "Revenue", "folder_id": "11", "created_at": _OLD,
               "query": {"id": "q-rev", "model": "finance", "view": "ledger", "fields": ["ledger.total"]}}),
    (CT.DASHBOARD, {"id": "101", "title": "Finance KPIs", "folder_id": "11", "created_at": _OLD}),
    (CT.BOARD, {"id": "601", "title": "Finance board", "created_at": _OLD}),
]


def _stored(fake: FakeLooker, ct: CT, item_id: str) -> dict[str, object]:
    live = fake.get(ct.plural, item_id)
    assert live is not None, f"{ct.label} {item_id} is gone"
    keep = spec(ct).writable | {"email", "role_ids", "group_ids", "permission_set_id", "model_set_id", "created_at"}
    if ct is CT.MODEL_SET and live.get("all_access"):
        keep -= {"models"}  # derived: every model the instance has
    return body_from(live, keep)


def test_an_instance_whose_own_objects_share_the_backups_ids_keeps_every_field(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    for ct, obj in FOREIGN:
        fake.put(ct.plural, obj)
    # Every object the instance has before: the foreign ones and its own seeded content
    # (Shared and Users folders, the API user, the Admin role and sets, All Users).
    before = {(ct, item_id): _stored(fake, ct, item_id) for ct in CT if ct.in_lookervault and ct not in (CT.EXPLORE, CT.LOOKML_MODEL)
              for item_id in fake.all(ct.plural)}
    assert len(before) > len(FOREIGN)
    # No --source-instance: the backup is taken to be this instance's own.
    restorer = make_restorer(sample_backup, same_instance=True)
    restore_all(restorer, expected_failures=frozenset({(CT.EXPLORE, "thelook::orders")}))
    for (ct, item_id), was in before.items():
        assert _stored(fake, ct, item_id) == was, f"{ct.label} {item_id} was written to"
    # Each backup item got a counterpart of its own instead, equal to the backup.
    for ct, obj in FOREIGN:
        assert restorer.idmap.get(ct.label, str(obj["id"])) not in (None, str(obj["id"])), ct
    deploy_lookml(fake)
    assert_all_restored(fake, restorer)
    fake.clear_requests()
    again = restore_many(restorer, all_keys(restorer.backup), workers=4)
    assert again.failures == [] and writes(fake) == []


def test_a_stale_mapping_is_dropped_and_the_item_resolved_afresh(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """The destination was reset: the map points at objects that are gone."""
    fake.load_backup(sample_backup)
    restorer = make_restorer(sample_backup, same_instance=True)
    restorer.idmap.set("folder", "11", "9911")       # folder 11 lives on at its own id
    restorer.idmap.set("dashboard", "101", "9101")   # dashboard 101 too
    fake.remove("looks", "201")
    restorer.idmap.set("look", "201", "9201")        # look 201 is gone altogether
    restorer.idmap.set("query", "301", "q-gone")     # and so is the query the map named for it
    look = restorer.restore(CT.LOOK, "201")
    assert look.action is Action.CREATED and look.destination_id not in ("201", "9201")
    assert restorer.idmap.get("look", "201") == look.destination_id
    assert fake.get("looks", str(look.destination_id))["query_id"] == "301"  # type: ignore[index]
    assert restorer.idmap.get("query", "301") is None
    result = restorer.restore(CT.DASHBOARD, "101")
    assert (result.action, result.destination_id) == (Action.UPDATED, "101")  # its look tile re-pointed
    assert "no longer has" in result.message
    assert restorer.idmap.get("folder", "11") is None and restorer.idmap.get("dashboard", "101") is None


def test_a_renamed_object_on_its_own_instance_is_still_recognised(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """Identity rests on created_at where Looker has it, so a rename is repaired in place."""
    fake.load_backup(sample_backup)
    live: Mapping[str, object] | None = fake.get("dashboards", "101")
    assert live is not None
    fake.put("dashboards", {**live, "title": "Renamed by someone"})
    result = make_restorer(sample_backup, same_instance=True).restore(CT.DASHBOARD, "101")
    assert (result.action, result.destination_id) == (Action.UPDATED, "101")
    assert fake.get("dashboards", "101")["title"] == "Sales Overview"  # type: ignore[index]


def test_into_an_empty_instance_what_one_run_mapped_by_role_holds_for_the_next(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """Each Dagster run restores one type with a Restorer of its own, reading the id map afresh.

    An empty instance's Shared folder is 1, as in the backup, and a personal
    folder Looker makes with a restored user may get the number its backup
    counterpart had: both are mapped by role or by user, not by identity
    (their created_at differs), so the map must say so for the next run.
    """
    backup = build_backup(tmp_path / "every.sqlite", every_type_items())
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook", "allowed_db_connection_names": ["thelook_db"],
                               "explores": [{"name": "orders", "label": "Orders", "hidden": False}]})
    failures: list[str] = []
    deferred: list[str] = []

    def run(ct: CT, ids: list[str]) -> None:
        restorer = make_restorer(backup, same_instance=True)
        for item_id in ids:
            try:
                result = restorer.restore(ct, item_id)
            except LookervaultError as exc:
                failures.append(f"{ct.label} {item_id}: {exc}")
            else:
                if result.deferred:
                    deferred.append(item_id)

    with BackupReader(backup) as reader:
        order = {ct: reader.ids(ct) for ct in TYPE_ORDER}
    # One user after another, the last first: the fake numbers personal folders in order,
    # so Beth's gets 6, the number of hers in the backup.
    order[CT.USER] = ["4", "3", "2", "1"]
    for ct in TYPE_ORDER:
        run(ct, order[ct])
    second, deferred[:] = list(deferred), []
    run(CT.USER, second)  # the second pass, as `lookervault restore` makes it
    assert deferred == []
    users = {str(u.get("email")): u for u in fake.all("users").values()}
    assert users["beth.lopez@example.com"]["personal_folder_id"] == "6"
    assert failures == []
    homes = {email: u.get("home_folder_id") for email, u in users.items() if email != "None"}
    assert homes == {"alan.johnson@example.com": users["alan.johnson@example.com"]["personal_folder_id"],
                     "beth.lopez@example.com": "1",
                     "chen.wu@example.com": users["chen.wu@example.com"]["personal_folder_id"],
                     "dana.kim@example.com": "1"}
    in_bethes = [d["title"] for d in fake.all("dashboards").values() if d.get("folder_id") == "6"]
    assert in_bethes == ["Beth's desk"]
