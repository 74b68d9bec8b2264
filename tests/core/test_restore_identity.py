"""Safe by default: nothing is written to an object that merely shares an id with a backup item.

A LookerVault backup does not record its instance. Restored without
`--source-instance` into an instance that has other objects at the backup's
ids, restore must establish that a live object is the backup's own before it
writes to it (created_at, else the natural key) and otherwise map or create.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from lookervault_core.content_types import ContentType as CT
from lookervault_core.content_types import spec
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.restore.payload import body_from
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
    before = {(ct, item_id): _stored(fake, ct, item_id) for ct in CT if ct not in (CT.EXPLORE, CT.LOOKML_MODEL)
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
