"""Records as GET returns them: every field of the SDK read model, derived ones filled in.

A stored record holds what was written; `render` adds what Looker computes on
read (a dashboard's elements, filters and layouts, a look's query and folder,
a user's email and display name, a group's user count, `url` and `can`) and
keeps exactly the fields of the response model, missing ones as null.
"""

from __future__ import annotations

from collections.abc import Callable

from looker_sdk.sdk.api40 import models as m

from .shapes import Shape, complete, shape
from .state import Store, id_list, sort_key

__all__ = ["READ_MODELS", "render", "render_many"]

Record = dict[str, object]

#: The SDK read model of each collection (the full one that GET /x/{id} returns).
READ_MODELS: dict[str, type] = {
    "folders": m.Folder,
    "looks": m.LookWithQuery,
    "queries": m.Query,
    "merge_queries": m.MergeQuery,
    "dashboards": m.Dashboard,
    "dashboard_elements": m.DashboardElement,
    "dashboard_filters": m.DashboardFilter,
    "dashboard_layouts": m.DashboardLayout,
    "dashboard_layout_components": m.DashboardLayoutComponent,
    "users": m.User,
    "groups": m.Group,
    "roles": m.Role,
    "permission_sets": m.PermissionSet,
    "model_sets": m.ModelSet,
    "scheduled_plans": m.ScheduledPlan,
    "scheduled_plan_destinations": m.ScheduledPlanDestination,
    "boards": m.Board,
    "board_sections": m.BoardSection,
    "board_items": m.BoardItem,
    "lookml_models": m.LookmlModel,
    "explores": m.LookmlModelExplore,
    "alerts": m.Alert,
    "content_metadata_accesses": m.ContentMetaGroupUser,
    "user_attributes": m.UserAttribute,
    "user_attribute_group_values": m.UserAttributeGroupValue,
}

_CRUD = ("index", "show", "create", "update", "destroy")
_CAN: dict[str, dict[str, bool]] = {
    "folders": dict.fromkeys((*_CRUD, "access_data", "see_admin_spaces", "edit_content"), True),
    "looks": dict.fromkeys((*_CRUD, "download", "move", "copy", "schedule", "see_lookml", "explore"), True),
    "queries": dict.fromkeys(("run", "see_results", "explore", "create", "show", "cost_estimate", "see_sql"), True),
    "dashboards": dict.fromkeys(
        (*_CRUD, "download", "move", "copy", "schedule", "see_lookml", "see_aggregate_table_lookml"), True
    ),
    "merge_queries": dict.fromkeys(("show", "create"), True),
    "dashboard_elements": dict.fromkeys(_CRUD, True),
    "dashboard_filters": dict.fromkeys(_CRUD, True),
    "dashboard_layouts": dict.fromkeys(_CRUD, True),
    "dashboard_layout_components": dict.fromkeys(("index", "show", "update"), True),
    "users": dict.fromkeys((*_CRUD, "show_details", "index_details", "sudo"), True),
    "groups": dict.fromkeys((*_CRUD, "edit_in_ui", "add_to_content_metadata"), True),
    "roles": dict.fromkeys(_CRUD, True),
    "permission_sets": dict.fromkeys(_CRUD, True),
    "model_sets": dict.fromkeys(_CRUD, True),
    "scheduled_plans": dict.fromkeys((*_CRUD, "run_once"), True),
    "boards": dict.fromkeys(_CRUD, True),
    "board_sections": dict.fromkeys(_CRUD, True),
    "board_items": dict.fromkeys(_CRUD, True),
    "lookml_models": dict.fromkeys((*_CRUD, "explore"), True),
    "credentials_email": dict.fromkeys(("show_password_reset_url", "create", "update", "destroy", "show"), True),
    "content_metadata_accesses": dict.fromkeys(_CRUD, True),
    # API description, POST /user_attributes: `can.set_value` says whether a user's value can be set.
    "user_attributes": dict.fromkeys((*_CRUD, "set_value"), True),
    "user_attribute_group_values": dict.fromkeys(_CRUD, True),
}

_Renderer = Callable[[Store, Record, Shape], None]


def _false(*names: str) -> dict[str, object]:
    return dict.fromkeys(names, False)


_FOLDER_FLAGS = _false(
    "is_embed",
    "is_embed_shared_root",
    "is_embed_users_root",
    "is_personal",
    "is_personal_descendant",
    "is_shared_root",
    "is_users_root",
)
_LOOK_FLAGS = _false("deleted", "is_run_on_load", "public", "is_owner_disabled")

#: Fields the API description marks `nullable: false`, with the value Looker reports by default.
_NOT_NULL: dict[type, dict[str, object]] = {
    m.Folder: _FOLDER_FLAGS,
    m.FolderBase: _FOLDER_FLAGS,
    m.LookWithQuery: _LOOK_FLAGS,
    m.Look: _LOOK_FLAGS,
    m.LookWithDashboards: _LOOK_FLAGS,
    m.Query: _false("has_table_calculations"),
    m.Dashboard: {
        **_false(
            "hidden",
            "readonly",
            "alert_sync_with_dashboard_filter_enabled",
            "chat_enabled",
            "crossfilter_enabled",
            "deleted",
            "filters_bar_collapsed",
            "is_owner_disabled",
            "preserve_desktop_layout",
        ),
        "enable_viz_full_screen": True,
        "filters_location_top": True,
    },
    m.DashboardBase: _false("hidden", "readonly"),
    m.DashboardElement: _false("title_hidden"),
    m.DashboardFilter: {"allow_multiple_values": True, "required": False},
    m.DashboardLayout: _false("active", "deleted"),
    m.DashboardLayoutComponent: _false("deleted", "element_title_hidden"),
    m.User: {
        **_false(
            "is_disabled",
            "presumed_looker_employee",
            "verified_looker_employee",
            "roles_externally_managed",
            "is_iam_admin",
            "can_manage_api3_creds",
            "is_service_account",
        ),
        "allow_direct_roles": True,
        "allow_normal_group_membership": True,
        "allow_roles_from_normal_groups": True,
    },
    m.UserPublic: {"first_name": "", "last_name": "", "avatar_url": ""},
    m.CredentialsEmail: _false(
        "forced_password_reset_at_next_login", "is_disabled", "password_reset_url_expired", "account_setup_url_expired"
    ),
    m.Group: _false("can_add_to_content_metadata", "contains_current_user", "externally_managed", "include_by_default"),
    m.Role: _false("internal"),
    m.PermissionSet: _false("all_access", "built_in"),
    m.ModelSet: _false("all_access", "built_in"),
    m.ScheduledPlan: {
        **_false(
            "run_as_recipient",
            "require_results",
            "require_no_results",
            "require_change",
            "send_all_results",
            "run_once",
            "include_links",
            "include_dashboard_summary",
            "show_custom_url",
            "pdf_landscape",
            "embed",
            "long_tables",
            "pdf_page_breaks",
        ),
        "enabled": True,
    },
    m.ScheduledPlanDestination: _false("apply_formatting", "apply_vis", "looker_recipient"),
    m.Board: _false("primary_homepage"),
    m.BoardItem: {
        **_false("use_custom_description", "use_custom_title", "use_custom_url", "use_custom_image"),
        "url": "",
    },
    m.LookmlModel: _false("has_content", "unlimited_db_connections"),
    m.Alert: _false("is_disabled", "is_public", "followed", "followable", "show_custom_url"),
    m.UserAttribute: _false("is_system", "is_permanent", "value_is_hidden", "user_can_view", "user_can_edit",
                            "needed_for_ci_run"),
    m.UserAttributeGroupValue: _false("value_is_hidden"),
    m.UserAttributeWithValue: _false("user_can_edit", "value_is_hidden"),
    m.ContentMeta: _false("inherits"),
    m.ResultMakerWithIdVisConfigAndDynamicFields: _false("total"),
    m.LookmlModelExplore: {
        **_false(
            "can_total",
            "can_develop",
            "can_see_lookml",
            "can_save",
            "can_explain",
            "can_pivot_in_db",
            "can_subtotal",
            "has_timezone_support",
            "supports_cost_estimate",
            "hidden",
        ),
        "supported_measure_types": [],
    },
}


def fill_not_null(model: type, out: Record) -> Record:
    """Replace nulls in fields Looker never leaves null by their default value."""
    for key, default in _NOT_NULL.get(model, {}).items():
        if out.get(key) is None:
            out[key] = list(default) if isinstance(default, list) else default
    return out


def render(store: Store, collection: str, record: Record, model: type | None = None) -> Record:
    """A stored record as the API returns it, in the shape of `model` (default: read model)."""
    sh = shape(model or READ_MODELS[collection])
    out = dict(record)
    if collection in _CAN:
        out["can"] = dict(_CAN[collection])
    derive = _RENDERERS.get(collection)
    if derive is not None:
        derive(store, out, sh)
    fill_not_null(sh.model, out)
    return {k: out.get(k) for k in sh.keys}


def render_many(store: Store, collection: str, records: list[Record], model: type | None = None) -> list[Record]:
    """Render each record."""
    return [render(store, collection, r, model) for r in records]


def _display_name(user: Record | None) -> str | None:
    if user is None:
        return None
    name = " ".join(str(p) for p in (user.get("first_name"), user.get("last_name")) if p)
    return name or None


def _user_name(store: Store, user_id: object) -> str | None:
    return _display_name(store.find("users", user_id))


def _folder_base(store: Store, folder_id: object) -> Record | None:
    folder = store.find("folders", folder_id)
    return render(store, "folders", folder, m.FolderBase) if folder is not None else None


def _label(name: object) -> str | None:
    return str(name).replace("_", " ").title() if name else None


def _api_url(store: Store, *parts: object) -> str:
    return "/".join([f"{store.base_url}/api/4.0", *(str(p) for p in parts)])


# --- content -----------------------------------------------------------------------------


def _folder(store: Store, out: Record, sh: Shape) -> None:
    fid = out["id"]
    out["child_count"] = len(store.ids_by("folders", "parent_id", fid))
    personal_descendant = False
    parent = store.find("folders", out.get("parent_id"))
    for _ in range(64):
        if parent is None:
            break
        if parent.get("is_personal"):
            personal_descendant = True
            break
        parent = store.find("folders", parent.get("parent_id"))
    out["is_personal_descendant"] = personal_descendant
    if "dashboards" in sh.fields:
        out["dashboards"] = [
            render(store, "dashboards", d, m.DashboardBase)
            for d in store.by("dashboards", "folder_id", fid)
            if not d.get("deleted")
        ]
    if "looks" in sh.fields:
        out["looks"] = [
            render(store, "looks", look, m.LookWithDashboards)
            for look in store.by("looks", "folder_id", fid)
            if not look.get("deleted")
        ]


def _look(store: Store, out: Record, sh: Shape) -> None:
    lid = out["id"]
    query = store.find("queries", out.get("query_id"))
    out["folder"] = _folder_base(store, out.get("folder_id"))
    out["model"] = {"id": query["model"], "label": _label(query["model"])} if query else None
    out["url"] = f"/looks/{lid}"
    out["short_url"] = f"/x/{out.get('query_id') or lid}"
    out["embed_url"] = f"{store.base_url}/embed/looks/{lid}"
    out["user_name"] = _user_name(store, out.get("user_id"))
    out["public_url"] = f"{store.base_url}/looks/{out.get('public_slug')}" if out.get("public") else None
    if "query" in sh.fields:
        out["query"] = render(store, "queries", query) if query else None
    if "dashboards" in sh.fields:
        dashboard_ids = {
            e["dashboard_id"] for e in store.by("dashboard_elements", "look_id", lid) if e.get("dashboard_id")
        }
        out["dashboards"] = [
            render(store, "dashboards", store.tables["dashboards"][d], m.DashboardBase)
            for d in sorted(dashboard_ids, key=lambda x: sort_key(str(x)))
            if d in store.tables["dashboards"]
        ]


def _query(store: Store, out: Record, sh: Shape) -> None:
    slug = out.get("slug") or out["id"]
    out["slug"] = slug
    out["url"] = f"/explore/{out.get('model')}/{out.get('view')}?qid={slug}"
    out["share_url"] = f"{store.base_url}/x/{out.get('client_id') or slug}"
    out["expanded_share_url"] = f"{store.base_url}{out['url']}"
    if out.get("has_table_calculations") is None:
        out["has_table_calculations"] = False


def _dashboard(store: Store, out: Record, sh: Shape) -> None:
    did = out["id"]
    out["folder"] = _folder_base(store, out.get("folder_id"))
    out["url"] = f"/dashboards/{did}"
    out["user_name"] = _user_name(store, out.get("user_id"))
    out["last_updater_name"] = _user_name(store, out.get("last_updater_id"))
    if "dashboard_elements" in sh.fields:
        out["dashboard_elements"] = render_many(
            store, "dashboard_elements", store.by("dashboard_elements", "dashboard_id", did)
        )
    if "dashboard_filters" in sh.fields:
        filters = store.by("dashboard_filters", "dashboard_id", did)
        filters.sort(key=_filter_row)
        out["dashboard_filters"] = render_many(store, "dashboard_filters", filters)
    if "dashboard_layouts" in sh.fields:
        out["dashboard_layouts"] = render_many(
            store, "dashboard_layouts", store.by("dashboard_layouts", "dashboard_id", did)
        )


def _filter_row(dashboard_filter: Record) -> int:
    row = dashboard_filter.get("row")
    return row if isinstance(row, int) else 1 << 30


def _element(store: Store, out: Record, sh: Shape) -> None:
    look = store.find("looks", out.get("look_id"))
    out["look"] = render(store, "looks", look) if look is not None else None
    query = store.find("queries", out.get("query_id"))
    out["query"] = render(store, "queries", query) if query is not None else None
    maker = out.get("result_maker")
    if isinstance(maker, dict):
        maker = dict(maker)
        maker_query = store.find("queries", maker.get("query_id"))
        maker["query"] = render(store, "queries", maker_query) if maker_query is not None else None
        # looker-api.md: result_maker.vis_config is read-only and Looker fills it
        # from what the tile shows (its query, or its merge query).
        merge = store.find("merge_queries", maker.get("merge_result_id"))
        source = merge if merge is not None else maker_query
        maker["vis_config"] = source.get("vis_config") if source is not None else None
        out["result_maker"] = fill_not_null(
            m.ResultMakerWithIdVisConfigAndDynamicFields,
            complete(shape(m.ResultMakerWithIdVisConfigAndDynamicFields), maker),
        )


def _merge_query(store: Store, out: Record, sh: Shape) -> None:
    out["result_maker_id"] = out.get("result_maker_id") or out["id"]


def _layout(store: Store, out: Record, sh: Shape) -> None:
    dashboard = store.find("dashboards", out.get("dashboard_id"))
    out["dashboard_title"] = dashboard.get("title") if dashboard else None
    out["dashboard_layout_components"] = render_many(
        store,
        "dashboard_layout_components",
        store.by("dashboard_layout_components", "dashboard_layout_id", out["id"]),
    )


def _component(store: Store, out: Record, sh: Shape) -> None:
    element = store.find("dashboard_elements", out.get("dashboard_element_id"))
    if element is None:
        return
    title = element.get("title")
    look = store.find("looks", element.get("look_id"))
    if title is None and look is not None:
        title = look.get("title")
    out["element_title"] = title
    out["element_title_hidden"] = bool(element.get("title_hidden"))
    query = store.find("queries", element.get("query_id") or (look or {}).get("query_id"))
    vis = query.get("vis_config") if query else None
    vis_type = vis.get("type") if isinstance(vis, dict) else None
    out["vis_type"] = vis_type or ("text" if element.get("type") == "text" else element.get("type"))


# --- people ------------------------------------------------------------------------------


def credentials_email(store: Store, user_id: str, creds: Record) -> Record:
    """A user's CredentialsEmail as GET returns it."""
    out = dict(creds)
    out.update(
        user_id=user_id,
        type="email",
        can=dict(_CAN["credentials_email"]),
        url=_api_url(store, "users", user_id, "credentials_email"),
        user_url=_api_url(store, "users", user_id),
    )
    return fill_not_null(m.CredentialsEmail, complete(shape(m.CredentialsEmail), out))


def _user(store: Store, out: Record, sh: Shape) -> None:
    uid = str(out["id"])
    creds = out.get("credentials_email")
    out["credentials_email"] = credentials_email(store, uid, creds) if isinstance(creds, dict) else None
    out["email"] = creds.get("email") if isinstance(creds, dict) else None
    out["display_name"] = _display_name(out)
    out["url"] = _api_url(store, "users", uid)
    out["group_ids"] = id_list(out.get("group_ids"))
    out["role_ids"] = id_list(out.get("role_ids"))


def _group(store: Store, out: Record, sh: Shape) -> None:
    members = store.ids_by("users", "group_ids", out["id"])
    out["user_count"] = len(members)
    out["contains_current_user"] = "1" in members


def _role(store: Store, out: Record, sh: Shape) -> None:
    rid = out["id"]
    pset = store.find("permission_sets", out.get("permission_set_id"))
    mset = store.find("model_sets", out.get("model_set_id"))
    out["permission_set"] = render(store, "permission_sets", pset) if pset is not None else None
    out["model_set"] = render(store, "model_sets", mset) if mset is not None else None
    out["url"] = _api_url(store, "roles", rid)
    out["users_url"] = _api_url(store, "roles", rid, "users")


def _permission_set(store: Store, out: Record, sh: Shape) -> None:
    out["url"] = _api_url(store, "permission_sets", out["id"])


def _model_set(store: Store, out: Record, sh: Shape) -> None:
    out["url"] = _api_url(store, "model_sets", out["id"])
    if out.get("built_in") and out.get("all_access"):
        out["models"] = sorted(store.tables["lookml_models"])


# --- schedules, boards, LookML ------------------------------------------------------------


def _scheduled_plan(store: Store, out: Record, sh: Shape) -> None:
    destinations = store.by("scheduled_plan_destinations", "scheduled_plan_id", out["id"])
    out["scheduled_plan_destination"] = render_many(store, "scheduled_plan_destinations", destinations)
    user = store.find("users", out.get("user_id"))
    out["user"] = render(store, "users", user, m.UserPublic) if user is not None else None
    content = store.find("looks", out.get("look_id")) or store.find("dashboards", out.get("dashboard_id"))
    title = content.get("title") if content else out.get("lookml_dashboard_id")
    out["title"] = title
    out["content_title"] = title


def _destination(store: Store, out: Record, sh: Shape) -> None:
    # Looker never returns destination secrets.
    out["secret_parameters"] = None


def _board(store: Store, out: Record, sh: Shape) -> None:
    sections = {str(s["id"]): s for s in store.by("board_sections", "board_id", out["id"])}
    order = [s for s in id_list(out.get("section_order")) if s in sections]
    order += [s for s in sections if s not in order]
    out["section_order"] = order
    out["board_sections"] = [render(store, "board_sections", sections[s]) for s in order]


def _board_section(store: Store, out: Record, sh: Shape) -> None:
    items = {str(i["id"]): i for i in store.by("board_items", "board_section_id", out["id"])}
    order = [i for i in id_list(out.get("item_order")) if i in items]
    order += [i for i in items if i not in order]
    out["item_order"] = order
    out["visible_item_order"] = list(order)
    if "board_items" in sh.fields:
        out["board_items"] = [render(store, "board_items", items[i]) for i in order]


def _board_item(store: Store, out: Record, sh: Shape) -> None:
    dashboard = store.find("dashboards", out.get("dashboard_id"))
    look = store.find("looks", out.get("look_id"))
    content = dashboard or look
    title = content.get("title") if content else None
    out["title"] = out.get("custom_title") if out.get("use_custom_title") else title
    if out.get("use_custom_description"):
        out["description"] = out.get("custom_description")
    elif content is not None:
        out["description"] = content.get("description")
    if dashboard is not None:
        out["url"] = f"/dashboards/{dashboard['id']}"
    elif look is not None:
        out["url"] = f"/looks/{look['id']}"
    elif out.get("lookml_dashboard_id"):
        out["url"] = f"/dashboards/{out['lookml_dashboard_id']}"
    else:
        out["url"] = out.get("custom_url")
    out["content_created_by"] = _user_name(store, content.get("user_id")) if content else None
    out["content_updated_at"] = content.get("updated_at") if content else None


def _lookml_model(store: Store, out: Record, sh: Shape) -> None:
    listed = out.get("explores")
    explores = [
        {**e, "hidden": bool(e.get("hidden"))} if isinstance(e, dict) else e
        for e in (listed if isinstance(listed, list) else [])
    ]
    out["explores"] = explores
    out["has_content"] = bool(explores)
    if out.get("label") is None:
        out["label"] = _label(out.get("name"))


def _alert(store: Store, out: Record, sh: Shape) -> None:
    out["owner_display_name"] = _display_name(store.find("users", out.get("owner_id")))
    # Guess: only public alerts can be followed (the API description says no more than
    # "Whether or not the alert is followable"); the caller's own follow is not kept.
    out["followable"] = bool(out.get("is_public"))
    out["followed"] = False
    if out.get("investigative_content_type") == "dashboard":
        dashboard = store.find("dashboards", out.get("investigative_content_id"))
        out["investigative_content_title"] = None if dashboard is None else dashboard.get("title")


_RENDERERS: dict[str, _Renderer] = {
    "folders": _folder,
    "looks": _look,
    "queries": _query,
    "merge_queries": _merge_query,
    "dashboards": _dashboard,
    "dashboard_elements": _element,
    "dashboard_layouts": _layout,
    "dashboard_layout_components": _component,
    "users": _user,
    "groups": _group,
    "roles": _role,
    "permission_sets": _permission_set,
    "model_sets": _model_set,
    "scheduled_plans": _scheduled_plan,
    "scheduled_plan_destinations": _destination,
    "boards": _board,
    "board_sections": _board_section,
    "board_items": _board_item,
    "lookml_models": _lookml_model,
    "alerts": _alert,
}
