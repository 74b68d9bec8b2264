"""User attributes: definitions, values per group (ranked) and values per user.

A user's own values live on the user record (`_attribute_values`,
attribute id → value), which GET /users never shows.
"""

from __future__ import annotations

from looker_sdk.sdk.api40 import models as m

from ..api_errors import HttpError, invalid, not_found
from ..listing import parse_ids
from ..ops import new_record, require
from ..render import render
from ..router import Call, Reply, Router
from ..state import Store, id_list
from .common import Record, apply_patch, listing

__all__ = ["SYSTEM_ATTRIBUTES", "register", "seed_system_attributes"]

#: Built-in attributes every instance has (`is_system`). Evidence: lmanage's
#: configurator (user_attribute_configuration/create_and_assign_user_attributes.py,
#: sync_user_attributes) lists them as the instance's defaults it never deletes;
#: lmanage and looker_deployer skip `is_system` attributes when capturing.
SYSTEM_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("email", "Email"), ("first_name", "First Name"), ("id", "ID"), ("google_user_id", "Google User ID"),
    ("landing_page", "Landing Page"), ("last_name", "Last Name"), ("number_format", "Number Format"),
    ("locale", "Locale"), ("name", "Name"),
)

#: Where a user's value came from (UserAttributeWithValue.source, "How user got this value").
#: The strings are a guess: no recording shows them.
SOURCE_USER, SOURCE_GROUP, SOURCE_DEFAULT = "user", "group", "default"


def seed_system_attributes(store: Store) -> None:
    """The system attributes (see SYSTEM_ATTRIBUTES)."""
    for name, label in SYSTEM_ATTRIBUTES:
        attr_id = store.next_id("user_attributes")
        store.save("user_attributes", new_record("user_attributes", {
            "id": attr_id, "name": name, "label": label, "type": "string", "is_system": True,
            "is_permanent": True, "value_is_hidden": False, "user_can_view": True, "user_can_edit": False}))


def _attribute(store: Store, attr_id: object) -> Record:
    return require(store, "user_attributes", attr_id)


def _get(call: Call) -> object:
    return render(call.store, "user_attributes", _attribute(call.store, call.params["user_attribute_id"]))


def _all(call: Call) -> object:
    # API description: GET /user_attributes takes fields and sorts, no paging (lmanage and
    # looker_deployer read it whole with all_user_attributes()).
    return listing(call, "user_attributes", call.store.ordered("user_attributes"))


def _unique(store: Store, data: Record, exclude: str | None = None) -> None:
    # API description, POST /user_attributes: "name and label fields must be unique across all
    # user attributes ... a name or label that duplicates an existing user attribute will fail with a 422".
    for other in store.ordered("user_attributes"):
        if str(other["id"]) == exclude:
            continue
        for key in ("name", "label"):
            if data.get(key) is not None and str(data[key]).lower() == str(other.get(key) or "").lower():
                raise invalid(key, "already_exists", f"{key} must be unique")


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteUserAttribute, m.UserAttribute, creating=True)
    _unique(store, data)
    record = new_record("user_attributes", {
        "value_is_hidden": False, "user_can_view": True, "user_can_edit": False,
        **{k: v for k, v in data.items() if v is not None},
        "id": store.next_id("user_attributes"), "is_system": False, "is_permanent": False})
    store.save("user_attributes", record)
    return render(store, "user_attributes", record)


def _update(call: Call) -> object:
    store = call.store
    record = _attribute(store, call.params["user_attribute_id"])
    if record.get("is_system"):
        # A guess: Looker shows system attributes read-only; the API description lists 422 for this PATCH.
        raise invalid("name", "invalid", "a system user attribute cannot be changed")
    data = call.write(m.WriteUserAttribute, m.UserAttribute, creating=False)
    if record.get("hidden_value_domain_whitelist") and "hidden_value_domain_whitelist" in data \
            and data["hidden_value_domain_whitelist"] != record["hidden_value_domain_whitelist"]:
        # API description, hidden_value_domain_whitelist: "Once set, cannot be edited."
        raise invalid("hidden_value_domain_whitelist", "invalid", "cannot be edited once set")
    _unique(store, data, exclude=str(record["id"]))
    updated = dict(record)
    apply_patch(updated, data)
    store.save("user_attributes", updated)
    return render(store, "user_attributes", updated)


def _delete(call: Call) -> object:
    store = call.store
    record = _attribute(store, call.params["user_attribute_id"])
    if record.get("is_permanent"):
        # API description, UserAttribute.is_permanent: "cannot be deleted"; 422 is a guess.
        raise invalid("id", "invalid", "a permanent user attribute cannot be deleted")
    for value in _group_values(store, str(record["id"])):
        store.delete("user_attribute_group_values", str(value["id"]))
    for user in store.ordered("users"):
        own = user.get("_attribute_values")
        if isinstance(own, dict) and str(record["id"]) in own:
            store.save("users", {**user, "_attribute_values": {k: v for k, v in own.items() if k != str(record["id"])}})
    store.delete("user_attributes", str(record["id"]))
    return Reply(204)


# --- group values ---------------------------------------------------------------------


def _group_values(store: Store, attr_id: str) -> list[Record]:
    return sorted(store.by("user_attribute_group_values", "user_attribute_id", attr_id),
                  key=lambda v: (int(str(v.get("rank") or 0)), str(v["id"])))


def _show_group_value(store: Store, attribute: Record, value: Record) -> Record:
    out = {**render(store, "user_attribute_group_values", value),
           "value_is_hidden": bool(attribute.get("value_is_hidden"))}
    if attribute.get("value_is_hidden"):
        # API description, UserAttributeGroupValue.value_is_hidden: "If true, the "value"
        # field will be null, because the attribute settings block access to this value".
        out = {**out, "value": None, "value_is_hidden": True}
    return out


def _all_group_values(call: Call) -> object:
    # API description: "Returns all values of a user attribute defined by user groups, in precedence order."
    attribute = _attribute(call.store, call.params["user_attribute_id"])
    return [_show_group_value(call.store, attribute, v) for v in _group_values(call.store, str(attribute["id"]))]


def _set_group_values(call: Call) -> object:
    # API description, POST /user_attributes/{id}/group_values: replaces every group value of the
    # attribute; "Lowest array index wins", or the `rank` of each item when every item has one.
    # Evidence it is sent this way: looker_deployer deploy_user_attributes.write_user_attributes.
    store = call.store
    attribute = _attribute(store, call.params["user_attribute_id"])
    body = call.body
    if not isinstance(body, list) or not all(isinstance(v, dict) for v in body):
        raise HttpError(400, "Request body must be a JSON array")
    ranked = bool(body) and all(v.get("rank") is not None for v in body)
    wanted: list[Record] = []
    for index, item in enumerate(body):
        group = require(store, "groups", item.get("group_id"))
        wanted.append({"group_id": str(group["id"]), "value": item.get("value"),
                       "rank": int(item["rank"]) if ranked else index + 1})
    if len({w["group_id"] for w in wanted}) != len(wanted):
        raise invalid("group_id", "invalid", "a group can have one value per attribute")  # a guess
    attr_id = str(attribute["id"])
    for old in _group_values(store, attr_id):
        store.delete("user_attribute_group_values", str(old["id"]))
    for w in sorted(wanted, key=lambda w: int(str(w["rank"]))):
        store.save("user_attribute_group_values", new_record("user_attribute_group_values", {
            **w, "id": store.next_id("user_attribute_group_values"), "user_attribute_id": attr_id}))
    return [_show_group_value(store, attribute, v) for v in _group_values(store, attr_id)]


def _update_group_value(call: Call) -> object:
    # API description, PATCH /groups/{group_id}/attribute_values/{user_attribute_id}: sets one
    # group's value (lmanage add_group_values_to_ua sends UserAttributeGroupValue{value}).
    # A guess: a group without a value yet comes last in precedence.
    store = call.store
    group = require(store, "groups", call.params["group_id"])
    attribute = _attribute(store, call.params["user_attribute_id"])
    data = call.write(m.UserAttributeGroupValue, None, creating=False)
    attr_id = str(attribute["id"])
    values = _group_values(store, attr_id)
    existing = next((v for v in values if v.get("group_id") == str(group["id"])), None)
    if existing is None:
        rank = max((int(str(v.get("rank") or 0)) for v in values), default=0) + 1
        existing = new_record("user_attribute_group_values", {
            "id": store.next_id("user_attribute_group_values"), "group_id": str(group["id"]),
            "user_attribute_id": attr_id, "rank": rank})
    updated = {**existing, "value": data.get("value")}
    store.save("user_attribute_group_values", updated)
    return _show_group_value(store, attribute, updated)


def _delete_group_value(call: Call) -> object:
    store = call.store
    group = require(store, "groups", call.params["group_id"])
    attribute = _attribute(store, call.params["user_attribute_id"])
    for value in _group_values(store, str(attribute["id"])):
        if value.get("group_id") == str(group["id"]):
            store.delete("user_attribute_group_values", str(value["id"]))
    return Reply(204)


# --- user values -----------------------------------------------------------------------


def _own_values(user: Record) -> dict[str, object]:
    own = user.get("_attribute_values")
    return dict(own) if isinstance(own, dict) else {}


def _with_value(store: Store, user: Record, attribute: Record, include_unset: bool) -> Record | None:
    """The attribute's value for the user, searched as the API description's user_attribute_user_values says:
    the user's own value, then the user's groups (lowest rank wins), then the default."""
    attr_id = str(attribute["id"])
    own = _own_values(user)
    value: object = None
    source: str | None = None
    rank: object = None
    if attr_id in own:
        value, source = own[attr_id], SOURCE_USER
    else:
        groups = set(id_list(user.get("group_ids")))
        for gv in _group_values(store, attr_id):
            if gv.get("group_id") in groups:
                value, source, rank = gv.get("value"), SOURCE_GROUP, gv.get("rank")
                break
        else:
            if attribute.get("default_value") is not None:
                value, source = attribute.get("default_value"), SOURCE_DEFAULT
    if source is None and not include_unset:
        return None
    hidden = bool(attribute.get("value_is_hidden"))
    return render(store, "user_attribute_values", {
        "name": attribute.get("name"), "label": attribute.get("label"), "rank": rank,
        # API description, user_attribute_user_values: "The value of all hidden user attributes will be blank."
        "value": None if hidden else value,
        "user_id": str(user["id"]), "user_can_edit": attribute.get("user_can_edit"),
        "value_is_hidden": hidden, "user_attribute_id": attr_id, "source": source,
        "hidden_value_domain_whitelist": attribute.get("hidden_value_domain_whitelist"),
        "can": {"show": True, "index": True}}, model=m.UserAttributeWithValue)


def _user_values(call: Call) -> object:
    store = call.store
    user = require(store, "users", call.params["user_id"])
    wanted = parse_ids(call.arg("user_attribute_ids"))
    out = []
    for attribute in store.ordered("user_attributes"):
        if wanted is not None and str(attribute["id"]) not in wanted:
            continue
        found = _with_value(store, user, attribute, bool(call.flag("include_unset")))
        if found is not None:
            out.append(found)
    return out


def _set_user_value(call: Call) -> object:
    # API description, PATCH /users/{user_id}/attribute_values/{user_attribute_id}: "Store a custom
    # value for a user attribute in a user's account settings" (WriteUserAttributeWithValue{value}).
    store = call.store
    user = require(store, "users", call.params["user_id"])
    attribute = _attribute(store, call.params["user_attribute_id"])
    if attribute.get("is_system"):
        # A guess: system attributes (email, name...) come from the user's own fields.
        raise HttpError(403, "a system user attribute is set through the user")
    data = call.write(m.WriteUserAttributeWithValue, m.UserAttributeWithValue, creating=False)
    user = {**user, "_attribute_values": {**_own_values(user), str(attribute["id"]): data.get("value")}}
    store.save("users", user)
    found = _with_value(store, user, attribute, True)
    if found is None:  # pragma: no cover - a value was just set
        raise not_found()
    return found


def _delete_user_value(call: Call) -> object:
    store = call.store
    user = require(store, "users", call.params["user_id"])
    attribute = _attribute(store, call.params["user_attribute_id"])
    own = _own_values(user)
    own.pop(str(attribute["id"]), None)
    store.save("users", {**user, "_attribute_values": own})
    return Reply(204)


def register(router: Router) -> None:
    """Add the user attribute routes."""
    router.add("GET", "/user_attributes", _all)
    router.add("POST", "/user_attributes", _create)
    router.add("GET", "/user_attributes/{user_attribute_id}", _get)
    router.add("PATCH", "/user_attributes/{user_attribute_id}", _update)
    router.add("DELETE", "/user_attributes/{user_attribute_id}", _delete)
    router.add("GET", "/user_attributes/{user_attribute_id}/group_values", _all_group_values)
    router.add("POST", "/user_attributes/{user_attribute_id}/group_values", _set_group_values)
    router.add("PATCH", "/groups/{group_id}/attribute_values/{user_attribute_id}", _update_group_value)
    router.add("DELETE", "/groups/{group_id}/attribute_values/{user_attribute_id}", _delete_group_value)
    router.add("GET", "/users/{user_id}/attribute_values", _user_values)
    router.add("PATCH", "/users/{user_id}/attribute_values/{user_attribute_id}", _set_user_value)
    router.add("DELETE", "/users/{user_id}/attribute_values/{user_attribute_id}", _delete_user_value)
