"""Dashboards and their parts: elements, filters, layouts and layout components."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from looker_sdk.sdk.api40 import models as m

from ..api_errors import already_exists, invalid
from ..ops import (
    add_element_component,
    delete_dashboard,
    delete_element,
    delete_layout,
    element_layout,
    ensure_default_layout,
    ensure_unique,
    new_record,
    reference,
    require,
    stamp,
    upsert_query,
)
from ..render import render, render_many
from ..router import Call, Reply, Router
from ..state import Store
from .common import Record, apply_patch, deleted_filter, listing, not_deleted, soft_delete, write_nested_folder

__all__ = ["DASHBOARD_DEFAULTS", "register"]

DASHBOARD_DEFAULTS: dict[str, object] = {
    "hidden": False,
    "readonly": False,
    "deleted": False,
    "show_title": True,
    "show_filters_bar": True,
    "crossfilter_enabled": False,
    "filters_bar_collapsed": False,
    "filters_location_top": True,
    "enable_viz_full_screen": True,
    "alert_sync_with_dashboard_filter_enabled": False,
    # Evidence: real exports and imports carry "cache_run" (gzr's
    # examples/Dashboard_17_FAA_KPIs.json; looker-cli #63, #174, #234).
    "load_configuration": "cache_run",
    "preferred_viewer": "dashboards-next",
    "favorite_count": 0,
    "view_count": 0,
    "is_owner_disabled": False,
}

_SEARCH = {
    "id": "id",
    "slug": "slug",
    "title": "title",
    "description": "description",
    "content_favorite_id": "content_favorite_id",
    "folder_id": "folder_id",
    "user_id": "user_id",
    "view_count": "view_count",
    "content_metadata_id": "content_metadata_id",
    "last_viewed_at": "last_viewed_at",
}


_DATA_TYPES = frozenset({"vis", "data", None})


def _new_slug() -> str:
    return secrets.token_hex(11)


# --- dashboards --------------------------------------------------------------------------


def _get(call: Call) -> object:
    return render(call.store, "dashboards", require(call.store, "dashboards", call.params["dashboard_id"]))


def _all(call: Call) -> object:
    return listing(call, "dashboards", not_deleted(call.store.ordered("dashboards")), model=m.DashboardBase)


def _search(call: Call) -> object:
    dashboards = deleted_filter(call, call.store.ordered("dashboards"))
    return listing(call, "dashboards", dashboards, params=_SEARCH)


def _check_dashboard(call: Call, dashboard: Record, *, exclude: str | None) -> None:
    store = call.store
    if not dashboard.get("title"):
        raise invalid("title", "missing", "title is required")
    if not dashboard.get("folder_id"):
        raise invalid("folder_id", "missing", "folder_id is required")
    reference(store, "folders", dashboard["folder_id"], "folder_id")
    if dashboard.get("user_id") is not None:
        reference(store, "users", dashboard["user_id"], "user_id")
    ensure_unique(store, "dashboards", dashboard, exclude=exclude)
    # A slug held by another dashboard, a trashed one too, is 409 without errors[]
    # on POST and PATCH (api_errors.already_exists; gzr imports without the slug then).
    slug = dashboard.get("slug")
    if slug is not None and any(other != exclude for other in store.ids_by("dashboards", "slug", str(slug))):
        raise already_exists()


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteDashboard, m.Dashboard, creating=True)
    nested_folder = data.pop("folder", None)
    deleted = data.pop("deleted", None)
    dashboard = new_record(
        "dashboards",
        {
            **DASHBOARD_DEFAULTS,
            "user_id": call.user_id,
            "slug": _new_slug(),
            **{k: v for k, v in data.items() if v is not None},
            "id": store.next_id("dashboards"),
            "content_metadata_id": store.next_id("content_metadata"),
        },
    )
    _check_dashboard(call, dashboard, exclude=None)
    soft_delete(dashboard, deleted, call.user_id)
    write_nested_folder(call, dashboard["folder_id"], nested_folder)
    stamp(dashboard, created=True)
    store.save("dashboards", dashboard)
    ensure_default_layout(store, str(dashboard["id"]))
    return render(store, "dashboards", dashboard)


def _update(call: Call) -> object:
    store = call.store
    dashboard = require(store, "dashboards", call.params["dashboard_id"])
    # WriteDashboard has no elements, filters or layouts: an update cannot change them.
    data = call.write(m.WriteDashboard, m.Dashboard, creating=False)
    nested_folder = data.pop("folder", None)
    deleted = data.pop("deleted", None)
    updated = dict(dashboard)
    apply_patch(updated, data)
    if not updated.get("slug"):
        updated["slug"] = dashboard.get("slug") or _new_slug()
    soft_delete(updated, deleted, call.user_id)
    _check_dashboard(call, updated, exclude=str(dashboard["id"]))
    write_nested_folder(call, updated["folder_id"], nested_folder)
    stamp(updated, created=False, user_id=call.user_id)
    store.save("dashboards", updated)
    return render(store, "dashboards", updated)


def _delete(call: Call) -> object:
    dashboard = require(call.store, "dashboards", call.params["dashboard_id"])
    delete_dashboard(call.store, str(dashboard["id"]))
    return Reply(204)


def _parts(collection: str) -> Callable[[Call], object]:
    def handler(call: Call) -> object:
        dashboard = require(call.store, "dashboards", call.params["dashboard_id"])
        return render_many(call.store, collection, call.store.by(collection, "dashboard_id", dashboard["id"]))

    return handler


def _touch_dashboard(call: Call, dashboard_id: object) -> None:
    dashboard = call.store.find("dashboards", dashboard_id)
    if dashboard is not None:
        stamp(dashboard, created=False, user_id=call.user_id)


# --- elements ----------------------------------------------------------------------------

# Evidence: gzr issue #62 (looker-api.md) — Looker answers 422 with this message
# when a tile names its result maker and also its query, look or merge result;
# gzr's import strips `result_maker_id` from every element it creates since.
_RESULT_MAKER_CONFLICT = "Query ID, Look ID, and Merge Result ID should not be specified if a Result Maker ID is provided"


def _source_query_id(store: Store, element: Record) -> object:
    """The query a tile shows: its own, or its look's."""
    if element.get("query_id") is not None:
        return element["query_id"]
    look = store.find("looks", element.get("look_id"))
    return None if look is None else look.get("query_id")


def _default_filterables(store: Store, element: Record) -> list[Record]:
    # A guess: a tile created without a result maker is filterable on its
    # query's explore (one entry per source query of a merge), listening to no
    # dashboard filter; ResultMakerFilterables names model, view, name, listen.
    merge = store.find("merge_queries", element.get("merge_result_id"))
    if merge is not None:
        out = []
        sources = merge.get("source_queries")
        for source in sources if isinstance(sources, list) else []:
            query = store.find("queries", source.get("query_id")) if isinstance(source, dict) else None
            if query is not None:
                out.append({"model": query.get("model"), "view": query.get("view"), "name": source.get("name"),
                            "listen": []})
        return out
    query = store.find("queries", _source_query_id(store, element))
    if query is None:
        return []
    return [{"model": query.get("model"), "view": query.get("view"), "name": None, "listen": []}]


def _shared_maker(store: Store, maker_id: object) -> Record:
    for element in store.tables["dashboard_elements"].values():
        maker = element.get("result_maker")
        if isinstance(maker, dict) and maker.get("id") == maker_id:
            return maker
    raise invalid("result_maker_id", "not_found", f"result_maker_id {maker_id!r} does not exist")


def _prepare_element(call: Call, data: dict[str, object], current: Record | None) -> None:
    """Resolve inline queries and the result maker of a create or update body, in place.

    The stored `result_maker` keeps what a client can write of it (filterables
    with their `listen` bindings, sorts, dynamic fields, total) plus the query
    or merge result it reads; `vis_config` is Looker's to fill (render).
    """
    store = call.store
    data.pop("look", None)
    query = data.pop("query", None)
    if isinstance(query, dict):
        data["query_id"] = upsert_query(store, query)["id"]
    maker_id = data.pop("result_maker_id", None)
    if maker_id is not None:
        if any(data.get(k) is not None for k in ("query_id", "look_id", "merge_result_id")):
            raise invalid("result_maker_id", "invalid", _RESULT_MAKER_CONFLICT)
        shared = _shared_maker(store, maker_id)
        data["query_id"] = shared.get("query_id")
        data["merge_result_id"] = shared.get("merge_result_id")
    if data.get("merge_result_id") is not None:
        # A guess by analogy with query_id and look_id: a reference to a merge
        # query this instance does not have is refused. Merge queries are per
        # instance (looker-api.md), so a foreign id would show someone else's data.
        reference(store, "merge_queries", data["merge_result_id"], "merge_result_id")
    written = data.pop("result_maker", None)
    kept = current.get("result_maker") if current is not None else None
    maker: Record = dict(kept) if isinstance(kept, dict) else {}
    if isinstance(written, dict):
        maker_query = written.get("query")
        if isinstance(maker_query, dict):
            maker["query_id"] = upsert_query(store, maker_query)["id"]
            if data.get("query_id") is None and (current is None or current.get("query_id") is None):
                data["query_id"] = maker["query_id"]
        for key in ("filterables", "sorts", "dynamic_fields", "total", "sql_query_id"):
            if key in written:
                maker[key] = written[key]
    data["_result_maker"] = maker


def _finish_maker(store: Store, element: Record) -> None:
    """Point the element's result maker at what the tile shows; give it an id."""
    maker = element.pop("_result_maker", None)
    if not isinstance(maker, dict):
        return
    if element.get("type") == "text" and not maker:
        return
    maker["query_id"] = _source_query_id(store, element) or maker.get("query_id")
    maker["merge_result_id"] = element.get("merge_result_id")
    if maker.get("filterables") is None:
        maker["filterables"] = _default_filterables(store, element)
    if maker.get("id") is None:
        maker["id"] = store.next_id("result_makers")
    element["result_maker"] = maker
    element["result_maker_id"] = maker["id"]


def _check_element(call: Call, element: Record) -> None:
    store = call.store
    if element.get("look_id") is not None:
        reference(store, "looks", element["look_id"], "look_id")
    if element.get("query_id") is not None:
        reference(store, "queries", element["query_id"], "query_id")
    # Tiles that show data need a source; text, button and extension tiles do not
    # (looker-api.md: non-text elements need look_id, query_id or merge_result_id).
    if element.get("type") in _DATA_TYPES and not any(
        element.get(k) is not None for k in ("look_id", "query_id", "merge_result_id")
    ):
        raise invalid(
            "query_id",
            "missing",
            f"a {element.get('type')} element needs a look_id, query_id or merge_result_id",
        )


def _get_element(call: Call) -> object:
    element = require(call.store, "dashboard_elements", call.params["dashboard_element_id"])
    return render(call.store, "dashboard_elements", element)


def _create_element(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteDashboardElement, m.DashboardElement, creating=True)
    if not data.get("dashboard_id"):
        raise invalid("dashboard_id", "missing", "dashboard_id is required")
    reference(store, "dashboards", data["dashboard_id"], "dashboard_id")
    layout_id = element_layout(store, data["dashboard_id"], data.pop("dashboard_layout_id", None))
    _prepare_element(call, data, None)
    maker = data.pop("_result_maker")
    element = new_record(
        "dashboard_elements",
        {"type": "vis", **{k: v for k, v in data.items() if v is not None}, "id": store.next_id("dashboard_elements")},
    )
    element["_result_maker"] = maker
    _finish_maker(store, element)
    _check_element(call, element)
    store.save("dashboard_elements", element)
    add_element_component(store, element, layout_id)
    _touch_dashboard(call, element["dashboard_id"])
    return render(store, "dashboard_elements", element)


def _update_element(call: Call) -> object:
    store = call.store
    element = require(store, "dashboard_elements", call.params["dashboard_element_id"])
    data = call.write(m.WriteDashboardElement, m.DashboardElement, creating=False)
    if "dashboard_id" in data and data["dashboard_id"] != element.get("dashboard_id"):
        raise invalid("dashboard_id", "invalid", "an element cannot move to another dashboard")
    # A tile changes tabs by its layout component (update_dashboard_layout_component).
    data.pop("dashboard_layout_id", None)
    _prepare_element(call, data, element)
    maker = data.pop("_result_maker")
    updated = dict(element)
    apply_patch(updated, data)
    updated["_result_maker"] = maker
    _finish_maker(store, updated)
    _check_element(call, updated)
    store.save("dashboard_elements", updated)
    _touch_dashboard(call, updated["dashboard_id"])
    return render(store, "dashboard_elements", updated)


def _delete_element(call: Call) -> object:
    element = require(call.store, "dashboard_elements", call.params["dashboard_element_id"])
    delete_element(call.store, str(element["id"]))
    _touch_dashboard(call, element.get("dashboard_id"))
    return Reply(204)


# --- filters -----------------------------------------------------------------------------


def _get_filter(call: Call) -> object:
    dashboard_filter = require(call.store, "dashboard_filters", call.params["dashboard_filter_id"])
    return render(call.store, "dashboard_filters", dashboard_filter)


def _create_filter(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteCreateDashboardFilter, m.DashboardFilter, creating=True)
    reference(store, "dashboards", data["dashboard_id"], "dashboard_id")
    ensure_unique(store, "dashboard_filters", data)
    siblings = store.ids_by("dashboard_filters", "dashboard_id", data["dashboard_id"])
    record = new_record(
        "dashboard_filters",
        {
            "row": len(siblings),
            "allow_multiple_values": True,
            "required": False,
            "listens_to_filters": [],
            **{k: v for k, v in data.items() if v is not None},
            "id": store.next_id("dashboard_filters"),
        },
    )
    store.save("dashboard_filters", record)
    _touch_dashboard(call, record["dashboard_id"])
    return render(store, "dashboard_filters", record)


def _update_filter(call: Call) -> object:
    store = call.store
    current = require(store, "dashboard_filters", call.params["dashboard_filter_id"])
    data = call.write(m.WriteDashboardFilter, m.DashboardFilter, creating=False)
    for key in ("name", "title", "type"):
        if key in data and not data[key]:
            raise invalid(key, "missing", f"{key} is required")
    updated = dict(current)
    apply_patch(updated, data)
    ensure_unique(store, "dashboard_filters", updated, exclude=str(current["id"]))
    store.save("dashboard_filters", updated)
    _touch_dashboard(call, updated.get("dashboard_id"))
    return render(store, "dashboard_filters", updated)


def _delete_filter(call: Call) -> object:
    current = require(call.store, "dashboard_filters", call.params["dashboard_filter_id"])
    call.store.delete("dashboard_filters", str(current["id"]))
    _touch_dashboard(call, current.get("dashboard_id"))
    return Reply(204)


# --- layouts and components --------------------------------------------------------------


def _activate(call: Call, layout: Record) -> None:
    for other in call.store.by("dashboard_layouts", "dashboard_id", layout.get("dashboard_id")):
        if other["id"] != layout["id"] and other.get("active"):
            other["active"] = False


def _get_layout(call: Call) -> object:
    layout = require(call.store, "dashboard_layouts", call.params["dashboard_layout_id"])
    return render(call.store, "dashboard_layouts", layout)


def _create_layout(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteDashboardLayout, m.DashboardLayout, creating=True)
    if not data.get("dashboard_id"):
        raise invalid("dashboard_id", "missing", "dashboard_id is required")
    reference(store, "dashboards", data["dashboard_id"], "dashboard_id")
    layout = new_record(
        "dashboard_layouts",
        {
            "type": "newspaper",
            "active": False,
            "deleted": False,
            **{k: v for k, v in data.items() if v is not None},
            "id": store.next_id("dashboard_layouts"),
        },
    )
    store.save("dashboard_layouts", layout)
    if layout.get("active"):
        _activate(call, layout)
    # A guess: a new layout (a new tab) starts empty; its tiles are created with
    # its dashboard_layout_id (gzr #274) or moved onto it by their component.
    return render(store, "dashboard_layouts", layout)


def _update_layout(call: Call) -> object:
    store = call.store
    layout = require(store, "dashboard_layouts", call.params["dashboard_layout_id"])
    data = call.write(m.WriteDashboardLayout, m.DashboardLayout, creating=False)
    if "dashboard_id" in data and data["dashboard_id"] != layout.get("dashboard_id"):
        raise invalid("dashboard_id", "invalid", "a layout cannot move to another dashboard")
    updated = dict(layout)
    apply_patch(updated, data)
    store.save("dashboard_layouts", updated)
    if updated.get("active"):
        _activate(call, updated)
    return render(store, "dashboard_layouts", updated)


def _delete_layout(call: Call) -> object:
    layout = require(call.store, "dashboard_layouts", call.params["dashboard_layout_id"])
    if layout.get("active"):
        raise invalid("active", "invalid", "the active layout of a dashboard cannot be deleted")
    delete_layout(call.store, str(layout["id"]))
    return Reply(204)


def _layout_components(call: Call) -> object:
    layout = require(call.store, "dashboard_layouts", call.params["dashboard_layout_id"])
    components = call.store.by("dashboard_layout_components", "dashboard_layout_id", layout["id"])
    return render_many(call.store, "dashboard_layout_components", components)


def _get_component(call: Call) -> object:
    component = require(call.store, "dashboard_layout_components", call.params["dashboard_layout_component_id"])
    return render(call.store, "dashboard_layout_components", component)


def _update_component(call: Call) -> object:
    store = call.store
    component = require(store, "dashboard_layout_components", call.params["dashboard_layout_component_id"])
    data = call.write(m.WriteDashboardLayoutComponent, m.DashboardLayoutComponent, creating=False)
    element_id = data.pop("dashboard_element_id", None)
    if element_id is not None and element_id != component.get("dashboard_element_id"):
        # A guess: a component is its element's place; pointing it at another element is refused.
        raise invalid("dashboard_element_id", "invalid", f"dashboard_element_id {element_id!r} does not match this "
                      "component")
    layout_id = data.pop("dashboard_layout_id", None)
    updated = dict(component)
    if layout_id is not None and layout_id != component.get("dashboard_layout_id"):
        # Moving a tile to another tab: the API description lets a PATCH write
        # dashboard_layout_id (DashboardLayoutComponent, not readOnly) and
        # looker-api.md: "a component's dashboard_layout_id can be patched to
        # move a tile". Only within the same dashboard (a guess: 422 otherwise).
        here = store.find("dashboard_layouts", component.get("dashboard_layout_id")) or {}
        there = reference(store, "dashboard_layouts", layout_id, "dashboard_layout_id")
        if there.get("dashboard_id") != here.get("dashboard_id"):
            raise invalid("dashboard_layout_id", "invalid", "a component can only move to a layout of its dashboard")
        updated["dashboard_layout_id"] = layout_id
    apply_patch(updated, data)
    store.save("dashboard_layout_components", updated)
    return render(store, "dashboard_layout_components", updated)


def register(router: Router) -> None:
    """Add the dashboard routes."""
    router.add("GET", "/dashboards/search", _search)
    router.add("GET", "/dashboards/{dashboard_id}", _get)
    router.add("GET", "/dashboards", _all)
    router.add("POST", "/dashboards", _create)
    router.add("PATCH", "/dashboards/{dashboard_id}", _update)
    router.add("DELETE", "/dashboards/{dashboard_id}", _delete)
    for part in ("dashboard_elements", "dashboard_filters", "dashboard_layouts"):
        router.add("GET", f"/dashboards/{{dashboard_id}}/{part}", _parts(part))
    router.add("GET", "/dashboard_elements/{dashboard_element_id}", _get_element)
    router.add("POST", "/dashboard_elements", _create_element)
    router.add("PATCH", "/dashboard_elements/{dashboard_element_id}", _update_element)
    router.add("DELETE", "/dashboard_elements/{dashboard_element_id}", _delete_element)
    router.add("GET", "/dashboard_filters/{dashboard_filter_id}", _get_filter)
    router.add("POST", "/dashboard_filters", _create_filter)
    router.add("PATCH", "/dashboard_filters/{dashboard_filter_id}", _update_filter)
    router.add("DELETE", "/dashboard_filters/{dashboard_filter_id}", _delete_filter)
    router.add("GET", "/dashboard_layouts/{dashboard_layout_id}", _get_layout)
    router.add("POST", "/dashboard_layouts", _create_layout)
    router.add("PATCH", "/dashboard_layouts/{dashboard_layout_id}", _update_layout)
    router.add("DELETE", "/dashboard_layouts/{dashboard_layout_id}", _delete_layout)
    router.add("GET", "/dashboard_layouts/{dashboard_layout_id}/dashboard_layout_components", _layout_components)
    router.add("GET", "/dashboard_layout_components/{dashboard_layout_component_id}", _get_component)
    router.add("PATCH", "/dashboard_layout_components/{dashboard_layout_component_id}", _update_component)
