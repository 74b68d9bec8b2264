"""Operations on the state shared by the API routes and `FakeLooker.put`.

These hold the side effects Looker has: a query dedupes on its parameters, a
user gets a personal folder, a dashboard gets a default layout, an element
gets a component in each layout, and deleting a container deletes its parts.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Mapping

from looker_sdk.sdk.api40 import models as m

from .api_errors import HttpError, invalid, not_found
from .render import READ_MODELS
from .shapes import Problem, complete, shape
from .state import UNIQUE_NAMES, Store, now_iso, unique_name

__all__ = [
    "LOOKML_FOLDER_ID",
    "add_element_component",
    "element_layout",
    "add_layout_components",
    "create_personal_folder",
    "delete_board",
    "delete_board_section",
    "delete_dashboard",
    "delete_element",
    "delete_folder_tree",
    "delete_layout",
    "delete_scheduled_plan",
    "ensure_default_layout",
    "CONFLICT_ON_CREATE",
    "ensure_unique",
    "index_query",
    "new_record",
    "orphan_alerts",
    "reference",
    "require",
    "require_model",
    "stamp",
    "unique_among",
    "upsert_query",
]

Record = dict[str, object]

#: The "LookML Dashboards" folder, a system folder with a fixed, non-numeric id and
#: no parent. Evidence: `GET /folders` of real instances lists
#: {"name": "LookML Dashboards", "id": "lookml", "parent_id": null} (looker-api.md,
#: "Recorded from real instances"). The Shared and Users roots and the "All
#: Users" group have per-instance ids: `Store.system_ids`.
LOOKML_FOLDER_ID = "lookml"

_WRITE_QUERY_KEYS = tuple(k for k in shape(m.WriteQuery).keys if k != "client_id")
_ALNUM = string.ascii_letters + string.digits


def new_record(collection: str, data: Mapping[str, object]) -> Record:
    """A record with every field of the collection's read model."""
    return complete(shape(READ_MODELS[collection]), data)


def require(store: Store, collection: str, item_id: object) -> Record:
    """The stored record of a path id.

    Raises:
        HttpError: 404 when it does not exist.
    """
    record = store.find(collection, item_id)
    if record is None:
        raise not_found()
    return record


def reference(store: Store, collection: str, item_id: object, field: str) -> Record:
    """The record a body field refers to.

    Raises:
        HttpError: 422 (`not_found`) when it does not exist.
    """
    record = store.find(collection, item_id)
    if record is None:
        raise invalid(field, "not_found", f"{field} {item_id!r} does not exist")
    return record


def require_model(store: Store, model: object) -> None:
    """A query's model must be one the instance has.

    Evidence: `POST /queries` for a model not deployed on the instance answers
    404 "The resource you're looking for could not be found" (looker-cli #36:
    "the project on the other instance wasn't yet set up"; #268; looker_deployer
    #100). The fake's models are the `lookml_models` it holds.

    Raises:
        HttpError: 404 when the instance has no such model.
    """
    if not isinstance(model, str) or store.find("lookml_models", model) is None:
        raise not_found()


def stamp(record: Record, *, created: bool, user_id: str | None = None) -> None:
    """Maintain created_at / updated_at (and last_updater_id) where the model has them."""
    now = now_iso()
    if created and "created_at" in record and record.get("created_at") is None:
        record["created_at"] = now
    if "updated_at" in record:
        record["updated_at"] = now
    if not created and user_id is not None and "last_updater_id" in record:
        record["last_updater_id"] = user_id


def _slug(seed: str) -> str:
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big")
    chars = []
    for _ in range(10):
        digest, rem = divmod(digest, 62)
        chars.append(_ALNUM[rem])
    return "".join(chars)


def _query_key(data: Mapping[str, object]) -> str:
    params = {k: data.get(k) for k in _WRITE_QUERY_KEYS if data.get(k) is not None}
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def index_query(store: Store, query: Record) -> None:
    """Remember a query's parameters so an identical create returns it."""
    store.query_keys.setdefault(_query_key(query), str(query["id"]))


def upsert_query(store: Store, data: Mapping[str, object]) -> Record:
    """Create a query, or return the existing one with identical parameters.

    Queries are immutable. Their ids are numeric with a separate slug, as real
    instances answer (`"id": "138"`, `"slug": "N7Mxs6d"`; looker-api.md,
    "Recorded from real instances"; gzr's examples/Dashboard_17_FAA_KPIs.json).
    """
    key = _query_key(data)
    existing_id = store.query_keys.get(key)
    if existing_id is not None and existing_id in store.tables["queries"]:
        return store.tables["queries"][existing_id]
    taken = {str(q.get("slug")) for q in store.tables["queries"].values()}
    slug = _slug(key)
    n = 0
    while slug in taken:
        n += 1
        slug = _slug(f"{key}#{n}")
    record = new_record("queries", data)
    query_id = store.next_id("queries")
    record.update(id=query_id, slug=slug)
    if not record.get("client_id"):
        record["client_id"] = "".join(secrets.choice(_ALNUM) for _ in range(22))
    store.save("queries", record)
    store.query_keys[key] = query_id
    return record


# --- folders and users -------------------------------------------------------------------


def create_personal_folder(store: Store, user: Record, folder_id: str | None = None) -> Record:
    """The personal folder Looker makes with each user, below Users."""
    name = " ".join(str(p) for p in (user.get("first_name"), user.get("last_name")) if p)
    folder = new_record(
        "folders",
        {
            "id": folder_id or store.next_id("folders"),
            "name": name or f"User {user['id']}",
            "parent_id": store.system_ids["users"],
            "creator_id": user["id"],
            "is_personal": True,
            "is_embed": False,
            "is_shared_root": False,
            "is_users_root": False,
            "is_embed_shared_root": False,
            "is_embed_users_root": False,
            "content_metadata_id": store.next_id("content_metadata"),
        },
    )
    stamp(folder, created=True)
    store.save("folders", folder)
    user["personal_folder_id"] = folder["id"]
    return folder


def delete_folder_tree(store: Store, folder_id: str, user_id: str) -> None:
    """Delete a folder and its subfolders; their looks and dashboards go to the trash."""
    for child in store.ids_by("folders", "parent_id", folder_id):
        delete_folder_tree(store, child, user_id)
    now = now_iso()
    for collection in ("looks", "dashboards"):
        for record in store.by(collection, "folder_id", folder_id):
            if not record.get("deleted"):
                store.save(collection, {**record, "deleted": True, "deleted_at": now, "deleter_id": user_id})
    store.delete("folders", folder_id)


# --- dashboards --------------------------------------------------------------------------


def _next_row(store: Store, layout_id: str) -> int:
    bottom = 0
    for component in store.by("dashboard_layout_components", "dashboard_layout_id", layout_id):
        row, height = component.get("row"), component.get("height")
        if isinstance(row, int) and isinstance(height, int):
            bottom = max(bottom, row + height)
    return bottom


def _add_component(store: Store, layout_id: str, element_id: str) -> Record:
    row = _next_row(store, layout_id)
    component = new_record(
        "dashboard_layout_components",
        {
            "id": store.next_id("dashboard_layout_components"),
            "dashboard_layout_id": layout_id,
            "dashboard_element_id": element_id,
            "row": row,
            "column": 0,
            "width": 8,
            "height": 6,
            "deleted": False,
        },
    )
    return store.save("dashboard_layout_components", component)


def element_layout(store: Store, dashboard_id: object, layout_id: object) -> str | None:
    """The layout a new element goes on: the one named, else the dashboard's active one.

    Evidence: gzr's dashboard import (lib/gzr/commands/dashboard/import.rb,
    "work with tabbed dashboards", gzr #274) creates each tile with its tab's
    `dashboard_layout_id` and then looks for the tile's component in that
    layout only; looker-api.md: "a new element gets a component in the layout
    it was created for (the active one when none is given)".

    Raises:
        HttpError: 422 when the layout is not one of this dashboard's
            (a guess at Looker's answer: the API description documents 422 for
            invalid references but not this case).
    """
    layouts = store.by("dashboard_layouts", "dashboard_id", dashboard_id)
    if layout_id is not None:
        if not any(lay["id"] == layout_id for lay in layouts):
            raise invalid("dashboard_layout_id", "not_found", f"dashboard_layout_id {layout_id!r} is not a layout of "
                          f"dashboard {dashboard_id!r}")
        return str(layout_id)
    active = next((lay for lay in layouts if lay.get("active")), layouts[0] if layouts else None)
    return None if active is None else str(active["id"])


def add_element_component(store: Store, element: Record, layout_id: str | None) -> None:
    """A new element gets one component, at the bottom of its layout (tab)."""
    if layout_id is not None:
        _add_component(store, layout_id, str(element["id"]))


def add_layout_components(store: Store, layout: Record) -> None:
    """A new layout gets a component for each element of its dashboard."""
    for element_id in store.ids_by("dashboard_elements", "dashboard_id", layout.get("dashboard_id")):
        _add_component(store, str(layout["id"]), element_id)


def ensure_default_layout(store: Store, dashboard_id: str) -> None:
    """A dashboard always has a layout: create the active default one if it has none."""
    if store.ids_by("dashboard_layouts", "dashboard_id", dashboard_id):
        return
    layout = new_record(
        "dashboard_layouts",
        {
            "id": store.next_id("dashboard_layouts"),
            "dashboard_id": dashboard_id,
            "type": "newspaper",
            "active": True,
            "deleted": False,
        },
    )
    store.save("dashboard_layouts", layout)
    add_layout_components(store, layout)


def orphan_alerts(store: Store, element_id: str) -> None:
    """The alerts of a deleted tile: kept, pointing at the gone tile, and disabled.

    Evidence: looker-cli #113 (a live instance, after gzr re-created a
    dashboard's tiles): the alert is still listed under Admin > Alerts with no
    dashboard, gone from the dashboard's bell icon, and "will eventually change
    to Disabled automatically". Disabling it at once, and the reason's wording,
    are guesses.
    """
    for alert_id in store.ids_by("alerts", "dashboard_element_id", element_id):
        alert = store.tables["alerts"][alert_id]
        store.save("alerts", {**alert, "is_disabled": True,
                              "disabled_reason": alert.get("disabled_reason") or "Dashboard element deleted"})


def delete_element(store: Store, element_id: str) -> None:
    """Delete an element and its layout components; its alerts are orphaned (`orphan_alerts`)."""
    orphan_alerts(store, element_id)
    for component_id in store.ids_by("dashboard_layout_components", "dashboard_element_id", element_id):
        store.delete("dashboard_layout_components", component_id)
    store.delete("dashboard_elements", element_id)


def delete_layout(store: Store, layout_id: str) -> None:
    """Delete a layout and its components."""
    for component_id in store.ids_by("dashboard_layout_components", "dashboard_layout_id", layout_id):
        store.delete("dashboard_layout_components", component_id)
    store.delete("dashboard_layouts", layout_id)


def delete_dashboard(store: Store, dashboard_id: str) -> None:
    """Hard-delete a dashboard with its elements, filters, layouts and components."""
    for element_id in store.ids_by("dashboard_elements", "dashboard_id", dashboard_id):
        delete_element(store, element_id)
    for layout_id in store.ids_by("dashboard_layouts", "dashboard_id", dashboard_id):
        delete_layout(store, layout_id)
    for filter_id in store.ids_by("dashboard_filters", "dashboard_id", dashboard_id):
        store.delete("dashboard_filters", filter_id)
    store.delete("dashboards", dashboard_id)


# --- boards and schedules ----------------------------------------------------------------


def delete_board_section(store: Store, section_id: str) -> None:
    """Delete a section and its items."""
    for item_id in store.ids_by("board_items", "board_section_id", section_id):
        store.delete("board_items", item_id)
    store.delete("board_sections", section_id)


def delete_board(store: Store, board_id: str) -> None:
    """Delete a board with its sections and items."""
    for section_id in store.ids_by("board_sections", "board_id", board_id):
        delete_board_section(store, section_id)
    store.delete("boards", board_id)


def delete_scheduled_plan(store: Store, plan_id: str) -> None:
    """Delete a scheduled plan and its destinations."""
    for dest_id in store.ids_by("scheduled_plan_destinations", "scheduled_plan_id", plan_id):
        store.delete("scheduled_plan_destinations", dest_id)
    store.delete("scheduled_plans", plan_id)


#: Creates whose duplicate name Looker answers with 409 "Resource Already Exists".
#: Evidence: the API description lists 409 "Resource Already Exists" on POST
#: /groups, /roles, /permission_sets and /model_sets, whose names are unique
#: instance-wide. That a duplicate name (rather than something else) is what
#: draws the 409 is our reading of it: a guess, unconfirmed on a live instance.
#: Folders, looks and dashboards keep 422 `already_exists` (looker-api.md).
CONFLICT_ON_CREATE = frozenset({"groups", "roles", "permission_sets", "model_sets"})


def ensure_unique(store: Store, collection: str, record: Record, *, exclude: str | None = None) -> None:
    """Reject a name (title) another object has in the same scope (422 `already_exists`, 409 on some creates).

    Scopes are the parent folder for folders, the folder for looks and
    dashboards (trashed ones do not count), the dashboard for filters, and the
    whole instance for groups, roles and sets.

    Raises:
        HttpError: 422 when taken.
    """
    key = unique_name(collection, record)
    if key is None:
        return
    if any(other != exclude for other in store.ids_by(collection, "_unique", key)):
        field = UNIQUE_NAMES[collection][1]
        value = record.get(field)
        if exclude is None and collection in CONFLICT_ON_CREATE:
            raise HttpError(409, f"{field} {value!r} already exists")
        raise HttpError(422, problems=[Problem(field, "already_exists", f"{field} {value!r} already exists")])


def unique_among(records: list[Record], field: str, value: object, *, exclude: str | None = None) -> None:
    """Reject a value another record already has (Looker: 422 `already_exists`).

    Raises:
        HttpError: 422 when taken.
    """
    if value is None:
        return
    wanted = str(value).strip().lower()
    for record in records:
        if record.get("id") != exclude and str(record.get(field) or "").strip().lower() == wanted:
            raise HttpError(422, problems=[Problem(field, "already_exists", f"{field} {value!r} already exists")])
