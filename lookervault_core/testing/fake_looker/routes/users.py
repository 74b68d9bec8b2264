"""Users, their email credentials and their roles."""

from __future__ import annotations

from collections.abc import Mapping

from looker_sdk.sdk.api40 import models as m

from ..api_errors import HttpError, invalid, not_found
from ..listing import matches, parse_ids
from ..ops import create_personal_folder, new_record, reference, require
from ..render import credentials_email, render, render_many
from ..router import Call, Reply, Router
from ..state import Store, id_list, now_iso, sort_key
from .common import Record, SearchParams, apply_patch, listing

__all__ = ["USER_DEFAULTS", "register", "set_email", "user_roles"]

USER_DEFAULTS: dict[str, object] = {
    "is_disabled": False,
    "verified_looker_employee": False,
    "presumed_looker_employee": False,
    "roles_externally_managed": False,
    "allow_direct_roles": True,
    "allow_normal_group_membership": True,
    "allow_roles_from_normal_groups": True,
    "is_service_account": False,
    "is_embed_user": False,
    "is_iam_admin": False,
    "models_dir_validated": False,
    "group_ids": [],
    "role_ids": [],
}


def _email_of(user: Record) -> str | None:
    creds = user.get("credentials_email")
    email = creds.get("email") if isinstance(creds, Mapping) else None
    return email if isinstance(email, str) else None


def _full_name(user: Record, expr: str) -> bool:
    name = " ".join(str(p) for p in (user.get("first_name"), user.get("last_name")) if p)
    return matches(name or None, expr, id_like=False)


_SEARCH: SearchParams = {
    "id": "id",
    "first_name": "first_name",
    "last_name": "last_name",
    "verified_looker_employee": "verified_looker_employee",
    "embed_user": "is_embed_user",
    "is_disabled": "is_disabled",
    "is_service_account": "is_service_account",
    "can_manage_api3_creds": "can_manage_api3_creds",
    "content_metadata_id": "content_metadata_id",
    "group_id": "group_ids",
    "full_name": _full_name,
    "email": lambda user, expr: matches(_email_of(user), expr, id_like=False),
}


def set_email(store: Store, user: Record, email: object, *, extra: Mapping[str, object] | None = None) -> None:
    """Create or change a user's email credentials (the user's `email` mirrors them).

    Raises:
        HttpError: 422 when the address is missing or another user has it.
    """
    if not isinstance(email, str) or not email:
        raise invalid("email", "missing", "email is required")
    if any(other != user["id"] for other in store.ids_by("users", "_email", email.strip().lower())):
        raise invalid("email", "already_exists", f"email {email!r} is already used by another user")
    current = user.get("credentials_email")
    creds: Record = dict(current) if isinstance(current, Mapping) else {"created_at": now_iso()}
    creds.update(extra or {})
    creds["email"] = email
    user["credentials_email"] = creds
    user["_email"] = email.strip().lower()


def user_roles(store: Store, user: Record, *, direct_only: bool) -> list[Record]:
    """A user's roles: direct ones, plus those of the user's groups unless `direct_only`."""
    role_ids = set(id_list(user.get("role_ids")))
    if not direct_only:
        for group_id in id_list(user.get("group_ids")):
            for role in store.tables["roles"].values():
                if group_id in id_list(role.get("_group_ids")):
                    role_ids.add(str(role["id"]))
    return [store.tables["roles"][r] for r in sorted(role_ids, key=sort_key) if r in store.tables["roles"]]


def _get(call: Call) -> object:
    return render(call.store, "users", require(call.store, "users", call.params["user_id"]))


def _all(call: Call) -> object:
    # Every user in full, as GET /users/{id} answers (API description, GET /users: 200 is
    # User[]), paged by limit/offset as gzr pages it (lib/gzr/modules/user.rb,
    # query_all_users); looker-sdk-ruby's examples read `role_ids` and `credentials_email`
    # of all_users (examples/roles_and_users_with_permission.rb, users_with_credentials_email.rb).
    users = call.store.ordered("users")
    ids = parse_ids(call.arg("ids"))
    if ids is not None:
        users = [u for u in users if u["id"] in ids]
    return listing(call, "users", users)


def _search(call: Call) -> object:
    users = call.store.ordered("users")
    email = call.arg("email")
    if email and not set(email) & set("%_,") and not call.flag("filter_or"):
        # Fast path for the lookup restore does per user.
        users = call.store.by("users", "_email", email.strip().lower())
    return listing(call, "users", users, params=_SEARCH)


def _check_home_folder(call: Call, data: Mapping[str, object]) -> None:
    if data.get("home_folder_id") is not None:
        reference(call.store, "folders", data["home_folder_id"], "home_folder_id")


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteUser, m.User, creating=True)
    creds = data.pop("credentials_email", None)
    _check_home_folder(call, data)
    user = new_record(
        "users",
        {**USER_DEFAULTS, **{k: v for k, v in data.items() if v is not None}, "id": store.next_id("users")},
    )
    # New users join every include_by_default group ("All Users"). Evidence: the
    # API description's Group.include_by_default, "New users are added to this
    # group by default".
    user["group_ids"] = [str(g["id"]) for g in store.ordered("groups") if g.get("include_by_default")]
    if isinstance(creds, Mapping):
        set_email(store, user, creds.get("email"), extra={k: v for k, v in creds.items() if k != "email"})
    create_personal_folder(store, user)
    store.save("users", user)
    return render(store, "users", user)


def _update(call: Call) -> object:
    store = call.store
    user = require(store, "users", call.params["user_id"])
    data = call.write(m.WriteUser, m.User, creating=False)
    creds = data.pop("credentials_email", None)
    _check_home_folder(call, data)
    updated = dict(user)
    apply_patch(updated, data)
    if isinstance(creds, Mapping) and "email" in creds:
        set_email(store, updated, creds["email"], extra={k: v for k, v in creds.items() if k != "email"})
    folder = store.find("folders", updated.get("personal_folder_id"))
    name = " ".join(str(p) for p in (updated.get("first_name"), updated.get("last_name")) if p)
    if folder is not None and name and folder.get("name") != name:
        store.save("folders", {**folder, "name": name})
    store.save("users", updated)
    return render(store, "users", updated)


def _delete(call: Call) -> object:
    user = require(call.store, "users", call.params["user_id"])
    if user["id"] == call.user_id:
        raise HttpError(403, "You cannot delete yourself")
    call.store.delete("users", str(user["id"]))
    return Reply(204)


def _get_email(call: Call) -> object:
    user = require(call.store, "users", call.params["user_id"])
    creds = user.get("credentials_email")
    if not isinstance(creds, dict):
        raise not_found()
    return credentials_email(call.store, str(user["id"]), creds)


def _deny_on_core(call: Call) -> None:
    # Evidence: the API description says of every credentials_email endpoint
    # "Calls to this endpoint may be denied by Looker (Google Cloud core)" and
    # lists 403 "Permission Denied" for them; the fake plays such an instance
    # when `email_credentials_denied` is set.
    if call.store.email_credentials_denied:
        raise HttpError(403, "Permission Denied: email credentials are managed by Google Cloud on this instance")


def _create_email(call: Call) -> object:
    _deny_on_core(call)
    store = call.store
    user = require(store, "users", call.params["user_id"])
    data = call.write(m.WriteCredentialsEmail, m.CredentialsEmail, creating=True)
    if isinstance(user.get("credentials_email"), dict):
        raise invalid("email", "already_exists", "this user already has email credentials")
    updated = dict(user)
    set_email(store, updated, data.get("email"), extra={k: v for k, v in data.items() if k != "email"})
    store.save("users", updated)
    return _credentials(store, updated)


def _credentials(store: Store, user: Record) -> object:
    creds = user.get("credentials_email")
    if not isinstance(creds, dict):
        raise not_found()
    return credentials_email(store, str(user["id"]), creds)


def _update_email(call: Call) -> object:
    _deny_on_core(call)
    store = call.store
    user = require(store, "users", call.params["user_id"])
    if not isinstance(user.get("credentials_email"), dict):
        raise not_found()
    data = call.write(m.WriteCredentialsEmail, m.CredentialsEmail, creating=False)
    updated = dict(user)
    email = data.get("email", _email_of(user))
    set_email(store, updated, email, extra={k: v for k, v in data.items() if k != "email"})
    store.save("users", updated)
    return _credentials(store, updated)


def _delete_email(call: Call) -> object:
    user = require(call.store, "users", call.params["user_id"])
    if not isinstance(user.get("credentials_email"), dict):
        raise not_found()
    call.store.save("users", {**user, "credentials_email": None, "_email": None})
    return Reply(204)


def _for_credential(call: Call) -> object:
    # Evidence: the API description of GET /users/credential/{credential_type}/{credential_id}
    # ("find users by their embed external_user_id", `user_for_credential('embed', ...)`).
    # Only the embed type is served here.
    kind, wanted = call.params["credential_type"], call.params["credential_id"]
    if kind != "embed":
        raise not_found()
    for user in call.store.ordered("users"):
        creds = user.get("credentials_embed")
        if isinstance(creds, list) and any(
            isinstance(c, Mapping) and str(c.get("external_user_id")) == wanted for c in creds
        ):
            return render(call.store, "users", user)
    raise not_found()


def _roles(call: Call) -> object:
    user = require(call.store, "users", call.params["user_id"])
    roles = user_roles(call.store, user, direct_only=bool(call.flag("direct_association_only")))
    return render_many(call.store, "roles", roles)


def _set_roles(call: Call) -> object:
    store = call.store
    user = require(store, "users", call.params["user_id"])
    if user.get("roles_externally_managed"):
        # Evidence: the API description's User.roles_externally_managed, "User's
        # roles are managed by an external directory like SAML or LDAP and can
        # not be changed directly". The 403 is a guess among the statuses it
        # lists for PUT /users/{user_id}/roles (403, 422).
        raise HttpError(403, "this user's roles are managed by an external directory")
    role_ids = list(dict.fromkeys(call.json_list()))
    for i, role_id in enumerate(role_ids):
        reference(store, "roles", role_id, f"[{i}]")
    store.save("users", {**user, "role_ids": role_ids})
    return render_many(store, "roles", [store.tables["roles"][r] for r in role_ids])


def register(router: Router) -> None:
    """Add the user routes."""
    router.add("GET", "/users/search", _search)
    router.add("GET", "/users/credential/{credential_type}/{credential_id}", _for_credential)
    router.add("GET", "/users/{user_id}", _get)
    router.add("GET", "/users", _all)
    router.add("POST", "/users", _create)
    router.add("PATCH", "/users/{user_id}", _update)
    router.add("DELETE", "/users/{user_id}", _delete)
    router.add("GET", "/users/{user_id}/credentials_email", _get_email)
    router.add("POST", "/users/{user_id}/credentials_email", _create_email)
    router.add("PATCH", "/users/{user_id}/credentials_email", _update_email)
    router.add("DELETE", "/users/{user_id}/credentials_email", _delete_email)
    router.add("GET", "/users/{user_id}/roles", _roles)
    router.add("PUT", "/users/{user_id}/roles", _set_roles)
