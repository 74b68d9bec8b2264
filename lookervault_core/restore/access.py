"""Restore of who may do what: permission sets, model sets, roles, groups, users."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..content_types import ContentType as CT
from ..graph import Ref
from .item import ItemRun, Payload, as_dict
from .payload import body_from, same, sequence
from .result import Action, RestoreResult

__all__ = [
    "restore_group",
    "restore_model_set",
    "restore_permission_set",
    "restore_role",
    "restore_user",
]


def _by_name(run: ItemRun, search: Callable[[], Sequence[object]], name: object) -> Payload | None:
    """The live object with this exact name, if any (names are unique per type in Looker)."""
    for obj in run.call(search):
        found = as_dict(obj)
        if found.get("name") == name:
            return found
    return None


def _live_or_same_name(run: ItemRun, get: Callable[[str], object], search: Callable[[], Sequence[object]]) -> Payload | None:
    """The object at the mapped id, else one with the backup's name.

    Looker refuses a second set, role or group with the same name, so a name
    match is the same object restored before (or the same object on another
    instance) and is updated rather than duplicated.
    """
    dest = run.resolve(run.content_type.label, run.source_id)
    live = None if dest is None else run.get(lambda: get(dest))
    if live is None or live.get("name") != run.data.get("name"):
        named = _by_name(run, search, run.data.get("name"))
        if named is not None:
            return named
    return live


def _built_in(run: ItemRun, search: Callable[[], Sequence[object]], what: str) -> RestoreResult:
    # Built-ins exist on every instance and cannot be written: map them by name.
    live = _by_name(run, search, run.data.get("name"))
    dest = None if live is None else str(live["id"])
    if dest is not None:
        run.remember(run.content_type.label, run.source_id, dest)
    run.note(f"built-in {what}; mapped by name, never written")
    return run.finish(Action.SKIPPED, dest, live)


def _restore_set(run: ItemRun, get: Callable[[str], object], search: Callable[[], Sequence[object]],
                 create: Callable[[Payload], object], update: Callable[[str, Payload], object]) -> RestoreResult:
    if run.data.get("built_in"):
        return _built_in(run, search, run.content_type.label.replace("_", " "))
    live = _live_or_same_name(run, get, search)
    body = body_from(run.data, run.spec.writable)
    dest = None if live is None else str(live["id"])
    action, dest, after = run.upsert(dest, body, get=get, create=create, update=update, live=live)
    return run.finish(action, dest, after or live)


def restore_permission_set(run: ItemRun) -> RestoreResult:
    sdk = run.sdk
    return _restore_set(run, sdk.permission_set,
                        lambda: sdk.search_permission_sets(name=str(run.data.get("name")), fields="id,name"),
                        sdk.create_permission_set, sdk.update_permission_set)  # type: ignore[arg-type]


def restore_model_set(run: ItemRun) -> RestoreResult:
    sdk = run.sdk
    return _restore_set(run, sdk.model_set,
                        lambda: sdk.search_model_sets(name=str(run.data.get("name")), fields="id,name"),
                        sdk.create_model_set, sdk.update_model_set)  # type: ignore[arg-type]


def _nested_id(data: Mapping[str, object], key: str) -> object:
    nested = data.get(key)
    return data.get(f"{key}_id") or (nested.get("id") if isinstance(nested, Mapping) else None)


def restore_role(run: ItemRun) -> RestoreResult:
    sdk = run.sdk
    search = lambda: sdk.search_roles(name=str(run.data.get("name")), fields="id,name")  # noqa: E731
    pset = run.data.get("permission_set")
    if run.data.get("name") == "Admin" and isinstance(pset, Mapping) and pset.get("built_in"):
        return _built_in(run, search, "Admin role")
    body = body_from(run.data, run.spec.writable)
    # Reads nest permission_set/model_set; writes take their ids.
    for key, ct in (("permission_set", CT.PERMISSION_SET), ("model_set", CT.MODEL_SET)):
        ref_id = _nested_id(run.data, key)
        if ref_id is not None:
            body[f"{key}_id"] = run.require(Ref(ct, str(ref_id), key))
    live = _live_or_same_name(run, sdk.role, search)
    if live is not None:
        live = {**live, "permission_set_id": _nested_id(live, "permission_set"),
                "model_set_id": _nested_id(live, "model_set")}
    dest = None if live is None else str(live["id"])
    action, dest, after = run.upsert(dest, body, get=sdk.role, create=sdk.create_role,  # type: ignore[arg-type]
                                     update=sdk.update_role, live=live)  # type: ignore[arg-type]
    return run.finish(action, dest, after or live)


def restore_group(run: ItemRun) -> RestoreResult:
    sdk = run.sdk
    search = lambda: sdk.all_groups(fields="id,name")  # noqa: E731
    if run.data.get("include_by_default"):
        # "All Users": every instance has it and it cannot be created.
        return _built_in(run, search, "group")
    live = _live_or_same_name(run, sdk.group, search)
    body = body_from(run.data, run.spec.writable)
    dest = None if live is None else str(live["id"])
    action, dest, after = run.upsert(dest, body, get=sdk.group, create=sdk.create_group,  # type: ignore[arg-type]
                                     update=sdk.update_group, live=live)  # type: ignore[arg-type]
    return run.finish(action, dest, after or live)


def _email(data: Mapping[str, object]) -> str | None:
    creds = data.get("credentials_email")
    if isinstance(creds, Mapping) and creds.get("email"):
        return str(creds["email"])
    return str(data["email"]) if data.get("email") else None


def restore_user(run: ItemRun) -> RestoreResult:
    """A user's fields, then its email login, group memberships and roles.

    Looker quirk: `email`, `group_ids` and `role_ids` are read-only on the user
    and each has its own endpoint; memberships are only added, never removed.
    """
    sdk, data = run.sdk, run.data
    if data.get("credentials_embed") or data.get("is_embed_user"):
        run.note("embed user; embed users are created by embed sign-on, not by restore")
        return run.finish(Action.SKIPPED, None)
    email = _email(data)
    dest = run.resolve(CT.USER.label, run.source_id)
    live = None if dest is None else run.get(lambda: sdk.user(dest))
    if email and (live is None or (_email(live) not in (None, email))):
        # Emails are unique: a user with the backup's email is this user. Looker's
        # search treats "_" and "%" as wildcards, so keep exact matches only.
        matches = [as_dict(u) for u in run.call(lambda: sdk.search_users(email=email))]
        live = next((u for u in matches if u.get("email") == email), live)
    body = body_from(data, run.spec.writable - {"home_folder_id"})
    if data.get("home_folder_id") is not None:
        home = run.require(Ref(CT.FOLDER, str(data["home_folder_id"]), "home_folder_id", hard=False))
        if home is not None:
            body["home_folder_id"] = home
    dest_id = None if live is None else str(live["id"])
    action, dest_id, after = run.upsert(dest_id, body, get=sdk.user, create=sdk.create_user,  # type: ignore[arg-type]
                                        update=sdk.update_user, live=live)  # type: ignore[arg-type]
    if action is Action.SKIPPED:
        return run.finish(action, dest_id, live)
    state = after or live or {}
    if email and _email(state) != email:
        run.changed("credentials_email.email")
        if dest_id is not None:
            uid = dest_id
            if state.get("credentials_email"):
                run.write(lambda: sdk.update_user_credentials_email(uid, {"email": email}))  # type: ignore[arg-type]
            else:
                run.write(lambda: sdk.create_user_credentials_email(uid, {"email": email}))  # type: ignore[arg-type]
    _sync_memberships(run, dest_id, state)
    return run.finish(action, dest_id, state)


def _sync_memberships(run: ItemRun, dest_id: str | None, live: Mapping[str, object]) -> None:
    sdk, data = run.sdk, run.data
    live_groups = {str(g) for g in sequence(live.get("group_ids"))}
    for gid in sequence(data.get("group_ids")):
        group = run.require(Ref(CT.GROUP, str(gid), "group_ids"))
        if group is not None and group not in live_groups:
            run.changed(f"group_ids[{gid}]")
            if dest_id is not None:
                g, uid = group, dest_id
                run.write(lambda: sdk.add_group_user(g, {"user_id": uid}))  # type: ignore[arg-type]
    wanted_roles = [r for r in (run.require(Ref(CT.ROLE, str(rid), "role_ids")) for rid in sequence(data.get("role_ids"))) if r]
    if not same(sorted(wanted_roles), sorted(str(r) for r in sequence(live.get("role_ids")))):
        run.changed("role_ids")
        if dest_id is not None:
            uid = dest_id
            run.write_raw(lambda: sdk.set_user_roles(uid, wanted_roles))
