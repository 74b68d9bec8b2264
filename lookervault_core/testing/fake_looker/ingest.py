"""State written behind the API's back: the seeded system content and `FakeLooker.put`.

`put` takes an object as GET returns it (or as a LookerVault backup holds it)
and makes it live state with its id: nested parts (a dashboard's elements,
filters and layouts, a board's sections and items, a look's query, a plan's
destinations) become records of their own collections. An existing record is
updated with the given keys; nested lists given replace the existing parts.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Mapping

from .ops import (
    LOOKML_FOLDER_ID,
    create_personal_folder,
    delete_board,
    delete_board_section,
    delete_dashboard,
    delete_element,
    delete_layout,
    delete_scheduled_plan,
    ensure_default_layout,
    index_query,
    new_record,
    upsert_query,
)
from .render import READ_MODELS
from .routes.alerts import ALERT_DEFAULTS
from .routes.dashboards import DASHBOARD_DEFAULTS
from .routes.folders import FOLDER_FLAGS
from .routes.looks import LOOK_DEFAULTS
from .routes.schedules import PLAN_DEFAULTS, replace_destinations
from .routes.user_attributes import seed_system_attributes
from .routes.users import USER_DEFAULTS
from .shapes import is_id_key, shape
from .state import Store, now_iso

__all__ = ["ensure_model", "ensure_query", "put", "remove", "seed"]

Record = dict[str, object]


def jsonable(value: object) -> object:
    """Backup values as JSON values: datetimes to ISO strings, enums to their values."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _normalise(obj: Mapping[str, object]) -> Record:
    data = jsonable(obj)
    assert isinstance(data, dict)
    for key, value in data.items():
        if isinstance(value, int) and not isinstance(value, bool) and is_id_key(key):
            data[key] = str(value)
        elif key.endswith("_ids") and isinstance(value, list):
            data[key] = [str(v) for v in value]
    return data


def _put_plain(
    store: Store,
    collection: str,
    data: Record,
    *,
    defaults: Mapping[str, object] | None = None,
    key: str = "id",
    deep: bool = True,
) -> Record:
    if data.get(key) is None:
        data[key] = store.next_id(collection)
    data[key] = str(data[key])
    existing = store.find(collection, data[key])
    base: Record = dict(existing) if existing is not None else dict(defaults or {})
    base.update(data)
    record = new_record(collection, base) if deep else {k: base.get(k) for k in shape(READ_MODELS[collection]).keys}
    record.update({k: v for k, v in base.items() if k.startswith("_")})
    return store.save(collection, record, key)


def _put_query(store: Store, data: Record) -> Record:
    if data.get("id") is None and data.get("slug") is None:
        return upsert_query(store, data)
    data["id"] = str(data.get("id") or data.get("slug"))
    data.setdefault("slug", data["id"])
    for key in ("model", "view"):  # the SDK fails without them
        if data.get(key) is None:
            data[key] = ""
    record = _put_plain(store, "queries", data)
    index_query(store, record)
    return record


def _put_look(store: Store, data: Record) -> Record:
    query = data.pop("query", None)
    data.pop("folder", None)
    data.pop("model", None)
    if isinstance(query, Mapping):
        data["query_id"] = _put_query(store, _normalise(query))["id"]
    return _put_plain(store, "looks", data, defaults=LOOK_DEFAULTS)


def _put_merge_query(store: Store, data: Record) -> Record:
    sources = []
    given = data.pop("source_queries", None)
    for held in given if isinstance(given, list) else []:
        if not isinstance(held, Mapping):
            continue
        source = dict(held)
        query = source.pop("query", None)
        if isinstance(query, Mapping):
            source["query_id"] = _put_query(store, _normalise(query))["id"]
        sources.append(source)
    data["source_queries"] = sources
    return _put_plain(store, "merge_queries", data)


def _put_element(store: Store, data: Record) -> Record:
    data.pop("look", None)
    query = data.pop("query", None)
    if isinstance(query, Mapping):
        data["query_id"] = _put_query(store, _normalise(query))["id"]
    merge = data.pop("merge_result", None)
    merge_id = data.get("merge_result_id")
    if isinstance(merge, Mapping) and merge_id is not None:
        _put_merge_query(store, {**_normalise(merge), "id": str(merge_id)})
    elif merge_id is not None and store.find("merge_queries", str(merge_id)) is None:
        # A guess by analogy with queries (never deleted): the merge query a
        # tile names existed on its instance, so a loaded tile keeps an
        # (opaque) one. LookerVault backups hold no merge queries.
        _put_plain(store, "merge_queries", {"id": str(merge_id), "source_queries": []})
    maker = data.get("result_maker")
    if isinstance(maker, Mapping):
        maker = dict(maker)
        maker_query = maker.pop("query", None)
        if isinstance(maker_query, Mapping):
            maker["query_id"] = _put_query(store, _normalise(maker_query))["id"]
        maker.pop("can", None)
        data["result_maker"] = maker
    return _put_plain(store, "dashboard_elements", data)


def ensure_query(store: Store, query_id: str, model: object = None) -> None:
    """Make a query id the backup names exist, as an opaque query when its content is unknown.

    Looker never deletes queries (looker-api.md), so on the instance a backup
    came from every query it names exists; LookerVault backs looks up with
    only their `query_id`, so a fake loaded from such a backup must still have them.
    """
    if store.find("queries", query_id) is None:
        # The SDK cannot read a Query without `model` and `view`; an opaque
        # query is not indexed, so no create is ever deduplicated onto it.
        _put_plain(store, "queries", {"id": query_id, "slug": query_id, "model": str(model or ""), "view": ""})


def ensure_model(store: Store, model: object) -> None:
    """Make a model a backup's query names exist (the instance it came from had it deployed)."""
    if isinstance(model, str) and model and store.find("lookml_models", model) is None:
        _put_plain(store, "lookml_models", {"name": model, "project_name": model, "explores": []}, key="name")


def _put_layout(store: Store, data: Record) -> Record:
    components = data.pop("dashboard_layout_components", None)
    layout = _put_plain(
        store, "dashboard_layouts", data, defaults={"type": "newspaper", "active": False, "deleted": False}
    )
    if isinstance(components, list):
        _replace(
            store,
            "dashboard_layout_components",
            "dashboard_layout_id",
            str(layout["id"]),
            [
                _put_plain(store, "dashboard_layout_components", {**_normalise(c), "dashboard_layout_id": layout["id"]})
                for c in components
                if isinstance(c, Mapping)
            ],
        )
    return layout


def _replace(
    store: Store,
    collection: str,
    field: str,
    parent_id: str,
    kept: list[Record],
    delete: Callable[[Store, str], object] | None = None,
) -> None:
    # Parts not in the given list are deleted (with what they own).
    keep = {str(r["id"]) for r in kept}
    for item_id in store.ids_by(collection, field, parent_id):
        if item_id not in keep:
            if delete is None:
                store.delete(collection, item_id)
            else:
                delete(store, item_id)


def _put_dashboard(store: Store, data: Record) -> Record:
    elements = data.pop("dashboard_elements", None)
    filters = data.pop("dashboard_filters", None)
    layouts = data.pop("dashboard_layouts", None)
    data.pop("folder", None)
    dashboard = _put_plain(store, "dashboards", data, defaults=DASHBOARD_DEFAULTS)
    did = str(dashboard["id"])
    if isinstance(elements, list):
        kept = [_put_element(store, {**_normalise(e), "dashboard_id": did}) for e in elements if isinstance(e, Mapping)]
        _replace(store, "dashboard_elements", "dashboard_id", did, kept, delete_element)
    if isinstance(filters, list):
        kept = [
            _put_plain(store, "dashboard_filters", {**_normalise(f), "dashboard_id": did})
            for f in filters
            if isinstance(f, Mapping)
        ]
        _replace(store, "dashboard_filters", "dashboard_id", did, kept)
    if isinstance(layouts, list):
        kept = [
            _put_layout(store, {**_normalise(lo), "dashboard_id": did}) for lo in layouts if isinstance(lo, Mapping)
        ]
        _replace(store, "dashboard_layouts", "dashboard_id", did, kept, delete_layout)
    ensure_default_layout(store, did)
    return dashboard


def _put_user(store: Store, data: Record) -> Record:
    email = data.pop("email", None)
    creds = data.get("credentials_email")
    if not isinstance(creds, Mapping) and isinstance(email, str):
        creds = data["credentials_email"] = {"email": email, "created_at": now_iso()}
    if isinstance(creds, Mapping) and isinstance(creds.get("email"), str):
        data["_email"] = str(creds["email"]).strip().lower()
    if data.get("id") is None or store.find("users", str(data["id"])) is None:
        # Every user is in the include_by_default groups ("All Users"), as users
        # created through the API join them (routes/users.py, same evidence).
        given = [str(g) for g in data.get("group_ids") or []]  # type: ignore[attr-defined]
        built_in = [str(g["id"]) for g in store.ordered("groups") if g.get("include_by_default")]
        data["group_ids"] = [*[g for g in built_in if g not in given], *given]
    user = _put_plain(store, "users", data, defaults=USER_DEFAULTS)
    folder_id = user.get("personal_folder_id")
    if store.find("folders", folder_id) is None:
        create_personal_folder(store, user, folder_id=str(folder_id) if folder_id is not None else None)
        store.save("users", user)
    return user


def _put_role(store: Store, data: Record) -> Record:
    for key in ("permission_set", "model_set"):
        nested = data.pop(key, None)
        if isinstance(nested, Mapping) and nested.get("id") is not None:
            if data.get(f"{key}_id") is None:
                data[f"{key}_id"] = str(nested["id"])
            if store.find(f"{key}s", str(nested["id"])) is None:
                _put_plain(store, f"{key}s", _normalise(nested))
    return _put_plain(store, "roles", data, defaults={"internal": False})


def _put_plan(store: Store, data: Record) -> Record:
    destinations = data.pop("scheduled_plan_destination", None)
    data.pop("user", None)
    plan = _put_plain(store, "scheduled_plans", data, defaults=PLAN_DEFAULTS)
    if isinstance(destinations, list):
        kept = [_normalise(d) for d in destinations if isinstance(d, Mapping)]
        replace_destinations(store, str(plan["id"]), kept, keep_ids=True)
    return plan


def _put_section(store: Store, data: Record) -> Record:
    items = data.pop("board_items", None)
    section = _put_plain(store, "board_sections", data)
    if isinstance(items, list):
        kept = [
            _put_plain(store, "board_items", {**_normalise(i), "board_section_id": section["id"]})
            for i in items
            if isinstance(i, Mapping)
        ]
        _replace(store, "board_items", "board_section_id", str(section["id"]), kept)
    return section


def _put_board(store: Store, data: Record) -> Record:
    sections = data.pop("board_sections", None)
    board = _put_plain(store, "boards", data)
    if isinstance(sections, list):
        kept = [
            _put_section(store, {**_normalise(s), "board_id": board["id"]}) for s in sections if isinstance(s, Mapping)
        ]
        _replace(store, "board_sections", "board_id", str(board["id"]), kept, delete_board_section)
    return board


def _put_folder(store: Store, data: Record) -> Record:
    data.pop("looks", None)
    data.pop("dashboards", None)
    return _put_plain(store, "folders", data, defaults=FOLDER_FLAGS)


def _put_explore(store: Store, data: Record) -> Record:
    if data.get("id") is None:
        data["id"] = f"{data.get('model_name')}::{data.get('name')}"
    # An explore's nested field descriptions stay as LookML defined them (no nulls added).
    return _put_plain(store, "explores", data, deep=False)


_PUTTERS: dict[str, Callable[[Store, Record], Record]] = {
    "folders": _put_folder,
    "looks": _put_look,
    "queries": _put_query,
    "merge_queries": _put_merge_query,
    "dashboards": _put_dashboard,
    "dashboard_elements": _put_element,
    "dashboard_layouts": _put_layout,
    "users": _put_user,
    "roles": _put_role,
    "scheduled_plans": _put_plan,
    "boards": _put_board,
    "board_sections": _put_section,
    "lookml_models": lambda store, data: _put_plain(store, "lookml_models", data, key="name"),
    "explores": _put_explore,
    "alerts": lambda store, data: _put_plain(store, "alerts", data, defaults=ALERT_DEFAULTS),
}

_REMOVERS: dict[str, Callable[[Store, str], None]] = {
    "dashboards": delete_dashboard,
    "dashboard_elements": delete_element,
    "dashboard_layouts": delete_layout,
    "boards": delete_board,
    "board_sections": delete_board_section,
    "scheduled_plans": delete_scheduled_plan,
}


def key_field(collection: str) -> str:
    """The field that identifies a record: `name` for LookML models, else `id`."""
    return "name" if collection == "lookml_models" else "id"


def put(store: Store, collection: str, obj: Mapping[str, object]) -> Record:
    """Create or update a record (and its nested parts) without API checks.

    Raises:
        KeyError: for an unknown collection.
    """
    if collection not in READ_MODELS:
        raise KeyError(f"unknown collection {collection!r}")
    putter = _PUTTERS.get(collection)
    data = _normalise(obj)
    if putter is not None:
        return putter(store, data)
    return _put_plain(store, collection, data)


def remove(store: Store, collection: str, item_id: str) -> None:
    """Delete a record and the parts it owns, without API checks."""
    if collection not in READ_MODELS:
        raise KeyError(f"unknown collection {collection!r}")
    remover = _REMOVERS.get(collection)
    if remover is not None:
        remover(store, item_id)
    else:
        store.delete(collection, item_id)


def seed(store: Store, *, recorded_all_users: bool = False) -> None:
    """Looker's system content: Shared, Users and LookML Dashboards folders, the API user, built-in Admin role and sets.

    They sit at `store.system_ids`. With `recorded_all_users` the "All Users"
    group is as the recorded instance with ids of its own has it:
    `externally_managed: true` (looker-api.md, "Recorded from real instances").
    """
    now = now_iso()
    ids = store.system_ids
    roots: tuple[tuple[str, str, dict[str, object]], ...] = (
        (ids["shared"], "Shared", {"is_shared_root": True}),
        (ids["users"], "Users", {"is_users_root": True}),
        # Listed by GET /folders on real instances, with this id and no parent (ops.LOOKML_FOLDER_ID).
        (LOOKML_FOLDER_ID, "LookML Dashboards", {}),
    )
    for folder_id, name, flags in roots:
        # Shared and Users have content metadata (their access); lmanage reads Shared's as
        # content_metadata_id 1 (capturator/folder_capturation/folder_config.py, root_folder).
        meta = {} if folder_id == LOOKML_FOLDER_ID else {"content_metadata_id": store.next_id("content_metadata")}
        _put_plain(
            store,
            "folders",
            {"id": folder_id, "name": name, "parent_id": None, "created_at": now, **meta, **flags},
            defaults=FOLDER_FLAGS,
        )
    _put_plain(
        store,
        "permission_sets",
        {"id": "1", "name": "Admin", "built_in": True, "all_access": True, "permissions": list(ADMIN_PERMISSIONS)},
    )
    _put_plain(store, "model_sets", {"id": "1", "name": "All", "built_in": True, "all_access": True, "models": []})
    _put_plain(
        store,
        "groups",
        # Evidence: the API description's Group.include_by_default, "New users are
        # added to this group by default"; every instance has it (Looker docs,
        # "Users" admin page). Not externally managed unless the recorded instance's.
        {"id": ids["all_users"], "name": "All Users", "include_by_default": True,
         "externally_managed": recorded_all_users, "can_add_to_content_metadata": True},
    )
    _put_plain(
        store, "roles", {"id": "1", "name": "Admin", "permission_set_id": "1", "model_set_id": "1", "internal": False}
    )
    _put_user(
        store, {"id": "1", "first_name": "API", "last_name": "User", "role_ids": ["1"], "group_ids": [ids["all_users"]]}
    )
    seed_system_attributes(store)


#: A representative subset of Looker's permission names (the Admin set holds all of them).
ADMIN_PERMISSIONS: tuple[str, ...] = (
    "access_data",
    "administer",
    "create_alerts",
    "deploy",
    "develop",
    "download_with_limit",
    "download_without_limit",
    "explore",
    "manage_homepage",
    "manage_models",
    "manage_spaces",
    "save_content",
    "schedule_look_emails",
    "see_drill_overlay",
    "see_lookml",
    "see_lookml_dashboards",
    "see_looks",
    "see_sql",
    "see_user_dashboards",
    "send_outgoing_webhook",
    "send_to_integration",
    "send_to_s3",
    "send_to_sftp",
    "sudo",
    "use_sql_runner",
)


def put_folder_access(store: Store, data: Mapping[str, object]) -> None:
    """A backup's folder access row (docs/access-and-attributes.md) made live on its folder."""
    folder = store.find("folders", data.get("folder_id"))
    if folder is None:
        return
    cmid = str(folder.get("content_metadata_id") or data.get("content_metadata_id") or store.next_id("content_metadata"))
    store.save("folders", {**folder, "content_metadata_id": cmid, "_inherits": bool(data.get("inherits"))})
    for old in store.by("content_metadata_accesses", "content_metadata_id", cmid):
        store.delete("content_metadata_accesses", str(old["id"]))
    for access in data.get("accesses") or []:  # type: ignore[attr-defined]
        if isinstance(access, Mapping):
            _put_plain(store, "content_metadata_accesses", {
                **{k: access.get(k) for k in ("group_id", "user_id", "permission_type")},
                "content_metadata_id": cmid})


def put_user_attribute(store: Store, data: Mapping[str, object]) -> None:
    """A backup's user attribute with its group values (hidden ones stay null: the backup never has them)."""
    record = _normalise({k: v for k, v in data.items() if k != "group_values"})
    _put_plain(store, "user_attributes", record)
    attr_id = str(record["id"])
    for old in store.by("user_attribute_group_values", "user_attribute_id", attr_id):
        store.delete("user_attribute_group_values", str(old["id"]))
    for value in data.get("group_values") or []:  # type: ignore[attr-defined]
        if isinstance(value, Mapping):
            _put_plain(store, "user_attribute_group_values", {
                "group_id": str(value.get("group_id")), "value": value.get("value"), "rank": value.get("rank"),
                "user_attribute_id": attr_id})


def put_user_attribute_values(store: Store, data: Mapping[str, object]) -> None:
    """A backup's own values of one user (hidden ones are not in a backup, so not set)."""
    user = store.find("users", data.get("user_id"))
    if user is None:
        return
    own = dict(user.get("_attribute_values") or {})  # type: ignore[call-overload]
    for value in data.get("values") or []:  # type: ignore[attr-defined]
        if isinstance(value, Mapping) and not (value.get("value_is_hidden") and value.get("value") is None):
            own[str(value.get("user_attribute_id"))] = value.get("value")
    store.save("users", {**user, "_attribute_values": own})
