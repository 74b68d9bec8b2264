"""Groups, their users and the groups included in them."""

from __future__ import annotations

from looker_sdk.sdk.api40 import models as m

from ..api_errors import HttpError, invalid
from ..listing import parse_ids
from ..ops import ensure_unique, new_record, require
from ..render import render, render_many
from ..router import Call, Reply, Router
from ..state import Store, id_list
from .common import Record, apply_patch, listing

__all__ = ["register", "set_user_groups"]

_SEARCH = {
    "id": "id",
    "name": "name",
    "external_group_id": "external_group_id",
    "externally_managed": "externally_managed",
}

_GROUP_DEFAULTS: dict[str, object] = {
    "can_add_to_content_metadata": False,
    "externally_managed": False,
    "include_by_default": False,
}


def set_user_groups(store: Store, user: Record, group_ids: list[str]) -> None:
    """Replace a user's group memberships (what `user.group_ids` reports)."""
    store.save("users", {**user, "group_ids": list(dict.fromkeys(group_ids))})


def _get(call: Call) -> object:
    return render(call.store, "groups", require(call.store, "groups", call.params["group_id"]))


def _all(call: Call) -> object:
    # Paged by limit/offset (API description, GET /groups); gzr's `group ls` lists
    # them with all_groups(fields=..., sorts="id") (lib/gzr/modules/group.rb).
    groups = call.store.ordered("groups")
    ids = parse_ids(call.arg("ids"))
    if ids is not None:
        groups = [g for g in groups if g["id"] in ids]
    params = {
        "content_metadata_id": "content_metadata_id",
        "can_add_to_content_metadata": "can_add_to_content_metadata",
    }
    return listing(call, "groups", groups, params=params)


def _search(call: Call) -> object:
    return listing(call, "groups", call.store.ordered("groups"), params=_SEARCH)


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteGroup, m.Group, creating=True)
    if not data.get("name"):
        raise invalid("name", "missing", "name is required")
    ensure_unique(store, "groups", data)
    group = new_record(
        "groups",
        {**_GROUP_DEFAULTS, **{k: v for k, v in data.items() if v is not None}, "id": store.next_id("groups")},
    )
    store.save("groups", group)
    return render(store, "groups", group)


def _update(call: Call) -> object:
    store = call.store
    group = require(store, "groups", call.params["group_id"])
    data = call.write(m.WriteGroup, m.Group, creating=False)
    if "name" in data:
        if not data["name"]:
            raise invalid("name", "missing", "name is required")
        ensure_unique(store, "groups", data, exclude=str(group["id"]))
    updated = dict(group)
    apply_patch(updated, data)
    store.save("groups", updated)
    return render(store, "groups", updated)


def _delete(call: Call) -> object:
    store = call.store
    group = require(store, "groups", call.params["group_id"])
    gid = str(group["id"])
    for user in store.by("users", "group_ids", gid):
        set_user_groups(store, user, [g for g in id_list(user.get("group_ids")) if g != gid])
    for holder in (*store.tables["groups"].values(), *store.tables["roles"].values()):
        if gid in id_list(holder.get("_group_ids")):
            holder["_group_ids"] = [g for g in id_list(holder.get("_group_ids")) if g != gid]
    store.delete("groups", gid)
    return Reply(204)


def _body_id(call: Call, model: type, key: str) -> str:
    data = call.write(model, None, creating=True)
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"{key} is required")
    return value


def _add_user(call: Call) -> object:
    store = call.store
    group = require(store, "groups", call.params["group_id"])
    user = require(store, "users", _body_id(call, m.GroupIdForGroupUserInclusion, "user_id"))
    if group.get("externally_managed"):
        # Evidence: the API description's Group.externally_managed, "Group
        # membership controlled outside of Looker"; 403 is a guess among the
        # statuses it lists for POST /groups/{group_id}/users (400, 403, 404).
        raise HttpError(403, "this group's membership is controlled outside of Looker")
    set_user_groups(store, user, [*id_list(user.get("group_ids")), str(group["id"])])
    return render(store, "users", store.tables["users"][str(user["id"])])


def _users(call: Call) -> object:
    group = require(call.store, "groups", call.params["group_id"])
    return listing(call, "users", call.store.by("users", "group_ids", group["id"]))


def _remove_user(call: Call) -> object:
    store = call.store
    group = require(store, "groups", call.params["group_id"])
    user = require(store, "users", call.params["user_id"])
    if group.get("externally_managed"):
        # Same evidence (and the same guessed status) as in _add_user.
        raise HttpError(403, "this group's membership is controlled outside of Looker")
    set_user_groups(store, user, [g for g in id_list(user.get("group_ids")) if g != group["id"]])
    return Reply(204)


def _included(store: Store, group: Record) -> list[str]:
    return id_list(group.get("_group_ids"))


def _add_group(call: Call) -> object:
    store = call.store
    parent = require(store, "groups", call.params["group_id"])
    child = require(store, "groups", _body_id(call, m.GroupIdForGroupInclusion, "group_id"))
    # Inclusion must stay acyclic: the parent may not be the child or below it.
    pending, seen = [str(child["id"])], set()
    while pending:
        gid = pending.pop()
        if gid == parent["id"]:
            raise invalid("group_id", "invalid", "a group cannot include itself or a group that includes it")
        if gid not in seen:
            seen.add(gid)
            pending.extend(_included(store, store.tables["groups"].get(gid, {})))
    if child["id"] not in _included(store, parent):
        parent["_group_ids"] = [*_included(store, parent), str(child["id"])]
    return render(store, "groups", child)


def _groups(call: Call) -> object:
    store = call.store
    parent = require(store, "groups", call.params["group_id"])
    groups = [store.tables["groups"][g] for g in _included(store, parent) if g in store.tables["groups"]]
    return render_many(store, "groups", groups)


def _remove_group(call: Call) -> object:
    store = call.store
    parent = require(store, "groups", call.params["group_id"])
    child_id = call.params["deleting_group_id"]
    require(store, "groups", child_id)
    parent["_group_ids"] = [g for g in _included(store, parent) if g != child_id]
    return Reply(204)


def register(router: Router) -> None:
    """Add the group routes."""
    router.add("GET", "/groups/search", _search)
    router.add("GET", "/groups/{group_id}", _get)
    router.add("GET", "/groups", _all)
    router.add("POST", "/groups", _create)
    router.add("PATCH", "/groups/{group_id}", _update)
    router.add("DELETE", "/groups/{group_id}", _delete)
    router.add("POST", "/groups/{group_id}/users", _add_user)
    router.add("GET", "/groups/{group_id}/users", _users)
    router.add("DELETE", "/groups/{group_id}/users/{user_id}", _remove_user)
    router.add("POST", "/groups/{group_id}/groups", _add_group)
    router.add("GET", "/groups/{group_id}/groups", _groups)
    router.add("DELETE", "/groups/{group_id}/groups/{deleting_group_id}", _remove_group)
