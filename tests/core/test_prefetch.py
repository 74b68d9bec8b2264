"""Deciding drift from bulk listings: an unchanged look needs no GET of its own, a changed one is still caught."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.restore.prefetch import listing_fields, read_listing
from lookervault_core.testing.backups import build_backup, build_synthetic_backup, sample_items
from lookervault_core.testing.fake_looker import FakeLooker

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
_SETUP = (CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER, CT.FOLDER)


@pytest.fixture(autouse=True)
def _lookml_deployed(fake: FakeLooker) -> None:
    """The destination has the backups' LookML deployed: queries of `thelook` can be created."""
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook"})


@pytest.fixture
def many_looks(tmp_path: Path) -> Path:
    return build_synthetic_backup(tmp_path / "looks.sqlite", folders=6, looks=40, dashboards=0,
                                  tiles_per_dashboard=0)


def _keys(reader: BackupReader, *types: CT) -> list[tuple[CT, str]]:
    return [(ct, row.id) for ct in TYPE_ORDER if ct in types for row in reader.rows(ct)]


def _restored(make_restorer: Callable[..., Restorer], backup: Path, *types: CT) -> dict[str, Action]:
    restorer = make_restorer(backup)
    summary = restore_many(restorer, _keys(restorer.backup, *types), workers=4)
    assert summary.failures == []
    return {r.source_id: r.action for r in summary.results}


def _per_item_reads(fake: FakeLooker, collection: str) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path.startswith(f"/{collection}/")
               and r.path != f"/{collection}/search")


def test_an_unchanged_pass_reads_looks_in_bulk_and_writes_nothing(
    fake: FakeLooker, many_looks: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restored(make_restorer, many_looks, *_SETUP, CT.LOOK)
    fake.clear_requests()
    actions = _restored(make_restorer, many_looks, CT.LOOK)
    assert set(actions.values()) == {Action.UNCHANGED} and len(actions) == 40
    assert _per_item_reads(fake, "looks") == 0
    assert _per_item_reads(fake, "queries") == 0  # immutable queries, recorded when created
    assert [r for r in fake.requests if r.method in WRITES and not r.path.endswith("login")] == []
    assert len(fake.requests) <= 10  # the listing's page, a login, probes of a few folders and the owner


def test_drift_seen_in_the_listing_is_restored_and_a_missing_look_recreated(
    fake: FakeLooker, many_looks: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restored(make_restorer, many_looks, *_SETUP, CT.LOOK)
    restorer = make_restorer(many_looks)
    edited, gone = restorer.idmap.get("look", "10003"), restorer.idmap.get("look", "10007")
    assert edited is not None and gone is not None
    live = fake.get("looks", edited)
    assert live is not None
    fake.put("looks", {**live, "description": "edited in Looker"})
    fake.remove("looks", gone)
    actions = _restored(make_restorer, many_looks, CT.LOOK)
    assert actions["10003"] is Action.UPDATED and actions["10007"] is Action.CREATED
    assert [a for s, a in actions.items() if s not in ("10003", "10007")] == [Action.UNCHANGED] * 38
    assert fake.get("looks", edited)["description"] != "edited in Looker"  # type: ignore[index]
    assert len(fake.all("looks")) == 40


def test_a_look_written_after_the_listing_is_read_again(
    fake: FakeLooker, many_looks: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restored(make_restorer, many_looks, *_SETUP, CT.LOOK)
    restorer = make_restorer(many_looks)
    dest = restorer.idmap.get("look", "10005")
    assert dest is not None
    live = fake.get("looks", dest)
    assert live is not None
    fake.put("looks", {**live, "title": "renamed in Looker"})
    assert restorer.prefetch(CT.LOOK) == 40
    assert restorer.restore(CT.LOOK, "10005").action is Action.UPDATED
    # The listing still shows the renamed title; a second restore must not believe it.
    fake.clear_requests()
    assert restorer.restore(CT.LOOK, "10005").action is Action.UNCHANGED
    assert [r.path for r in fake.requests if r.method == "PATCH"] == []


# --- people, sets and schedules ----------------------------------------------------------------

_MANY = 22  # over batch.PREFETCH_MIN, so a batch lists each type first
_PEOPLE = (CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER)
_COLLECTIONS = {CT.PERMISSION_SET: "permission_sets", CT.MODEL_SET: "model_sets", CT.ROLE: "roles",
                CT.GROUP: "groups", CT.USER: "users", CT.SCHEDULED_PLAN: "scheduled_plans"}


def _clones(n: int) -> list[tuple[CT, dict[str, object]]]:
    """`n` permission sets, model sets, roles, groups, users and schedules (of look 201, owned by user 5)."""
    sample = {(ct, str(d.get("id"))): d for ct, d in sample_items()}
    items: list[tuple[CT, dict[str, object]]] = []
    for k in range(n):
        pset = {**copy.deepcopy(sample[(CT.PERMISSION_SET, "4")]), "id": str(1000 + k), "name": f"Analyst {k}"}
        mset = {**copy.deepcopy(sample[(CT.MODEL_SET, "2")]), "id": str(2000 + k), "name": f"Models {k}"}
        role = {**copy.deepcopy(sample[(CT.ROLE, "7")]), "id": str(3000 + k), "name": f"Role {k}",
                "permission_set": copy.deepcopy(pset), "model_set": copy.deepcopy(mset)}
        group = {**copy.deepcopy(sample[(CT.GROUP, "3")]), "id": str(4000 + k), "name": f"Team {k}"}
        user = copy.deepcopy(sample[(CT.USER, "5")])
        email = f"user{k}@example.com"
        user.update(id=str(5000 + k), first_name=f"User{k}", last_name="Tester", email=email,
                    group_ids=[str(4000 + k)], role_ids=[str(3000 + k)], home_folder_id=None,
                    personal_folder_id=None)
        user["credentials_email"] = {**user["credentials_email"], "email": email, "user_id": str(5000 + k)}  # type: ignore[dict-item]
        plan = copy.deepcopy(sample[(CT.SCHEDULED_PLAN, "401")])
        plan.update(id=str(6000 + k), name=f"Plan {k}", dashboard_id=None, look_id="201",
                    crontab=f"0 {k % 24} * * *")
        plan["scheduled_plan_destination"] = [{
            **plan["scheduled_plan_destination"][0],  # type: ignore[index]
            "id": str(7000 + k), "scheduled_plan_id": str(6000 + k), "address": f"team{k}@example.com"}]
        items += [(CT.PERMISSION_SET, pset), (CT.MODEL_SET, mset), (CT.ROLE, role), (CT.GROUP, group),
                  (CT.USER, user), (CT.SCHEDULED_PLAN, plan)]
    return items


@pytest.fixture
def many_people(tmp_path: Path) -> Path:
    wanted = {*_PEOPLE, CT.LOOKML_MODEL, CT.EXPLORE, CT.FOLDER, CT.LOOK}
    base = [(ct, d) for ct, d in sample_items() if ct in wanted]
    return build_backup(tmp_path / "people.sqlite", [*base, *_clones(_MANY)])


def _item_reads(fake: FakeLooker, content_type: CT) -> list[str]:
    """GETs of single objects of a type (`/users/5`), not of its listing or search."""
    collection = _COLLECTIONS[content_type]
    return [r.path for r in fake.requests if r.method == "GET" and r.path.startswith(f"/{collection}/")
            and r.path.count("/") == 2 and r.path != f"/{collection}/search"]


def _listings(fake: FakeLooker, content_type: CT) -> list[str]:
    """The type's bulk listings (not the handlers' own lookups by name, which ask for less)."""
    collection = _COLLECTIONS[content_type]
    return [r.path for r in fake.requests if r.method == "GET" and r.path == f"/{collection}"
            and r.query.get("fields") == listing_fields(content_type)]


def _restore_all(make_restorer: Callable[..., Restorer], backup: Path) -> None:
    restorer = make_restorer(backup)
    # LookML models and explores come from the fake's own LookML, as in the tests above.
    summary = restore_many(restorer, _keys(restorer.backup, *_PEOPLE, CT.FOLDER, CT.LOOK, CT.SCHEDULED_PLAN),
                           workers=4)
    assert summary.failures == []


def _restored_of(make_restorer: Callable[..., Restorer], backup: Path,
                 *types: CT) -> dict[tuple[CT, str], Action]:
    restorer = make_restorer(backup)
    summary = restore_many(restorer, _keys(restorer.backup, *types), workers=4)
    assert summary.failures == []
    return {(r.content_type, r.source_id): r.action for r in summary.results}


def test_an_unchanged_pass_lists_people_sets_and_schedules_in_bulk(
    fake: FakeLooker, many_people: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restore_all(make_restorer, many_people)
    fake.clear_requests()
    actions = _restored_of(make_restorer, many_people, *_PEOPLE, CT.SCHEDULED_PLAN)
    # The built-in Admin permission set is mapped by name and never written: skipped.
    assert {k for k, a in actions.items() if a is not Action.UNCHANGED} == {(CT.PERMISSION_SET, "1")}
    for content_type in (*_PEOPLE, CT.SCHEDULED_PLAN):
        assert _item_reads(fake, content_type) == [], content_type
        assert len(_listings(fake, content_type)) == 1, content_type
    assert [r for r in fake.requests if r.method in WRITES and not r.path.endswith("login")] == []


def test_drift_in_people_sets_and_schedules_is_still_found(
    fake: FakeLooker, many_people: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restore_all(make_restorer, many_people)
    restorer = make_restorer(many_people)
    idmap = restorer.idmap

    def dest(content_type: CT, source_id: str) -> str:
        found = idmap.get(content_type.label, source_id)
        assert found is not None
        return found

    def edit(content_type: CT, source_id: str, **fields: object) -> None:
        live = fake.get(_COLLECTIONS[content_type], dest(content_type, source_id))
        assert live is not None
        fake.put(_COLLECTIONS[content_type], {**live, **fields})

    edit(CT.PERMISSION_SET, "1003", permissions=["see_looks"])
    edit(CT.GROUP, "4004", name="Renamed in Looker")
    edit(CT.USER, "5005", group_ids=[])  # taken out of "Team 5"
    edit(CT.SCHEDULED_PLAN, "6006", crontab="0 23 * * 6")
    # Deleted through the API, which also takes it from its user's roles.
    restorer.client.plain_sdk.delete_role(dest(CT.ROLE, "3007"))
    fake.clear_requests()
    actions = _restored_of(make_restorer, many_people, *_PEOPLE, CT.SCHEDULED_PLAN)
    # Decided from the listings, one per type.
    assert all(len(_listings(fake, ct)) == 1 for ct in (*_PEOPLE, CT.SCHEDULED_PLAN))
    assert _item_reads(fake, CT.USER) == _item_reads(fake, CT.SCHEDULED_PLAN) == []
    changed = {k: a for k, a in actions.items() if a not in (Action.UNCHANGED, Action.SKIPPED)}
    assert changed == {(CT.PERMISSION_SET, "1003"): Action.UPDATED, (CT.GROUP, "4004"): Action.UPDATED,
                       (CT.USER, "5005"): Action.UPDATED, (CT.SCHEDULED_PLAN, "6006"): Action.UPDATED,
                       (CT.ROLE, "3007"): Action.CREATED, (CT.USER, "5007"): Action.UPDATED}
    assert fake.get("groups", dest(CT.GROUP, "4004"))["name"] == "Team 4"  # type: ignore[index]
    assert dest(CT.GROUP, "4005") in fake.get("users", dest(CT.USER, "5005"))["group_ids"]  # type: ignore[index, operator]
    assert fake.get("scheduled_plans", dest(CT.SCHEDULED_PLAN, "6006"))["crontab"] == "0 6 * * *"  # type: ignore[index]
    recreated = make_restorer(many_people).idmap.get("role", "3007")
    assert recreated in fake.get("users", dest(CT.USER, "5007"))["role_ids"]  # type: ignore[index, operator]


def test_a_user_missing_from_the_listing_is_read_by_its_own_get(
    fake: FakeLooker, many_people: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restore_all(make_restorer, many_people)
    restorer = make_restorer(many_people)
    assert restorer.prefetch(CT.USER) == len(fake.all("users"))
    user = restorer.idmap.get("user", "5002")
    assert user is not None
    restorer.unlist(CT.USER, user)  # as if created after the listing was taken
    live = fake.get("users", user)
    assert live is not None
    fake.put("users", {**live, "first_name": "Renamed"})
    fake.clear_requests()
    assert restorer.restore(CT.USER, "5002").action is Action.UPDATED
    assert f"/users/{user}" in _item_reads(fake, CT.USER)
    assert fake.get("users", user)["first_name"] == "User2"  # type: ignore[index]


def test_a_user_whose_groups_were_written_after_the_listing_is_read_again(
    fake: FakeLooker, many_people: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restore_all(make_restorer, many_people)
    restorer = make_restorer(many_people)
    user = restorer.idmap.get("user", "5003")
    assert user is not None
    live = fake.get("users", user)
    assert live is not None
    fake.put("users", {**live, "group_ids": []})
    restorer.prefetch(CT.USER)
    assert restorer.restore(CT.USER, "5003").action is Action.UPDATED
    # The listing still shows the user in no group; a second restore must not believe it.
    fake.clear_requests()
    assert restorer.restore(CT.USER, "5003").action is Action.UNCHANGED
    assert [r.path for r in fake.requests if r.method in WRITES] == []


def test_users_are_listed_page_by_page(
    fake: FakeLooker, many_people: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restore_all(make_restorer, many_people)
    restorer = make_restorer(many_people)
    fake.clear_requests()
    listed = read_listing(restorer.client, CT.USER, page_size=5)
    assert set(listed) == set(fake.all("users"))
    pages = [r for r in fake.requests if r.method == "GET" and r.path == "/users"]
    assert len(pages) == len(listed) // 5 + 1
    clones = [listed[dest] for dest in map(restorer.idmap.get, ["user"] * _MANY, [str(5000 + k) for k in range(_MANY)])
              if dest is not None]
    assert len(clones) == _MANY
    assert all(u["group_ids"] and u["role_ids"] and u["credentials_email"]["email"] for u in clones)  # type: ignore[index]
