"""Folder access and user attributes: snapshot, restore into another instance, same-instance repair.

Server A is built through the real SDK: two groups and a user; a folder that
does not inherit, with view and edit access for the groups and the user, and
a folder inside it that inherits; a user attribute with two ranked group
values and a user's own value, and a hidden attribute whose values Looker
never returns. Its snapshot, restored into an empty server B (ids differ),
snapshots again to the same access and values once ids are mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import requests
from looker_sdk.sdk.api40 import models as m

from lookervault_core.backup import BackupItem, BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerClient, RetryPolicy, connect
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.snapshot import take_snapshot
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_core.testing.spec_check import find_spec, validate_requests, validate_response

from ..conftest import settings_for
from .test_restore import all_keys

Obj = Mapping[str, object]
_WRITES = {"POST", "PATCH", "PUT", "DELETE"}
SPEC = find_spec()


def _client(fake: FakeLooker) -> LookerClient:
    return connect(settings_for(fake), retry=RetryPolicy(attempts=2, initial_backoff=0.0, max_backoff=0.0, jitter=0.0))


def build_access_instance(server: FakeLooker) -> None:
    """Give `server` folder access and user attributes, through the SDK (see the module docstring)."""
    with _client(server) as client:
        sdk = client.sdk
        sales = sdk.create_group(m.WriteGroup(name="Sales"))
        finance = sdk.create_group(m.WriteGroup(name="Finance"))
        ann = sdk.create_user(m.WriteUser(first_name="Ann", last_name="Lee"))
        sdk.create_user_credentials_email(str(ann.id), m.WriteCredentialsEmail(email="ann@example.com"))
        sdk.add_group_user(str(sales.id), m.GroupIdForGroupUserInclusion(user_id=ann.id))
        shared = next(f for f in sdk.all_folders() if f.is_shared_root)
        team = sdk.create_folder(m.CreateFolder(name="Team", parent_id=str(shared.id)))
        sdk.create_folder(m.CreateFolder(name="Inner", parent_id=str(team.id)))
        cmid = str(team.content_metadata_id)
        sdk.update_content_metadata(cmid, m.WriteContentMeta(inherits=False))
        for group_id, user_id, permission in ((sales.id, None, m.PermissionType.view),
                                              (finance.id, None, m.PermissionType.edit),
                                              (None, ann.id, m.PermissionType.edit)):
            sdk.create_content_metadata_access(m.ContentMetaGroupUser(
                content_metadata_id=cmid, group_id=group_id, user_id=user_id, permission_type=permission))
        region = sdk.create_user_attribute(m.WriteUserAttribute(name="region", label="Region", type="string",
                                                                default_value="none", user_can_view=True))
        sdk.set_user_attribute_group_values(str(region.id), [
            m.UserAttributeGroupValue(group_id=finance.id, value="AMER"),
            m.UserAttributeGroupValue(group_id=sales.id, value="EMEA")])
        secret = sdk.create_user_attribute(m.WriteUserAttribute(name="db_password", label="DB password",
                                                                type="string", value_is_hidden=True))
        sdk.set_user_attribute_group_values(str(secret.id), [m.UserAttributeGroupValue(group_id=sales.id, value="s3")])
        sdk.set_user_attribute_user_value(str(ann.id), str(region.id), m.WriteUserAttributeWithValue(value="APAC"))
        sdk.set_user_attribute_user_value(str(ann.id), str(secret.id), m.WriteUserAttributeWithValue(value="pw"))


@pytest.fixture
def origin() -> Iterator[FakeLooker]:
    """Server A, holding folder access and user attributes."""
    with FakeLooker(strict=True, first_id=300) as server:
        build_access_instance(server)
        yield server


def snapshot(fake: FakeLooker, out: Path) -> Path:
    with _client(fake) as client:
        take_snapshot(client, out)
    return out


_NEW_TYPES = (CT.FOLDER_ACCESS, CT.USER_ATTRIBUTE, CT.USER_ATTRIBUTE_VALUE)


def _items(path: Path) -> dict[tuple[CT, str], Obj]:
    with BackupReader(path) as reader:
        out = {}
        for ct in _NEW_TYPES:
            for item in reader.items(ct):
                assert isinstance(item, BackupItem), item
                out[(ct, item.row.id)] = item.data
        return out


def _canonical(ct: CT, data: Obj, ref: Callable[[CT, object], object]) -> object:
    """What restore writes of an item, its ids resolved by `ref`."""
    def rows(key: str) -> list[Obj]:
        # Hidden values are write-only: never in a backup, so never restored (reported instead).
        value = data.get(key)
        return [v for v in value if isinstance(v, Mapping) and not v.get("value_is_hidden")] \
            if isinstance(value, list) else []

    if ct is CT.FOLDER_ACCESS:
        return {"inherits": data["inherits"], "accesses": sorted(
            ("" if a["group_id"] is None else str(ref(CT.GROUP, a["group_id"])),
             "" if a["user_id"] is None else str(ref(CT.USER, a["user_id"])), str(a["permission_type"]))
            for a in rows("accesses"))}
    if ct is CT.USER_ATTRIBUTE:
        keys = ("name", "label", "type", "default_value", "value_is_hidden", "user_can_view", "user_can_edit")
        return {**{k: data.get(k) for k in keys}, "group_values": [
            (ref(CT.GROUP, v["group_id"]), v["value"], v["rank"], v["value_is_hidden"]) for v in rows("group_values")]}
    return {"user": ref(CT.USER, data["user_id"]), "values": [
        (ref(CT.USER_ATTRIBUTE, v["user_attribute_id"]), v["name"], v["value"], v["value_is_hidden"])
        for v in rows("values")]}


def test_snapshot_restore_into_an_empty_instance_and_snapshot_again_agree(
    origin: FakeLooker, fake: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    a = _items(snapshot(origin, tmp_path / "a.sqlite"))
    # What A holds: the Team folder's own access, Inner inheriting, one custom attribute of
    # each kind (system ones left out), Ann's own values with the hidden one blank.
    team = next(d for (ct, _), d in a.items() if ct is CT.FOLDER_ACCESS and d["name"] == "Team")
    assert team["inherits"] is False and len(team["accesses"]) == 3  # type: ignore[arg-type]
    assert next(d for (ct, _), d in a.items() if ct is CT.FOLDER_ACCESS and d["name"] == "Inner")["inherits"] is True
    assert sorted(d["name"] for (ct, _), d in a.items() if ct is CT.USER_ATTRIBUTE) == ["db_password", "region"]
    region = next(d for (ct, _), d in a.items() if ct is CT.USER_ATTRIBUTE and d["name"] == "region")
    assert [(v["value"], v["rank"]) for v in region["group_values"]] == [("AMER", 1), ("EMEA", 2)]  # type: ignore[attr-defined]
    [ann] = [d for (ct, _), d in a.items() if ct is CT.USER_ATTRIBUTE_VALUE]
    assert sorted((v["name"], v["value"]) for v in ann["values"]) == [("db_password", None), ("region", "APAC")]  # type: ignore[attr-defined]

    restorer = make_restorer(tmp_path / "a.sqlite")  # another instance: every id mapped
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    assert summary.failures == [], [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures]
    b = _items(snapshot(fake, tmp_path / "b.sqlite"))
    idmap = restorer.idmap

    def mapped(ct: CT, source_id: object) -> object:
        return idmap.resolve(ct.label, str(source_id)) or f"unmapped {ct.label} {source_id}"

    for (ct, item_id), data in a.items():
        kind = {CT.FOLDER_ACCESS: CT.FOLDER, CT.USER_ATTRIBUTE: CT.USER_ATTRIBUTE, CT.USER_ATTRIBUTE_VALUE: CT.USER}[ct]
        dest = (ct, str(mapped(kind, item_id)))
        assert dest in b, f"{ct.label} {item_id} of A has no counterpart in B (mapped to {dest[1]})"
        assert _canonical(ct, data, mapped) == _canonical(ct, b[dest], lambda _ct, i: str(i)), f"{ct.label} {item_id}"
        if data.get("name") not in ("Shared", "Users"):  # system folders sit at 1 and 2 on both
            assert dest[1] != item_id  # the ids really differ between the two servers
    # Hidden values cannot be read back, so they were reported, not guessed.
    messages = " ".join(r.message for r in summary.results)
    assert "hidden" in messages


def _writes(fake: FakeLooker) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in _WRITES and not r.path.endswith("login")]


def revoke_access_and_change_a_group_value(server: FakeLooker) -> tuple[dict[str, str], dict[str, str], str]:
    """Revoke Sales' view of Team and set Finance's region to LATAM, through the SDK.

    Returns the group and attribute ids by name, and Team's content metadata id.
    """
    groups = {g["name"]: gid for gid, g in server.all("groups").items()}
    attributes = {a["name"]: aid for aid, a in server.all("user_attributes").items()}
    with _client(server) as client:
        sdk = client.sdk
        team = next(f for f in sdk.all_folders() if f.name == "Team")
        cmid = str(team.content_metadata_id)
        sales_access = next(a for a in sdk.all_content_metadata_accesses(cmid) if a.group_id == groups["Sales"])
        sdk.delete_content_metadata_access(str(sales_access.id))
        sdk.update_user_attribute_group_value(groups["Finance"], attributes["region"],
                                              m.UserAttributeGroupValue(value="LATAM"))
    return groups, attributes, cmid


def test_same_instance_repair_puts_back_revoked_access_and_a_changed_group_value_and_nothing_else(
    origin: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    backup = snapshot(origin, tmp_path / "a.sqlite")
    groups, attributes, cmid = revoke_access_and_change_a_group_value(origin)
    # The same instance: the backup's own ids, checked to be its own objects.
    writes = _restore_same_instance(origin, backup, tmp_path / "idmap.sqlite")

    assert sorted(writes) == sorted([
        "POST /content_metadata_access",
        f"PATCH /groups/{groups['Finance']}/attribute_values/{attributes['region']}",
    ])
    accesses = {(a["group_id"], a["user_id"], a["permission_type"])
                for a in origin.all("content_metadata_accesses").values() if a["content_metadata_id"] == cmid}
    assert (groups["Sales"], None, "view") in accesses and len(accesses) == 3
    values = {v["group_id"]: v["value"] for v in origin.all("user_attribute_group_values").values()
              if v["user_attribute_id"] == attributes["region"]}
    assert values == {groups["Finance"]: "AMER", groups["Sales"]: "EMEA"}
    # The hidden attribute's value, which the backup could not hold, is still there.
    hidden = [v["value"] for v in origin.all("user_attribute_group_values").values()
              if v["user_attribute_id"] == attributes["db_password"]]
    assert hidden == ["s3"]


def _restore_same_instance(fake: FakeLooker, backup: Path, idmap_path: Path, **options: bool) -> list[str]:
    """Restore the whole backup into the instance it came from; the writes it made."""
    fake.record_requests = True
    fake.clear_requests()
    with _client(fake) as client, BackupReader(backup) as reader:
        idmap = IdMap(idmap_path, client.settings.instance_id, client.settings.instance_id)
        try:
            summary = restore_many(Restorer(client, reader, idmap, **options), all_keys(reader), workers=2)
        finally:
            idmap.close()
    assert summary.failures == [], [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures]
    return _writes(fake)


def test_access_granted_since_the_backup_is_kept_and_removed_only_with_exact_access(
    origin: FakeLooker, tmp_path: Path
) -> None:
    backup = snapshot(origin, tmp_path / "a.sqlite")
    attributes = {a["name"]: aid for aid, a in origin.all("user_attributes").items()}
    with _client(origin) as client:
        sdk = client.sdk
        ops = sdk.create_group(m.WriteGroup(name="Ops"))
        cmid = str(next(f for f in sdk.all_folders() if f.name == "Team").content_metadata_id)
        granted = sdk.create_content_metadata_access(m.ContentMetaGroupUser(
            content_metadata_id=cmid, group_id=ops.id, permission_type=m.PermissionType.edit))
        sdk.update_user_attribute_group_value(str(ops.id), attributes["region"], m.UserAttributeGroupValue(value="X"))

    def region_values() -> list[tuple[object, object]]:
        return [(v["group_id"], v["value"]) for v in sorted(
            (v for v in origin.all("user_attribute_group_values").values()
             if v["user_attribute_id"] == attributes["region"]), key=lambda v: int(str(v["rank"])))]

    before = region_values()
    assert _restore_same_instance(origin, backup, tmp_path / "idmap.sqlite") == []
    assert origin.get("content_metadata_accesses", str(granted.id)) is not None
    assert region_values() == before

    writes = _restore_same_instance(origin, backup, tmp_path / "idmap.sqlite", exact_access=True)
    assert sorted(writes) == [f"DELETE /content_metadata_access/{granted.id}",
                              f"POST /user_attributes/{attributes['region']}/group_values"]
    assert origin.get("content_metadata_accesses", str(granted.id)) is None
    assert region_values() == before[:2]
    # The hidden attribute's group value was never in the backup, and is never wiped.
    assert [v["value"] for v in origin.all("user_attribute_group_values").values()
            if v["user_attribute_id"] == attributes["db_password"]] == ["s3"]


def test_a_fake_loaded_from_the_snapshot_holds_the_same_access_and_attributes(
    origin: FakeLooker, tmp_path: Path
) -> None:
    a = _items(snapshot(origin, tmp_path / "a.sqlite"))
    with FakeLooker(strict=True) as loaded:
        loaded.load_backup(tmp_path / "a.sqlite")
        b = _items(snapshot(loaded, tmp_path / "b.sqlite"))
    assert {k: _canonical(k[0], d, lambda _ct, i: str(i)) for k, d in a.items()} == \
        {k: _canonical(k[0], d, lambda _ct, i: str(i)) for k, d in b.items()}


@pytest.mark.skipif(SPEC is None, reason="shared/looker-api/Looker.4.0.oas.json not found beside the repo")
def test_requests_of_access_and_attribute_restores_match_the_spec(
    origin: FakeLooker, fake: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    assert SPEC is not None
    backup = snapshot(origin, tmp_path / "a.sqlite")
    fake.record_requests = True
    restorer = make_restorer(backup)
    assert restore_many(restorer, all_keys(restorer.backup), workers=4).failures == []
    # Drift on B that an exact restore undoes with every other call: raise Sales to edit (PUT),
    # grant Ops (DELETE), make Inner stop inheriting (PATCH inherits), change a group value and a user value.
    groups = {g["name"]: gid for gid, g in fake.all("groups").items()}
    attributes = {a["name"]: aid for aid, a in fake.all("user_attributes").items()}
    folders = {f["name"]: f for f in fake.all("folders").values()}
    with _client(fake) as client:
        sdk = client.sdk
        team = str(folders["Team"]["content_metadata_id"])
        sales = next(a for a in sdk.all_content_metadata_accesses(team) if a.group_id == groups["Sales"])
        sdk.update_content_metadata_access(str(sales.id), m.ContentMetaGroupUser(
            content_metadata_id=team, group_id=groups["Sales"], permission_type=m.PermissionType.edit))
        ops = sdk.create_group(m.WriteGroup(name="Ops"))
        sdk.create_content_metadata_access(m.ContentMetaGroupUser(
            content_metadata_id=team, group_id=ops.id, permission_type=m.PermissionType.view))
        sdk.update_content_metadata(str(folders["Inner"]["content_metadata_id"]), m.WriteContentMeta(inherits=False))
        sdk.update_user_attribute_group_value(groups["Sales"], attributes["region"], m.UserAttributeGroupValue(value="X"))
        ann = next(u for u in sdk.all_users() if u.first_name == "Ann")
        sdk.set_user_attribute_user_value(str(ann.id), attributes["region"], m.WriteUserAttributeWithValue(value="Y"))
    exact = make_restorer(backup, exact_access=True)
    assert restore_many(exact, all_keys(exact.backup), workers=4).failures == []

    sent = [r for r in fake.requests if r.path != "/login"]
    written = {f"{r.method} {r.path.split('/')[1]}" for r in sent if r.method in _WRITES}
    assert {"POST content_metadata_access", "PUT content_metadata_access", "DELETE content_metadata_access",
            "PATCH content_metadata", "POST user_attributes", "PATCH groups", "PATCH users"} <= written, written
    problems = validate_requests(SPEC, sent)
    assert problems == [], "\n".join(problems)


@pytest.mark.skipif(SPEC is None, reason="shared/looker-api/Looker.4.0.oas.json not found beside the repo")
def test_the_fakes_access_and_attribute_answers_match_the_spec(origin: FakeLooker) -> None:
    assert SPEC is not None
    from .test_fake_looker import api

    session = requests.Session()
    login = session.post(api(origin, "/login"), data={"client_id": origin.client_id,
                                                      "client_secret": origin.client_secret})
    session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    team = next(f for f in origin.all("folders").values() if f["name"] == "Team")
    region = next(aid for aid, a in origin.all("user_attributes").items() if a["name"] == "region")
    ann = next(uid for uid, u in origin.all("users").items() if u["first_name"] == "Ann")
    paths = [f"/content_metadata/{team['content_metadata_id']}",
             f"/content_metadata_access?content_metadata_id={team['content_metadata_id']}",
             "/user_attributes", f"/user_attributes/{region}", f"/user_attributes/{region}/group_values",
             f"/users/{ann}/attribute_values"]
    problems: list[str] = []
    for path in paths:
        answer = session.get(api(origin, path))
        assert answer.status_code == 200, (path, answer.text)
        problems += validate_response(SPEC, "GET", path.partition("?")[0], 200, answer.json())
    session.close()
    assert problems == [], "\n".join(problems)
