"""Restore of who may do what: permission sets, model sets, roles, groups, users."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import fields_param
from ..errors import AuthenticationFailed
from ..graph import Ref
from .item import ItemRun, Payload, as_dict
from .payload import same, sequence
from .result import Action, RestoreResult

_ID_FIELDS = fields_param(m.User, "id")
#: A user's ways to log in (and its api3 keys): a user the API just made has none of them.
_CREDENTIALS = ("credentials_email", "credentials_saml", "credentials_google", "credentials_ldap",
                "credentials_oidc", "credentials_looker_openid", "credentials_totp", "credentials_api3",
                "credentials_embed", "credentials_workforce")
_MADE_USER_FIELDS = fields_param(m.User, "id", "first_name", "last_name", "email", *_CREDENTIALS)
_GROUP_FLAGS = fields_param(m.Group, "id", "name", "externally_managed", "include_by_default")

__all__ = [
    "restore_group",
    "restore_model_set",
    "restore_permission_set",
    "restore_role",
    "restore_user",
]


def _by_name(item_run: ItemRun, search: Callable[[], Sequence[object]], name: object) -> Payload | None:
    """The live object with this exact name, if any (names are unique per type in Looker)."""
    for obj in item_run.call(search):
        found = as_dict(obj)
        if found.get("name") == name:
            return found
    return None


def _named_like(item_run: ItemRun, search: Callable[[], Sequence[object]]) -> Callable[[], Payload | None]:
    """The lookup upsert makes when Looker refuses a create as a duplicate (409 or 422)."""
    return lambda: _by_name(item_run, search, item_run.data.get("name"))


def _live_or_same_name(item_run: ItemRun, get: Callable[[str], object], search: Callable[[], Sequence[object]]) -> Payload | None:
    """The object at the mapped id, else one with the backup's name.

    Looker refuses a second set, role or group with the same name, so a name
    match is the same object restored before (or the same object on another
    instance) and is updated rather than duplicated.
    """
    live = item_run.counterpart(get)
    if live is None or live.get("name") != item_run.data.get("name"):
        named = _by_name(item_run, search, item_run.data.get("name"))
        if named is not None:
            # Searches ask only for id and name: read the whole object to compare.
            named_id = str(named["id"])
            return item_run.get(lambda: get(named_id)) or named
    return live


def _built_in(item_run: ItemRun, search: Callable[[], Sequence[object]], what: str) -> RestoreResult:
    # Built-ins exist on every instance and cannot be written: map them by name.
    live = _by_name(item_run, search, item_run.data.get("name"))
    dest = None if live is None else str(live["id"])
    if dest is not None:
        item_run.remember(item_run.content_type.label, item_run.source_id, dest)
    item_run.note(f"built-in {what}; mapped by name, never written")
    return item_run.finish(Action.SKIPPED, dest, live)


def _restore_set(item_run: ItemRun, get: Callable[[str], object], search: Callable[[], Sequence[object]],
                 create: Callable[[Payload], object], update: Callable[[str, Payload], object]) -> RestoreResult:
    if item_run.data.get("built_in"):
        return _built_in(item_run, search, item_run.content_type.label.replace("_", " "))
    live = _live_or_same_name(item_run, get, search)
    body = item_run.body()
    dest = None if live is None else str(live["id"])
    action, dest, after = item_run.upsert(dest, body, get=get, create=create, update=update, live=live,
                                     find=_named_like(item_run, search))
    return item_run.finish(action, dest, after or live)


def restore_permission_set(item_run: ItemRun) -> RestoreResult:
    sdk = item_run.sdk
    return _restore_set(item_run, sdk.permission_set,
                        lambda: sdk.search_permission_sets(name=str(item_run.data.get("name")), fields=fields_param(m.PermissionSet, "id", "name")),
                        sdk.create_permission_set, sdk.update_permission_set)  # type: ignore[arg-type]


def restore_model_set(item_run: ItemRun) -> RestoreResult:
    sdk = item_run.sdk
    return _restore_set(item_run, sdk.model_set,
                        lambda: sdk.search_model_sets(name=str(item_run.data.get("name")), fields=fields_param(m.ModelSet, "id", "name")),
                        sdk.create_model_set, sdk.update_model_set)  # type: ignore[arg-type]


def _nested_id(data: Mapping[str, object], key: str) -> object:
    nested = data.get(key)
    return data.get(f"{key}_id") or (nested.get("id") if isinstance(nested, Mapping) else None)


def restore_role(item_run: ItemRun) -> RestoreResult:
    sdk = item_run.sdk
    search = lambda: sdk.search_roles(name=str(item_run.data.get("name")), fields=fields_param(m.Role, "id", "name"))  # noqa: E731
    pset = item_run.data.get("permission_set")
    if item_run.data.get("name") == "Admin" and isinstance(pset, Mapping) and pset.get("built_in"):
        return _built_in(item_run, search, "Admin role")
    body = item_run.body()
    # Reads nest permission_set/model_set; writes take their ids.
    for key, ct in (("permission_set", CT.PERMISSION_SET), ("model_set", CT.MODEL_SET)):
        ref_id = _nested_id(item_run.data, key)
        if ref_id is not None:
            body[f"{key}_id"] = item_run.require(Ref(ct, str(ref_id), key))
    live = _live_or_same_name(item_run, sdk.role, search)
    if live is not None:
        live = {**live, "permission_set_id": _nested_id(live, "permission_set"),
                "model_set_id": _nested_id(live, "model_set")}
    dest = None if live is None else str(live["id"])
    action, dest, after = item_run.upsert(dest, body, get=sdk.role, create=sdk.create_role,  # type: ignore[arg-type]
                                     update=sdk.update_role, live=live,  # type: ignore[arg-type]
                                     find=_named_like(item_run, search))
    return item_run.finish(action, dest, after or live)


def restore_group(item_run: ItemRun) -> RestoreResult:
    sdk = item_run.sdk
    search = lambda: sdk.all_groups(fields=fields_param(m.Group, "id", "name"))  # noqa: E731
    if item_run.data.get("include_by_default"):
        # "All Users": every instance has it and it cannot be created.
        return _built_in(item_run, search, "group")
    live = _live_or_same_name(item_run, sdk.group, search)
    body = item_run.body()
    dest = None if live is None else str(live["id"])
    action, dest, after = item_run.upsert(dest, body, get=sdk.group, create=sdk.create_group,  # type: ignore[arg-type]
                                     update=sdk.update_group, live=live,  # type: ignore[arg-type]
                                     find=_named_like(item_run, search))
    return item_run.finish(action, dest, after or live)


def _email(data: Mapping[str, object]) -> str | None:
    creds = data.get("credentials_email")
    if isinstance(creds, Mapping) and creds.get("email"):
        return str(creds["email"])
    return str(data["email"]) if data.get("email") else None


def _embed_external_id(data: Mapping[str, object]) -> str | None:
    for creds in sequence(data.get("credentials_embed")):
        if isinstance(creds, Mapping) and creds.get("external_user_id"):
            return str(creds["external_user_id"])
    return None


def _restore_embed_user(item_run: ItemRun) -> RestoreResult:
    """Map an embed user to the destination's embed user with the same external id.

    Looker quirk: embed users are made by embed sign-on, never by the API —
    `credentials_embed` is read-only on User and the API has no create call for
    it (only GET and DELETE /users/{user_id}/credentials_embed). The API finds
    one by its external id: GET /users/credential/embed/{external_user_id}.
    """
    external = _embed_external_id(item_run.data)
    found = None
    if external is not None:
        ext = external
        found = item_run.get(lambda: item_run.sdk.user_for_credential("embed", ext, fields=_ID_FIELDS))
    if found is None:
        item_run.note(f"embed user{'' if external is None else f' {external!r}'}: not restorable through the API; "
                 "Looker makes it again at the user's next embed sign-on")
        return item_run.finish(Action.SKIPPED, None)
    dest = str(found["id"])
    item_run.remember(CT.USER.label, item_run.source_id, dest)
    item_run.note(f"embed user {external!r}: mapped to Looker's embed user {dest}; embed users are never written")
    return item_run.finish(Action.SKIPPED, dest, found)


def restore_user(item_run: ItemRun) -> RestoreResult:
    """A user's fields, then its email login, group memberships and roles.

    Looker quirk: `email`, `group_ids` and `role_ids` are read-only on the user
    and each has its own endpoint. Memberships and roles are only added, never
    removed, unless the Restorer was asked for `exact_access`.
    """
    sdk, data = item_run.sdk, item_run.data
    if data.get("credentials_embed") or data.get("is_embed_user"):
        return _restore_embed_user(item_run)
    email = _email(data)
    live = item_run.counterpart(sdk.user)
    if email and (live is None or (_email(live) not in (None, email))):
        # Emails are unique: a user with the backup's email is this user. Looker's
        # search treats "_" and "%" as wildcards, so keep exact matches only.
        matches = [as_dict(u) for u in item_run.call(lambda: sdk.search_users(email=email))]
        live = next((u for u in matches if u.get("email") == email), live)
    body = item_run.body(frozenset({"home_folder_id"}))
    if data.get("home_folder_id") is not None:
        home = item_run.require(Ref(CT.FOLDER, str(data["home_folder_id"]), "home_folder_id", hard=False))
        if home is not None:
            body["home_folder_id"] = home
    find = _made_user(item_run, body)
    if live is None:
        live = find()
        if live is not None:
            item_run.note(f"user {live['id']} in Looker has this user's name and no login at all: the one an earlier "
                     "run created before its answer was lost; adopted")
            live_id = str(live["id"])
            live = item_run.get(lambda: sdk.user(live_id)) or live
    dest_id = None if live is None else str(live["id"])
    action, dest_id, after = item_run.upsert(dest_id, body, get=sdk.user, create=sdk.create_user,  # type: ignore[arg-type]
                                        update=sdk.update_user, live=live, find=find)  # type: ignore[arg-type]
    if action is Action.SKIPPED:
        return item_run.finish(action, dest_id, live)
    state = after or live or {}
    written = len(item_run.changes)
    if email and _email(state) != email:
        _set_email(item_run, dest_id, state, email)
    _sync_groups(item_run, dest_id, state)
    _sync_roles(item_run, dest_id, state)
    if len(item_run.changes) > written and dest_id is not None and not item_run.dry_run:
        # Email, groups and roles are written through their own endpoints, not
        # update_user: a listed state of this user (restore.prefetch) is stale now.
        item_run.restorer.unlist(CT.USER, dest_id)
    return item_run.finish(action, dest_id, state)


def _made_user(item_run: ItemRun, body: Mapping[str, object]) -> Callable[[], Payload | None]:
    """A lookup of the user a `create_user` of `body` made, should its answer be lost.

    Looker makes a user (and its personal folder) with no key but its id: the
    email is added by a second call. A user with exactly this first and last
    name, no login of any kind (no email, SSO, API keys), and not already the
    counterpart of another backup user, nor the API user restore logs in as
    (the fake shows no credentials_api3), is taken as the one this restore made.
    Remaining window, accepted: a login-less user of the same name made by
    hand is adopted (and given the backup's email) rather than left aside.
    """
    def find() -> Payload | None:
        first, last = body.get("first_name"), body.get("last_name")
        if not first and not last:
            return None
        found = item_run.call(lambda: item_run.sdk.search_users(
            first_name=None if first is None else str(first), last_name=None if last is None else str(last),
            fields=_MADE_USER_FIELDS))
        for user in map(as_dict, found):  # search is fuzzy ("_", "%", case): exact names only
            if user.get("first_name") != first or user.get("last_name") != last:
                continue
            if user.get("email") or any(user.get(c) for c in _CREDENTIALS) or str(user["id"]) == _me(item_run):
                continue
            owner = item_run.restorer.idmap.source_of(CT.USER.label, str(user["id"]))
            if owner is None or owner == item_run.source_id:
                return user
        return None
    return find


def _me(item_run: ItemRun) -> str:
    """The id of the user restore is logged in as, asked once per Restorer."""
    me = item_run.restorer.cached("me", lambda: str(as_dict(item_run.call(lambda: item_run.sdk.me(fields="id"))).get("id")))
    return str(me)


def _set_email(item_run: ItemRun, dest_id: str | None, live: Mapping[str, object], email: str) -> None:
    sdk = item_run.sdk
    item_run.changed("credentials_email.email")
    if dest_id is None:
        return
    uid = dest_id
    try:
        if live.get("credentials_email"):
            item_run.write(lambda: sdk.update_user_credentials_email(uid, {"email": email}))  # type: ignore[arg-type]
        else:
            item_run.create(lambda: sdk.create_user_credentials_email(uid, {"email": email}),  # type: ignore[arg-type]
                       lambda: _email_of(item_run, uid, email))
    except AuthenticationFailed as exc:
        # Looker quirk: "Calls to this endpoint may be denied by Looker (Google
        # Cloud core)" (API description, credentials_email), with 403.
        if exc.status != 403:
            raise
        item_run.changes.remove("credentials_email.email")
        item_run.note("email login left to the identity provider: Looker denied credentials_email (403)")


def _email_of(item_run: ItemRun, user_id: str, email: str) -> Payload | None:
    """The user's email login when it is `email` (a create_user_credentials_email whose answer was lost)."""
    creds = item_run.get(lambda: item_run.sdk.user_credentials_email(user_id))
    return creds if creds is not None and creds.get("email") == email else None


def _group_flags(item_run: ItemRun, group_id: str) -> Mapping[str, object]:
    """A destination group's name and the flags that say whether restore may change its members."""
    flags = item_run.restorer.cached(f"group-flags:{group_id}", lambda: item_run.get(
        lambda: item_run.sdk.group(group_id, fields=_GROUP_FLAGS)) or {})
    return flags if isinstance(flags, Mapping) else {}


def _leave_membership(item_run: ItemRun, group_id: str, what: str) -> bool:
    """Whether Looker, not restore, decides this membership; notes it when the identity provider does."""
    flags = _group_flags(item_run, group_id)
    if flags.get("include_by_default"):
        return True  # "All Users": Looker puts every user in it.
    if flags.get("externally_managed"):
        item_run.note(f"group {flags.get('name', group_id)} ({group_id}) is managed outside Looker; "
                 f"{what} left to the identity provider")
        return True
    return False


def _sync_groups(item_run: ItemRun, dest_id: str | None, live: Mapping[str, object]) -> None:
    sdk = item_run.sdk
    live_groups = {str(g) for g in sequence(live.get("group_ids"))}
    wanted: set[str] = set()
    for gid in sequence(item_run.data.get("group_ids")):
        group = item_run.require(Ref(CT.GROUP, str(gid), "group_ids"))
        if group is None:
            continue
        wanted.add(group)
        if group in live_groups or _leave_membership(item_run, group, "adding this user"):
            continue
        item_run.changed(f"group_ids[{gid}]")
        if dest_id is not None:
            g, uid = group, dest_id
            # A membership is there or not: adding it again after a lost answer
            # makes nothing new (a guess: the API description says only "Adds a user to a group").
            item_run.write(lambda: sdk.add_group_user(g, {"user_id": uid}), repeatable=True)  # type: ignore[arg-type]
    if not item_run.restorer.exact_access:
        return
    for group in sorted(live_groups - wanted):
        if _leave_membership(item_run, group, "removing this user"):
            continue
        item_run.changed(f"group_ids[-{group}]")
        if dest_id is not None:
            g, uid = group, dest_id
            item_run.write_raw(lambda: sdk.delete_group_user(g, uid))


def _sync_roles(item_run: ItemRun, dest_id: str | None, live: Mapping[str, object]) -> None:
    """Add the backup's roles to the user's; replace them only with `exact_access`.

    Looker quirk: set_user_roles replaces the whole list, so the live roles are
    sent along with the backup's (a role granted after the backup stays).
    """
    live_roles = [str(r) for r in sequence(live.get("role_ids"))]
    wanted = [r for r in (item_run.require(Ref(CT.ROLE, str(rid), "role_ids"))
                          for rid in sequence(item_run.data.get("role_ids"))) if r]
    target = wanted if item_run.restorer.exact_access else [*live_roles, *(r for r in wanted if r not in live_roles)]
    if same(sorted(set(target)), sorted(set(live_roles))):
        return
    if live.get("roles_externally_managed"):
        item_run.note("roles are managed by an external directory (roles_externally_managed); left to it")
        return
    item_run.changed("role_ids")
    if dest_id is not None:
        uid, roles = dest_id, list(dict.fromkeys(target))
        item_run.write_raw(lambda: item_run.sdk.set_user_roles(uid, roles))
