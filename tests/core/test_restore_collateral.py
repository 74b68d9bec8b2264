"""Restore leaves nothing broken behind (issue 7): each test checks the fake's final state.

Every test here failed before its fix: root folders failed to deserialise, the
folder lookup renamed a sibling, set_user_roles dropped newer roles, writes to
externally managed access were attempted, schedules lost secrets, tabs and
owner, nested read-only fields were sent, and 405/409 were failures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.errors import MissingDependency
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.testing.backups import IdForm, build_backup, lookervault_backup_items, orphan_plan
from lookervault_core.testing.fake_looker import DropConnection, FakeLooker

MakeRestorer = Callable[..., Restorer]


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    return build_backup(tmp_path / "lookervault.sqlite", lookervault_backup_items())


@pytest.fixture
def loaded(fake: FakeLooker, backup: Path, make_restorer: MakeRestorer) -> Restorer:
    """The fake holds the backup's own instance; restore maps ids to themselves."""
    fake.load_backup(backup)
    return make_restorer(backup, same_instance=True)


# 1 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("id_form", ["raw", "prefixed"])
def test_root_and_personal_folders_are_mapped_never_written(
    fake: FakeLooker, tmp_path: Path, make_restorer: MakeRestorer, id_form: IdForm
) -> None:
    backup = build_backup(tmp_path / f"{id_form}.sqlite", lookervault_backup_items(), id_form=id_form)
    restorer = make_restorer(backup)  # another instance: nothing is mapped yet
    before = fake.all("folders")
    for folder_id in ("1", "2"):
        result = restorer.restore(CT.FOLDER, folder_id)
        assert (result.action, result.destination_id) == (Action.SKIPPED, folder_id)
        assert restorer.idmap.resolve("folder", folder_id) == folder_id
    assert fake.all("folders") == before


# 2 -------------------------------------------------------------------------------------


def test_a_folder_never_takes_over_its_wildcard_similar_sibling(fake: FakeLooker, loaded: Restorer) -> None:
    fake.remove("folders", "14")  # "Q1_2024" is gone; "Q1-2024" matches it in Looker's search
    result = loaded.restore(CT.FOLDER, "14")
    assert result.action is Action.CREATED
    assert fake.get("folders", "15")["name"] == "Q1-2024"  # type: ignore[index]
    created = fake.get("folders", str(result.destination_id))
    assert created is not None and (created["name"], created["parent_id"]) == ("Q1_2024", "1")


# 3 -------------------------------------------------------------------------------------


def test_roles_granted_after_the_backup_stay_unless_exact_access(
    fake: FakeLooker, backup: Path, loaded: Restorer, make_restorer: MakeRestorer
) -> None:
    alice = fake.get("users", "5")
    assert alice is not None
    fake.put("users", {"id": "5", "role_ids": ["8"], "first_name": "Alicia"})  # role 7 removed, 8 granted
    assert loaded.restore(CT.USER, "5").action is Action.UPDATED
    assert sorted(fake.get("users", "5")["role_ids"]) == ["7", "8"]  # type: ignore[index, arg-type]
    assert fake.get("users", "5")["first_name"] == "Alice"  # type: ignore[index]

    exact = make_restorer(backup, same_instance=True, exact_access=True)
    assert exact.restore(CT.USER, "5").action is Action.UPDATED
    assert fake.get("users", "5")["role_ids"] == ["7"]  # type: ignore[index]


# 4 -------------------------------------------------------------------------------------


def test_access_managed_outside_looker_is_left_to_the_identity_provider(fake: FakeLooker, loaded: Restorer) -> None:
    # Alice left the externally managed group 5 and her roles moved to the directory;
    # this instance (Google Cloud core) refuses credentials_email writes.
    fake.put("users", {"id": "5", "group_ids": ["1", "3"], "role_ids": [], "roles_externally_managed": True,
                       "credentials_email": {"email": "alice@corp.example.com"}})
    fake.email_credentials_denied = True
    result = loaded.restore(CT.USER, "5")
    assert result.action is Action.UNCHANGED
    alice = fake.get("users", "5")
    assert alice is not None
    assert (alice["group_ids"], alice["role_ids"], alice["email"]) == (["1", "3"], [], "alice@corp.example.com")
    assert "Okta Admins (5) is managed outside Looker" in result.message
    assert "roles_externally_managed" in result.message
    assert "denied credentials_email" in result.message


# 5 -------------------------------------------------------------------------------------


def test_a_schedule_update_keeps_live_destination_secrets(fake: FakeLooker, loaded: Restorer) -> None:
    plan = fake.get("scheduled_plans", "402")
    assert plan is not None
    [sftp] = plan["scheduled_plan_destination"]  # type: ignore[misc]
    fake.put("scheduled_plans", {"id": "402", "crontab": "0 0 * * *", "scheduled_plan_destination": [
        {**sftp, "format": "txt", "secret_parameters": '{"password":"hunter2"}'}]})
    result = loaded.restore(CT.SCHEDULED_PLAN, "402")
    assert result.action is Action.UPDATED
    assert fake.get("scheduled_plans", "402")["crontab"] == "0 6 * * *"  # type: ignore[index]
    # Re-sending the backup's destination would wipe the password: it is left as it is, and said.
    assert fake.secret_parameters("402") == ['{"password":"hunter2"}']
    assert fake.get("scheduled_plans", "402")["scheduled_plan_destination"][0]["format"] == "txt"  # type: ignore[index]
    assert "destinations left as they are" in result.message


def test_schedule_tabs_point_at_the_restored_dashboard_layouts(fake: FakeLooker, backup: Path,
                                                               make_restorer: MakeRestorer) -> None:
    restorer = make_restorer(backup)  # an empty instance: every layout gets a new id
    keys = [(ct, row.id) for ct in CT for row in restorer.backup.rows(ct) if ct is not CT.EXPLORE]
    from lookervault_core.graph import TYPE_ORDER
    keys.sort(key=lambda k: TYPE_ORDER.index(k[0]))
    summary = restore_many(restorer, keys, workers=1)
    assert [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures] == []
    tab = restorer.idmap.resolve("dashboard_layout", "3001")
    assert tab is not None and tab != "3001"
    plan = fake.get("scheduled_plans", str(restorer.idmap.resolve("scheduled_plan", "402")))
    assert plan is not None and plan["tab_ids"] == [tab]
    layout = fake.get("dashboard_layouts", tab)
    assert layout is not None and layout["dashboard_id"] == restorer.idmap.resolve("dashboard", "101")


def test_a_schedule_whose_owner_is_gone_fails_naming_the_owner(fake: FakeLooker, tmp_path: Path,
                                                               make_restorer: MakeRestorer) -> None:
    backup = build_backup(tmp_path / "orphan.sqlite", [*lookervault_backup_items(), orphan_plan()])
    fake.load_backup(backup)
    fake.remove("scheduled_plans", "403")
    restorer = make_restorer(backup, same_instance=True)
    with pytest.raises(MissingDependency, match="Carol Departed"):
        restorer.restore(CT.SCHEDULED_PLAN, "403")
    assert [p for p in fake.all("scheduled_plans").values() if p["name"] == "Carol's weekly"] == []


# 6 -------------------------------------------------------------------------------------


def test_nested_read_only_fields_are_not_sent(fake: FakeLooker, loaded: Restorer) -> None:
    fake.remove("looks", "201")  # the strict fake answers 422 to any read-only field, nested ones too
    result = loaded.restore(CT.LOOK, "201")
    assert result.action is Action.CREATED
    look = fake.get("looks", str(result.destination_id))
    assert look is not None
    assert look["certification_metadata"]["notes"] == "Checked by finance"  # type: ignore[index]
    assert look["certification_metadata"]["certification_status"] == "certified"  # type: ignore[index]


# 7 -------------------------------------------------------------------------------------


def test_a_set_built_in_on_the_destination_is_skipped_on_405(fake: FakeLooker, loaded: Restorer) -> None:
    fake.put("permission_sets", {"id": "4", "built_in": True, "permissions": ["access_data"]})
    result = loaded.restore(CT.PERMISSION_SET, "4")
    assert result.action is Action.SKIPPED and result.destination_id == "4"
    assert "405" in result.message
    assert fake.get("permission_sets", "4")["permissions"] == ["access_data"]  # type: ignore[index]


def test_a_create_whose_answer_is_lost_adopts_the_first_attempt(fake: FakeLooker, backup: Path,
                                                                 make_restorer: MakeRestorer) -> None:
    restorer = make_restorer(backup)
    # The first create happens but its answer is lost: it is looked for, found, and not sent again.
    fake.inject("POST /groups", DropConnection(after_processing=True))
    result = restorer.restore(CT.GROUP, "3")
    assert result.action is Action.CREATED
    assert [r.status for r in fake.requests if (r.method, r.path) == ("POST", "/groups")] == [0]
    named = [g for g in fake.all("groups").values() if g["name"] == "Sales Team"]
    assert [g["id"] for g in named] == [result.destination_id]
    assert "already had it" in result.message


def test_the_all_users_group_is_mapped_and_new_users_join_it(fake: FakeLooker, backup: Path,
                                                              make_restorer: MakeRestorer) -> None:
    restorer = make_restorer(backup)
    assert restorer.restore(CT.GROUP, "1").destination_id == "1"
    for ct, item in ((CT.PERMISSION_SET, "4"), (CT.MODEL_SET, "3"), (CT.ROLE, "7"), (CT.GROUP, "3"),
                     (CT.GROUP, "5")):
        restorer.restore(ct, item)
    user = restorer.restore(CT.USER, "5")
    assert user.action is Action.CREATED
    assert "1" in fake.get("users", str(user.destination_id))["group_ids"]  # type: ignore[index, operator]


# 8 -------------------------------------------------------------------------------------


def test_an_embed_user_maps_to_the_embed_user_with_its_external_id(fake: FakeLooker, backup: Path,
                                                                    make_restorer: MakeRestorer) -> None:
    restorer = make_restorer(backup)
    missing = restorer.restore(CT.USER, "30")
    assert (missing.action, missing.destination_id) == (Action.SKIPPED, None)
    assert "not restorable through the API" in missing.message
    fake.put("users", {"id": "55", "first_name": "Embed", "is_embed_user": True,
                       "credentials_embed": [{"external_user_id": "cust-42", "type": "embed", "id": "9"}]})
    users_before = fake.all("users")
    found = restorer.restore(CT.USER, "30")
    assert (found.action, found.destination_id) == (Action.SKIPPED, "55")
    assert restorer.idmap.resolve("user", "30") == "55"
    assert fake.all("users") == users_before
