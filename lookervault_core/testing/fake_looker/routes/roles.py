"""Roles, permission sets and model sets.

Reads of a role nest its `permission_set` and `model_set`; writes take
`permission_set_id` and `model_set_id`. Built-ins (`built_in: true`, and the
Admin role) cannot be changed or deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from looker_sdk.sdk.api40 import models as m

from ..api_errors import built_in, invalid
from ..listing import matches, parse_ids
from ..ops import ensure_unique, new_record, reference, require
from ..render import render, render_many
from ..router import Call, Reply, Router
from ..state import id_list
from .common import Record, SearchParams, apply_patch, listing

__all__ = ["ADMIN_ROLE_ID", "register"]

ADMIN_ROLE_ID = "1"


def _contains(key: str) -> Callable[[Record, str], bool]:
    def predicate(record: Record, expr: str) -> bool:
        wanted = [w.strip() for w in expr.split(",") if w.strip()]
        return any(matches(v, w, id_like=True) for v in id_list(record.get(key)) for w in wanted)

    return predicate


_ROLE_SEARCH: SearchParams = {
    "id": "id",
    "name": "name",
    "built_in": lambda role, expr: matches(role.get("id") == ADMIN_ROLE_ID, expr, id_like=False),
    "model_set_ids": "model_set_id",
    "permission_set_ids": "permission_set_id",
}
_SET_SEARCH: SearchParams = {"id": "id", "name": "name", "all_access": "all_access", "built_in": "built_in"}


def _is_built_in_role(role: Record) -> bool:
    return role["id"] == ADMIN_ROLE_ID


# --- roles -------------------------------------------------------------------------------


def _get_role(call: Call) -> object:
    return render(call.store, "roles", require(call.store, "roles", call.params["role_id"]))


def _all_roles(call: Call) -> object:
    # Roles with their sets nested, as GET /roles/{id} (API description, GET /roles: 200
    # is Role[]; looker-sdk-ruby examples/roles_and_users_with_permission.rb reads
    # `role.permission_set.permissions` of all_roles). No limit/offset in the API
    # description; `listing` would page if sent them (a guess at an unknown parameter).
    roles = call.store.ordered("roles")
    ids = parse_ids(call.arg("ids"))
    if ids is not None:
        roles = [r for r in roles if r["id"] in ids]
    return listing(call, "roles", roles)


def _search_roles(call: Call) -> object:
    return listing(call, "roles", call.store.ordered("roles"), params=_ROLE_SEARCH)


def _check_role(call: Call, role: Record, *, exclude: str | None) -> None:
    store = call.store
    for key in ("name", "permission_set_id", "model_set_id"):
        if not role.get(key):
            raise invalid(key, "missing", f"{key} is required")
    reference(store, "permission_sets", role["permission_set_id"], "permission_set_id")
    reference(store, "model_sets", role["model_set_id"], "model_set_id")
    ensure_unique(store, "roles", role, exclude=exclude)


def _role_fields(data: dict[str, object]) -> dict[str, object]:
    # Nested permission_set / model_set objects in a write are ignored: only the ids count.
    data.pop("permission_set", None)
    data.pop("model_set", None)
    return data


def _create_role(call: Call) -> object:
    store = call.store
    data = _role_fields(call.write(m.WriteRole, m.Role, creating=True))
    role = new_record("roles", {"internal": False, **data, "id": store.next_id("roles")})
    _check_role(call, role, exclude=None)
    store.save("roles", role)
    return render(store, "roles", role)


def _update_role(call: Call) -> object:
    store = call.store
    role = require(store, "roles", call.params["role_id"])
    data = _role_fields(call.write(m.WriteRole, m.Role, creating=False))
    if _is_built_in_role(role):
        raise built_in("the Admin role")
    updated = dict(role)
    apply_patch(updated, data)
    _check_role(call, updated, exclude=str(role["id"]))
    store.save("roles", updated)
    return render(store, "roles", updated)


def _delete_role(call: Call) -> object:
    store = call.store
    role = require(store, "roles", call.params["role_id"])
    if _is_built_in_role(role):
        raise built_in("the Admin role")
    rid = str(role["id"])
    for user in store.by("users", "role_ids", rid):
        store.save("users", {**user, "role_ids": [r for r in id_list(user.get("role_ids")) if r != rid]})
    store.delete("roles", rid)
    return Reply(204)


def _role_groups(call: Call) -> object:
    store = call.store
    role = require(store, "roles", call.params["role_id"])
    ids = [g for g in id_list(role.get("_group_ids")) if g in store.tables["groups"]]
    return render_many(store, "groups", [store.tables["groups"][g] for g in ids])


def _set_role_groups(call: Call) -> object:
    store = call.store
    role = require(store, "roles", call.params["role_id"])
    group_ids = list(dict.fromkeys(call.json_list()))
    for i, group_id in enumerate(group_ids):
        reference(store, "groups", group_id, f"[{i}]")
    role["_group_ids"] = group_ids
    return render_many(store, "groups", [store.tables["groups"][g] for g in group_ids])


def _role_users(call: Call) -> object:
    store = call.store
    role = require(store, "roles", call.params["role_id"])
    user_ids = set(store.ids_by("users", "role_ids", role["id"]))
    if not call.flag("direct_association_only"):
        for group_id in id_list(role.get("_group_ids")):
            user_ids.update(store.ids_by("users", "group_ids", group_id))
    users = [u for u in store.ordered("users") if u["id"] in user_ids]
    return listing(call, "users", users)


def _set_role_users(call: Call) -> object:
    store = call.store
    role = require(store, "roles", call.params["role_id"])
    rid = str(role["id"])
    user_ids = list(dict.fromkeys(call.json_list()))
    for i, user_id in enumerate(user_ids):
        reference(store, "users", user_id, f"[{i}]")
    for user in store.by("users", "role_ids", rid):
        if user["id"] not in user_ids:
            store.save("users", {**user, "role_ids": [r for r in id_list(user.get("role_ids")) if r != rid]})
    for user_id in user_ids:
        user = store.tables["users"][user_id]
        if rid not in id_list(user.get("role_ids")):
            store.save("users", {**user, "role_ids": [*id_list(user.get("role_ids")), rid]})
    return render_many(store, "users", [store.tables["users"][u] for u in user_ids])


# --- permission sets and model sets ------------------------------------------------------


def _set_routes(collection: str, write_model: type, read_model: type, list_key: str, router: Router) -> None:
    id_param = collection[:-1] + "_id"

    def get(call: Call) -> object:
        return render(call.store, collection, require(call.store, collection, call.params[id_param]))

    def all_(call: Call) -> object:
        # Every set in full (API description, GET /permission_sets and GET /model_sets:
        # 200 is PermissionSet[] / ModelSet[]); gzr's `permission set ls` and `model set ls`
        # ask them for permissions / models (lib/gzr/commands/permission/set.rb, model/set.rb).
        return listing(call, collection, call.store.ordered(collection))

    def search_(call: Call) -> object:
        return listing(
            call, collection, call.store.ordered(collection), params={**_SET_SEARCH, list_key: _contains(list_key)}
        )

    def create(call: Call) -> object:
        store = call.store
        data = call.write(write_model, read_model, creating=True)
        if not data.get("name"):
            raise invalid("name", "missing", "name is required")
        ensure_unique(store, collection, data)
        record = new_record(
            collection,
            {
                list_key: [],
                **{k: v for k, v in data.items() if v is not None},
                "built_in": False,
                "all_access": False,
                "id": store.next_id(collection),
            },
        )
        store.save(collection, record)
        return render(store, collection, record)

    def update(call: Call) -> object:
        store = call.store
        record = require(store, collection, call.params[id_param])
        data = call.write(write_model, read_model, creating=False)
        if record.get("built_in"):
            raise built_in(f"{collection[:-1]} {record['id']}")
        if "name" in data:
            if not data["name"]:
                raise invalid("name", "missing", "name is required")
            ensure_unique(store, collection, data, exclude=str(record["id"]))
        updated = dict(record)
        apply_patch(updated, data)
        store.save(collection, updated)
        return render(store, collection, updated)

    def delete(call: Call) -> object:
        store = call.store
        record = require(store, collection, call.params[id_param])
        if record.get("built_in"):
            raise built_in(f"{collection[:-1]} {record['id']}")
        in_use = [r for r in store.tables["roles"].values() if r.get(id_param) == record["id"]]
        if in_use:
            raise invalid("id", "invalid", f"{collection[:-1]} {record['id']} is used by role {in_use[0]['id']}")
        store.delete(collection, str(record["id"]))
        return Reply(204)

    router.add("GET", f"/{collection}/search", search_)
    router.add("GET", f"/{collection}/{{{id_param}}}", get)
    router.add("GET", f"/{collection}", all_)
    router.add("POST", f"/{collection}", create)
    router.add("PATCH", f"/{collection}/{{{id_param}}}", update)
    router.add("DELETE", f"/{collection}/{{{id_param}}}", delete)


def register(router: Router) -> None:
    """Add the role, permission set and model set routes."""
    router.add("GET", "/roles/search", _search_roles)
    router.add("GET", "/roles/{role_id}", _get_role)
    router.add("GET", "/roles", _all_roles)
    router.add("POST", "/roles", _create_role)
    router.add("PATCH", "/roles/{role_id}", _update_role)
    router.add("DELETE", "/roles/{role_id}", _delete_role)
    router.add("GET", "/roles/{role_id}/groups", _role_groups)
    router.add("PUT", "/roles/{role_id}/groups", _set_role_groups)
    router.add("GET", "/roles/{role_id}/users", _role_users)
    router.add("PUT", "/roles/{role_id}/users", _set_role_users)
    _set_routes("permission_sets", m.WritePermissionSet, m.PermissionSet, "permissions", router)
    _set_routes("model_sets", m.WriteModelSet, m.ModelSet, "models", router)
