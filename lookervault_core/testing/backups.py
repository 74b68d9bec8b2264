"""Small, coherent LookerVault backups for tests, demos and benchmarks.

`sample_items()` is one Looker instance in miniature, its objects shaped as the
SDK's read models name their fields (read-only ones included, so a restore must
strip them). `build_backup` writes it as LookerVault's schema v4;
`build_legacy_backup` writes the v1-v3 layouts older files have.

Rebuild the demo's bundled backup with::

    python -m lookervault_core.testing.backups build-sample \
        lookervault_pipelines/sample/sample.sqlite
"""

from __future__ import annotations

import argparse
import copy
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from lookervault_core._backup_schema import CONTENT_COLUMNS
from lookervault_core._backup_writer import content_row
from lookervault_core.backup import BackupWriter
from lookervault_core.content_types import ContentType as CT

__all__ = [
    "as_lookervault_extracted",
    "build_backup",
    "build_legacy_backup",
    "build_synthetic_backup",
    "every_type_items",
    "lookervault_backup_items",
    "orphan_plan",
    "sample_items",
]

Item = tuple[CT, dict[str, object]]
IdForm = Literal["raw", "prefixed"]

_HOST = "https://example.looker.com"
_T0 = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)


def _at(days: float) -> datetime:
    return _T0 + timedelta(days=days)


def _can(*actions: str) -> dict[str, bool]:
    return {action: True for action in actions}


# --- access ------------------------------------------------------------------------------


def _permission_sets() -> list[Item]:
    admin = {
        "can": _can("show", "index"), "all_access": True, "built_in": True, "id": "1",
        "name": "Admin", "permissions": ["access_data", "administer", "develop", "see_looks"],
        "url": f"{_HOST}/api/4.0/permission_sets/1",
    }
    analyst = {
        "can": _can("show", "index", "update"), "all_access": False, "built_in": False, "id": "4",
        "name": "Analyst",
        "permissions": ["access_data", "see_looks", "see_user_dashboards", "explore",
                        "save_content", "schedule_look_emails"],
        "url": f"{_HOST}/api/4.0/permission_sets/4",
    }
    return [(CT.PERMISSION_SET, admin), (CT.PERMISSION_SET, analyst)]


def _model_sets() -> list[Item]:
    return [
        (CT.MODEL_SET, {"can": _can("show", "update"), "all_access": False, "built_in": False,
                        "id": "2", "models": ["thelook"], "name": "Marketing Models",
                        "url": f"{_HOST}/api/4.0/model_sets/2"}),
        (CT.MODEL_SET, {"can": _can("show", "update"), "all_access": False, "built_in": False,
                        "id": "3", "models": ["thelook", "finance"], "name": "Sales Models",
                        "url": f"{_HOST}/api/4.0/model_sets/3"}),
    ]


def _roles(permission_sets: dict[str, dict[str, object]],
           model_sets: dict[str, dict[str, object]]) -> list[Item]:
    def role(role_id: str, name: str, pset: str, mset: str) -> Item:
        # all_roles/search_roles return the sets nested; `*_set_id` is absent.
        return (CT.ROLE, {
            "can": _can("show", "update"), "id": role_id, "name": name,
            "permission_set": copy.deepcopy(permission_sets[pset]),
            "model_set": copy.deepcopy(model_sets[mset]),
            "internal": False, "url": f"{_HOST}/api/4.0/roles/{role_id}",
            "users_url": f"{_HOST}/api/4.0/roles/{role_id}/users",
        })
    return [role("7", "Sales Analyst", "4", "3"), role("8", "Marketing Analyst", "4", "2")]


def _groups() -> list[Item]:
    def group(group_id: str, name: str, users: int) -> Item:
        return (CT.GROUP, {
            "can": _can("show", "update", "delete", "edit_in_ui", "add_to_content_metadata"),
            "can_add_to_content_metadata": True, "contains_current_user": False,
            "external_group_id": None, "externally_managed": False, "id": group_id,
            "include_by_default": False, "name": name, "user_count": users,
        })
    return [group("3", "Sales Team", 1), group("4", "Marketing Team", 1)]


def _user(user_id: str, first: str, last: str, group: str, role: str, home: str, personal: str) -> Item:
    email = f"{first.lower()}.{last.lower()}@example.com"
    return (CT.USER, {
        "can": _can("show", "index", "show_details", "index_details", "sudo"),
        "avatar_url": f"https://gravatar.lookercdn.com/avatar/{user_id}?s=156&d=blank",
        "credentials_email": {
            "can": _can("show_password_reset_url"),
            "created_at": "2023-11-02T10:00:00.000+00:00",
            "email": email, "forced_password_reset_at_next_login": False, "user_id": user_id,
            "is_disabled": False, "logged_in_at": "2024-03-01T08:12:44.000+00:00",
            "password_reset_url": None, "account_setup_url": None, "type": "email",
            "url": f"{_HOST}/api/4.0/users/{user_id}/credentials_email",
            "user_url": f"{_HOST}/api/4.0/users/{user_id}",
        },
        "credentials_api3": [], "display_name": f"{first} {last}", "email": email,
        "first_name": first, "group_ids": [group], "home_folder_id": home, "id": user_id,
        "is_disabled": False, "last_name": last, "locale": "en",
        "looker_versions": ["24.2.0"], "models_dir_validated": False,
        "personal_folder_id": personal, "presumed_looker_employee": False,
        "role_ids": [role], "sessions": [], "ui_state": {"homepageGroupIdPreference": "1"},
        "verified_looker_employee": False, "roles_externally_managed": False,
        "allow_direct_roles": True, "allow_normal_group_membership": True,
        "allow_roles_from_normal_groups": True, "is_iam_admin": False,
        "can_manage_api3_creds": False, "is_service_account": False,
        "is_embed_user": False, "url": f"{_HOST}/api/4.0/users/{user_id}",
    })


def _users() -> list[Item]:
    return [_user("5", "Alice", "Analyst", "3", "7", "11", "21"),
            _user("6", "Bob", "Marketer", "4", "8", "12", "22")]


# --- LookML -----------------------------------------------------------------------------


def _lookml() -> list[Item]:
    model: dict[str, object] = {
        "can": _can("index", "show", "create", "update", "destroy"),
        "allowed_db_connection_names": ["thelook_db"],
        "explores": [{"name": "orders", "description": None, "label": "Orders", "hidden": False,
                      "group_label": "Thelook"}],
        "has_content": True, "label": "Thelook", "name": "thelook", "project_name": "thelook",
        "unlimited_db_connections": False,
    }
    explore: dict[str, object] = {
        "id": "thelook::orders", "name": "orders", "description": None, "label": "Orders",
        "title": "Orders", "scopes": ["orders", "users"], "can_total": True, "can_develop": True,
        "can_see_lookml": True, "lookml_link": "/projects/thelook/files/thelook.model.lkml?line=12",
        "can_save": True, "can_explain": False, "can_pivot_in_db": True, "can_subtotal": True,
        "has_timezone_support": True, "supports_cost_estimate": True,
        "connection_name": "thelook_db", "null_sort_treatment": "low",
        "files": ["thelook.model.lkml"], "source_file": "thelook.model.lkml",
        "project_name": "thelook", "model_name": "thelook", "view_name": "orders",
        "hidden": False, "sql_table_name": "public.orders AS orders", "group_label": "Thelook",
        "fields": {
            "dimensions": [
                {"name": "orders.created_date", "type": "date_date",
                 "label": "Orders Created Date"},
                {"name": "orders.status", "type": "string", "label": "Orders Status"},
            ],
            "measures": [{"name": "orders.count", "type": "count", "label": "Orders Count"}],
            "filters": [], "parameters": [],
        },
        "joins": [{"name": "users", "type": "left_outer", "relationship": "many_to_one"}],
    }
    return [(CT.LOOKML_MODEL, model), (CT.EXPLORE, explore)]


# --- content ----------------------------------------------------------------------------


def _folder_base(folder_id: str, name: str, parent: str, children: int) -> dict[str, object]:
    return {
        "name": name, "parent_id": parent, "id": folder_id,
        "content_metadata_id": str(int(folder_id) + 40), "created_at": _at(-90),
        "creator_id": "5", "child_count": children, "external_id": None, "is_embed": False,
        "is_embed_shared_root": False, "is_embed_users_root": False, "is_personal": False,
        "is_personal_descendant": False, "is_shared_root": False, "is_users_root": False,
        "can": _can("index", "show", "create", "see_admin_spaces", "update", "destroy",
                    "move_content", "edit_content"),
    }


def _folders() -> list[Item]:
    # all_folders returns FolderBase objects: no nested looks or dashboards.
    return [
        (CT.FOLDER, _folder_base("11", "Sales", "1", 1)),
        (CT.FOLDER, _folder_base("12", "Marketing", "1", 0)),
        (CT.FOLDER, _folder_base("13", "Regional Sales", "11", 0)),
    ]


def _query(query_id: str, fields: list[str], filters: dict[str, str], vis: str,
           slug: str) -> dict[str, object]:
    return {
        "model": "thelook", "view": "orders", "can": _can("run", "see_results", "explore",
                                                           "create", "show", "cost_estimate"),
        "id": query_id, "fields": fields, "pivots": None, "fill_fields": None,
        "filters": filters, "filter_expression": None, "sorts": [f"{fields[0]} desc"],
        "limit": "500", "column_limit": "50", "total": None, "row_total": None,
        "subtotals": None, "vis_config": {"type": vis, "show_value_labels": True},
        "filter_config": None, "visible_ui_sections": None, "slug": slug,
        "dynamic_fields": None, "client_id": f"{slug}Cli3nt", "share_url": f"{_HOST}/x/{slug}",
        "expanded_share_url": f"{_HOST}/explore/thelook/orders?qid={slug}",
        "url": f"/explore/thelook/orders?qid={slug}", "query_timezone": "UTC",
        "has_table_calculations": False,
    }


def _look(look_id: str, title: str, folder: dict[str, object], user_id: str,
          query: dict[str, object] | None, query_id: str, days: float) -> dict[str, object]:
    look: dict[str, object] = {
        "can": _can("download", "download_without_limit", "index", "show", "copy", "run",
                    "create", "move", "update", "destroy", "recover", "see_aggregate_table_lookml",
                    "see_datagroups", "see_derived_table_lookml", "see_lookml", "see_drill_overlay",
                    "schedule", "find_and_replace"),
        "content_metadata_id": str(int(look_id) + 100), "id": look_id, "title": title,
        "user_id": user_id, "content_favorite_id": None, "created_at": _at(days),
        "deleted": False, "deleted_at": None, "deleter_id": None,
        "description": f"{title}, refreshed daily", "embed_url": f"{_HOST}/embed/looks/{look_id}",
        "excel_file_url": f"{_HOST}/looks/{look_id}.xlsx", "favorite_count": 2,
        "google_spreadsheet_formula": f'=IMPORTDATA("{_HOST}/looks/{look_id}.csv")',
        "image_embed_url": f"{_HOST}/looks/{look_id}.png", "is_run_on_load": False,
        "last_accessed_at": _at(days + 30), "last_updater_id": user_id,
        "last_viewed_at": _at(days + 30), "model": {"id": "thelook", "label": "Thelook"},
        "public": False, "public_slug": None, "public_url": None, "query_id": query_id,
        "short_url": f"/x/{look_id}abc", "folder": copy.deepcopy(folder), "folder_id": folder["id"],
        "updated_at": _at(days + 7), "user_name": "Alice Analyst", "view_count": 17,
        "url": f"{_HOST}/looks/{look_id}",
    }
    if query is not None:
        look["query"] = query
    return look


def _looks(folders: dict[str, dict[str, object]], q301: dict[str, object]) -> list[Item]:
    full = _look("201", "Orders by Month", folders["11"], "5", q301, "301", 1)
    # As LookerVault's search_looks captured it: no `query`, only `query_id`.
    bare = _look("202", "Orders by Status (Regional)", folders["13"], "5", None, "301", 2)
    return [(CT.LOOK, full), (CT.LOOK, bare)]


def _element(element_id: str, dashboard_id: str, kind: str, **fields: object) -> dict[str, object]:
    element: dict[str, object] = {
        "can": _can("create", "update", "destroy", "index", "show"), "body_text": None,
        "body_text_as_html": None, "dashboard_id": dashboard_id, "edit_uri": None,
        "id": element_id, "look": None, "look_id": None, "lookml_link_id": None,
        "merge_result_id": None, "note_display": None, "note_state": None, "note_text": None,
        "note_text_as_html": None, "query": None, "query_id": None, "refresh_interval": None,
        "refresh_interval_to_i": None, "result_maker": None, "result_maker_id": None,
        "subtitle_text": None, "title": None, "title_hidden": False, "title_text": None,
        "type": kind, "alert_count": 0, "rich_content_json": None, "title_text_as_html": None,
        "subtitle_text_as_html": None, "extension_id": None,
    }
    element.update(fields)
    return element


def _listen(model: str, view: str, *bindings: tuple[str, str], name: str | None = None) -> dict[str, object]:
    """One `result_maker.filterables` entry: which dashboard filter drives which field."""
    return {"model": model, "view": view, "name": name,
            "listen": [{"dashboard_filter_name": f, "field": field} for f, field in bindings]}


def _maker(maker_id: str, query: dict[str, object] | None, *filterables: dict[str, object],
           merge_result_id: str | None = None, vis: str | None = None) -> dict[str, object]:
    return {"id": maker_id, "dynamic_fields": None, "filterables": list(filterables), "sorts": None,
            "merge_result_id": merge_result_id, "total": False,
            "query_id": None if query is None else query["id"], "sql_query_id": None,
            "query": copy.deepcopy(query), "vis_config": {"type": vis} if vis else None}


_DATE = ("Date", "orders.created_date")
_STATUS = ("Status", "orders.status")


def _dashboards(folders: dict[str, dict[str, object]], q301: dict[str, object],
                look201: dict[str, object]) -> list[Item]:
    q302 = _query("302", ["orders.status", "orders.count"], {"orders.created_date": "30 days"},
                  "looker_pie", "kq7Zb2")
    q303 = _query("303", ["orders.status", "users.count"], {}, "looker_column", "mQ4uS9")
    # The merge query behind tile 1004, as our snapshot (and gzr's export) keeps it:
    # LookerVault itself backs up no merge queries.
    merge = {"id": "m8Kq2xZ", "column_limit": "50", "dynamic_fields": None, "pivots": None,
             "result_maker_id": "9104", "sorts": ["orders.status"], "total": False, "limit": "500",
             "vis_config": {"type": "looker_column"},
             "source_queries": [
                 {"name": "Orders", "query_id": "302", "query": copy.deepcopy(q302), "merge_fields": None},
                 {"name": "Users", "query_id": "303", "query": copy.deepcopy(q303),
                  "merge_fields": [{"field_name": "orders.status", "source_field_name": "orders.status"}]},
             ]}
    look_tile = copy.deepcopy(look201)
    elements = [
        # Overview tab: a look tile and a query tile bound to the filters, a text tile.
        _element("1001", "101", "vis", look_id="201", look=look_tile, title="Orders by Month",
                 result_maker=_maker("9001", q301, _listen("thelook", "orders", _DATE), vis="looker_line"),
                 result_maker_id="9001"),
        _element("1002", "101", "vis", query_id="302", query=q302, title="Orders by Status",
                 result_maker=_maker("9002", q302, _listen("thelook", "orders", _DATE, _STATUS), vis="looker_pie"),
                 result_maker_id="9002"),
        _element("1003", "101", "text", title_text="About this dashboard",
                 subtitle_text="Sales KPIs", body_text="Numbers refresh every morning at 6am UTC."),
        # Details tab: merged results (both source queries bound to Status) and a query tile.
        _element("1004", "101", "vis", merge_result_id="m8Kq2xZ", merge_result=merge, title="Orders and Users",
                 result_maker=_maker("9104", None, _listen("thelook", "orders", _STATUS, name="Orders"),
                                     _listen("thelook", "orders", _STATUS, name="Users"),
                                     merge_result_id="m8Kq2xZ", vis="looker_column"),
                 result_maker_id="9104"),
        _element("1005", "101", "vis", query_id="303", query=q303, title="Users by Status",
                 result_maker=_maker("9005", q303, _listen("thelook", "orders", _STATUS), vis="looker_column"),
                 result_maker_id="9005"),
    ]
    filters = [
        {"can": _can("show", "update"), "id": "2001", "dashboard_id": "101", "name": "Date",
         "title": "Date", "type": "field_filter", "default_value": "30 days", "model": "thelook",
         "explore": "orders", "dimension": "orders.created_date", "field": None, "row": 0,
         "listens_to_filters": [], "allow_multiple_values": True, "required": False,
         "ui_config": {"type": "relative_timeframes", "display": "inline"}},
        {"can": _can("show", "update"), "id": "2002", "dashboard_id": "101", "name": "Status",
         "title": "Status", "type": "field_filter", "default_value": "complete", "model": "thelook",
         "explore": "orders", "dimension": "orders.status", "field": None, "row": 1,
         "listens_to_filters": ["Date"], "allow_multiple_values": True, "required": False,
         "ui_config": {"type": "button_group", "display": "inline"}},
    ]

    def components(layout_id: str, *placed: tuple[int, dict[str, object], int, int, int, str]) -> list[object]:
        return [
            {"can": _can("show", "update"), "id": f"4{layout_id[-1]}0{n}", "dashboard_layout_id": layout_id,
             "dashboard_element_id": element["id"], "row": row, "column": column, "width": width,
             "height": 6, "deleted": False, "element_title": element.get("title"),
             "element_title_hidden": False, "vis_type": vis}
            for n, element, row, column, width, vis in placed
        ]

    def tab(layout_id: str, label: str, order: int, active: bool, placed: list[object]) -> dict[str, object]:
        return {
            "can": _can("show", "update"), "id": layout_id, "dashboard_id": "101", "type": "newspaper",
            "active": active, "column_width": None, "width": None, "deleted": False, "label": label,
            "description": None, "order": order, "dashboard_title": "Sales Overview",
            "dashboard_layout_components": placed,
        }

    layouts = [
        tab("3001", "Overview", 0, True, components(
            "3001", (1, elements[0], 0, 0, 12, "looker_line"), (2, elements[1], 0, 12, 12, "looker_pie"),
            (3, elements[2], 6, 0, 24, "text"))),
        tab("3002", "Details", 1, False, components(
            "3002", (1, elements[3], 0, 0, 16, "looker_column"), (2, elements[4], 0, 16, 8, "looker_column"))),
    ]
    common = {
        "content_favorite_id": None, "hidden": False, "query_timezone": "UTC",
        "readonly": False, "refresh_interval": None, "refresh_interval_to_i": None,
        "preferred_viewer": "dashboards-next", "alert_sync_with_dashboard_filter_enabled": False,
        "background_color": None, "crossfilter_enabled": True, "deleted": False,
        "deleted_at": None, "deleter_id": None, "enable_viz_full_screen": True,
        "filters_bar_collapsed": False, "filters_location_top": True, "load_configuration": "wait",
        "lookml_link_id": None, "show_filters_bar": True, "show_title": True,
        "text_tile_text_color": None, "tile_background_color": None, "tile_text_color": None,
        "title_color": None, "model": None, "is_owner_disabled": False,
    }
    sales: dict[str, object] = {
        **copy.deepcopy(common),
        "can": _can("download", "see_lookml", "move", "create", "show", "copy", "update",
                    "destroy", "recover", "schedule"),
        "content_metadata_id": "201", "description": "Weekly sales KPIs", "id": "101",
        "folder": copy.deepcopy(folders["11"]), "title": "Sales Overview", "user_id": "5",
        "slug": "sRx8kqT2",
        "created_at": _at(3), "dashboard_elements": elements, "dashboard_filters": filters,
        "dashboard_layouts": layouts, "edit_uri": None, "favorite_count": 4,
        "last_accessed_at": _at(40), "last_viewed_at": _at(40), "updated_at": _at(20),
        "last_updater_id": "5", "last_updater_name": "Alice Analyst", "user_name": "Alice Analyst",
        "folder_id": "11", "view_count": 128, "url": f"{_HOST}/dashboards/101",
    }
    # As LookerVault's search_dashboards captured it: no elements, filters or layouts.
    funnel: dict[str, object] = {
        **copy.deepcopy(common), "can": _can("show", "update", "destroy"),
        "content_metadata_id": "202", "description": None, "id": "102",
        "folder": copy.deepcopy(folders["12"]), "title": "Marketing Funnel",
        "user_id": "6", "slug": "mF9nL3pQ", "created_at": _at(5), "favorite_count": 0,
        "last_accessed_at": _at(35), "last_viewed_at": _at(35), "updated_at": _at(10),
        "last_updater_id": "6", "last_updater_name": "Bob Marketer", "user_name": "Bob Marketer",
        "folder_id": "12", "view_count": 9, "url": f"{_HOST}/dashboards/102",
    }
    return [(CT.DASHBOARD, sales), (CT.DASHBOARD, funnel)]


def _scheduled_plan() -> Item:
    return (CT.SCHEDULED_PLAN, {
        "name": "Weekly Sales Overview", "user_id": "5", "run_as_recipient": False,
        "enabled": True, "look_id": None, "dashboard_id": "101", "lookml_dashboard_id": None,
        "filters_string": "?Date=30+days&Status=complete", "dashboard_filters": None,
        "require_results": False, "require_no_results": False, "require_change": False,
        "send_all_results": False, "crontab": "0 8 * * 1", "datagroup": None,
        "timezone": "America/New_York",
        "scheduled_plan_destination": [{
            "id": "501", "scheduled_plan_id": "401", "format": "wysiwyg_pdf",
            "apply_formatting": True, "apply_vis": True, "address": "sales-leads@example.com",
            "looker_recipient": False, "type": "email", "parameters": None,
            "secret_parameters": None, "message": "This week's numbers.",
        }],
        "run_once": False, "include_links": True, "pdf_paper_size": "letter",
        "pdf_landscape": True, "embed": False, "color_theme": None, "long_tables": False,
        "inline_table_width": None, "query_id": None, "id": "401", "created_at": _at(4),
        "updated_at": _at(21), "title": "Sales Overview", "content_title": None,
        "user": {"can": {}, "id": "5", "first_name": "Alice", "last_name": "Analyst",
                 "display_name": "Alice Analyst",
                 "avatar_url": "https://gravatar.lookercdn.com/avatar/5?s=156&d=blank",
                 "is_service_account": False, "is_embed_user": False,
                 "url": f"{_HOST}/api/4.0/users/5"},
        "next_run_at": _at(60), "last_run_at": _at(53), "last_run_status": "success",
        "can": _can("show", "update", "destroy"),
    })


def _board() -> Item:
    def board_item(item_id: str, order: int, **target: object) -> dict[str, object]:
        kind = "dashboards" if "dashboard_id" in target else "looks"
        target_id = target.get("dashboard_id", target.get("look_id"))
        return {
            "can": _can("show", "update", "destroy"), "content_created_by": "Alice Analyst",
            "content_favorite_id": None, "content_metadata_id": None,
            "content_updated_at": "2024-03-24T09:30:00.000+00:00", "custom_description": None,
            "custom_title": None, "custom_url": None, "dashboard_id": None,
            "description": None, "favorite_count": 0, "board_section_id": "701", "id": item_id,
            "image_url": None, "location": "Sales", "look_id": None, "lookml_dashboard_id": None,
            "order": order, "title": None, "url": f"/{kind}/{target_id}",
            "use_custom_description": False, "use_custom_title": False, "use_custom_url": False,
            "view_count": 5, **target,
        }
    items = [board_item("801", 1, dashboard_id="101"), board_item("802", 2, look_id="201")]
    section = {
        "can": _can("show", "update", "destroy"), "created_at": _at(6), "deleted_at": None,
        "description": "Start here", "board_id": "601", "board_items": items, "id": "701",
        "item_order": ["801", "802"], "visible_item_order": ["801", "802"],
        "title": "Key dashboards", "updated_at": _at(6),
    }
    return (CT.BOARD, {
        "can": _can("show", "update", "destroy"), "content_metadata_id": "310",
        "created_at": _at(6), "deleted_at": None, "description": "Everything sales",
        "board_sections": [section], "id": "601", "section_order": ["701"],
        "title": "Sales Hub", "updated_at": _at(6), "user_id": "5", "primary_homepage": False,
    })


def sample_items() -> list[Item]:
    """A small coherent Looker instance with all twelve types, in dependency order.

    Folders 11 and 12 sit below Shared ("1"), 13 below 11. Look 201 carries its
    query (301); look 202 is LookerVault-style, only `query_id` 301. Dashboard
    101 has two filters (Status listens to Date) and two tabs: "Overview" with
    a look tile and a query tile bound to the filters and a text tile,
    "Details" with a merged-results tile (its merge query held as the tile's
    `merge_result`, as our snapshot keeps it) and a query tile (303) bound to
    Status. Dashboard 102 is LookerVault-style, without elements, filters or
    layouts. Permission set 1 is the built-in Admin one. Every call returns
    fresh dicts.
    """
    psets = _permission_sets()
    msets = _model_sets()
    folders = _folders()
    by_id = {str(d["id"]): d for _, d in folders}
    q301 = _query("301", ["orders.created_month", "orders.count"],
                  {"orders.created_date": "12 months"}, "looker_line", "aB3dE5f")
    looks = _looks(by_id, q301)
    return [
        *psets, *msets,
        *_roles({str(d["id"]): d for _, d in psets}, {str(d["id"]): d for _, d in msets}),
        *_groups(), *_users(), *_lookml(), *folders,
        *looks, *_dashboards(by_id, q301, looks[0][1]), _scheduled_plan(), _board(),
    ]


def as_lookervault_extracted(items: Iterable[Item]) -> list[Item]:
    """The same items as LookerVault's own extraction holds them.

    Its `search_looks` keeps a look's `query_id` but not the query, and it
    backs up no merge queries (backup-format.md); tiles keep their nested
    queries. Every call returns fresh dicts.
    """
    out: list[Item] = []
    for content_type, data in items:
        data = copy.deepcopy(data)
        if content_type is CT.LOOK:
            data.pop("query", None)
        for element in data.get("dashboard_elements") or []:  # type: ignore[attr-defined]
            element.pop("merge_result", None)
        out.append((content_type, data))
    return out


# --- LookerVault-shaped extras: what real instances hold beyond the sample (issue 7) -----


def _system_folder(folder_id: str, name: str, parent: str | None, **flags: object) -> dict[str, object]:
    # As LookerVault writes all_folders rows: FolderBase, top-level None values dropped.
    folder = {**_folder_base(folder_id, name, parent or "", 0), **flags}
    if parent is None:
        del folder["parent_id"]
    del folder["external_id"]
    return folder


def _extra_folders() -> list[Item]:
    return [
        (CT.FOLDER, _system_folder("1", "Shared", None, is_shared_root=True, creator_id="1")),
        (CT.FOLDER, _system_folder("2", "Users", None, is_users_root=True, creator_id="1")),
        (CT.FOLDER, _system_folder("21", "Alice Analyst", "2", is_personal=True)),
        (CT.FOLDER, _system_folder("22", "Bob Marketer", "2", is_personal=True, creator_id="6")),
        # Siblings whose names Looker's search cannot tell apart ("_" is a wildcard).
        (CT.FOLDER, _folder_base("14", "Q1_2024", "1", 0)),
        (CT.FOLDER, _folder_base("15", "Q1-2024", "1", 0)),
    ]


def _extra_groups() -> list[Item]:
    def group(group_id: str, name: str, **fields: object) -> Item:
        return (CT.GROUP, {
            "can": _can("show", "update"), "can_add_to_content_metadata": True,
            "contains_current_user": False, "externally_managed": False, "id": group_id,
            "include_by_default": False, "name": name, "user_count": 2, **fields,
        })
    return [group("1", "All Users", include_by_default=True),
            group("5", "Okta Admins", externally_managed=True, external_group_id="00g-okta-admins")]


def _embed_user() -> Item:
    return (CT.USER, {
        "can": _can("show", "index"), "credentials_embed": [{
            "can": {}, "created_at": "2024-01-05T10:00:00.000+00:00", "external_group_id": "acme",
            "external_user_id": "cust-42", "id": "77", "is_disabled": False, "type": "embed",
            "logged_in_at": "2024-03-01T08:00:00.000+00:00",
        }],
        "credentials_api3": [], "display_name": "Embed Viewer", "first_name": "Embed",
        "last_name": "Viewer", "group_ids": ["1"], "id": "30", "is_disabled": False, "locale": "en",
        "role_ids": [], "sessions": [], "is_embed_user": True, "roles_externally_managed": False,
        "url": f"{_HOST}/api/4.0/users/30",
    })


def _sftp_plan() -> Item:
    plan = copy.deepcopy(_scheduled_plan()[1])
    plan.update(
        id="402", name="Sales Overview to SFTP", tab_ids=["3001"], crontab="0 6 * * *",
        scheduled_plan_destination=[{
            "id": "502", "scheduled_plan_id": "402", "format": "csv_zip", "apply_formatting": True,
            "apply_vis": False, "address": "sftp://files.example.com/reports", "looker_recipient": False,
            "type": "sftp", "parameters": '{"username":"looker"}', "secret_parameters": None,
            "message": None,
        }],
    )
    return (CT.SCHEDULED_PLAN, plan)


def orphan_plan() -> Item:
    """A schedule whose owner (user 9, "Carol Departed") is in neither the backup nor Looker."""
    plan = copy.deepcopy(_scheduled_plan()[1])
    plan.update(id="403", name="Carol's weekly", user_id="9",
                user={"id": "9", "display_name": "Carol Departed", "first_name": "Carol",
                      "last_name": "Departed"})
    for destination in plan["scheduled_plan_destination"]:  # type: ignore[attr-defined]
        destination.update(id="503", scheduled_plan_id="403")
    return (CT.SCHEDULED_PLAN, plan)


def lookervault_backup_items() -> list[Item]:
    """`sample_items()` plus what a LookerVault backup of a real instance also holds.

    The Shared (1) and Users (2) roots and the users' personal folders (21, 22),
    as all_folders returns them; sibling folders "Q1_2024" (14) and "Q1-2024"
    (15); the built-in "All Users" group (1), which every user is in, and an
    externally managed group (5) Alice belongs to; an embed user (30, external
    id "cust-42"); a certified look (201); and a schedule (402) of dashboard 101
    with an SFTP destination and `tab_ids` ["3001"].
    """
    items = sample_items()
    out: list[Item] = []
    for ct, data in items:
        if ct is CT.USER:
            data["group_ids"] = ["1", *data["group_ids"], *(["5"] if data["id"] == "5" else [])]  # type: ignore[misc]
        if ct is CT.LOOK and data["id"] == "201":
            data["certification_metadata"] = {
                "certification_status": "certified", "notes": "Checked by finance",
                "updated_at": _at(8), "user_name": "Alice Analyst", "ui_status": None,
            }
        out.append((ct, data))
        if ct is CT.GROUP and data["id"] == "4":
            out.extend(_extra_groups())
        if ct is CT.USER and data["id"] == "6":
            out.append(_embed_user())
        if ct is CT.LOOKML_MODEL:
            out.extend(_extra_folders())
        if ct is CT.SCHEDULED_PLAN:
            out.append(_sftp_plan())
    return out


# --- every type, with content in personal folders (issue 16) -------------------------------

#: (id, first, last, home folder, personal folder) of `every_type_items()`'s users.
_PEOPLE = (("1", "Alan", "Johnson", "5", "5"), ("2", "Beth", "Lopez", "1", "6"),
           ("3", "Chen", "Wu", "7", "7"), ("4", "Dana", "Kim", "1", "20"))
#: (id, name, parent) of its regular folders; 5-7 are personal, 12 and 13 below personal ones.
_TREE = (("3", "Sales", "1"), ("4", "Marketing", "1"), ("8", "Regional", "3"), ("9", "EMEA", "8"),
         ("10", "Campaigns", "4"), ("11", "Finance", "1"), ("12", "Drafts", "5"), ("13", "Experiments", "7"),
         ("14", "Q1_2024", "1"), ("15", "Q1-2024", "1"), ("16", "Archive", "11"))
#: (id, title, folder, owner) of its looks and dashboards.
_LOOKS = (("1", "Revenue", "3", "1"), ("2", "Orders", "3", "2"), ("3", "Leads", "4", "2"),
          ("4", "My revenue", "5", "1"), ("5", "Regional orders", "8", "1"), ("6", "EMEA orders", "9", "3"),
          ("7", "Campaign reach", "10", "2"), ("8", "Budget", "11", "4"), ("9", "Draft revenue", "12", "1"),
          ("10", "Beth's leads", "6", "2"), ("11", "Trial", "13", "3"), ("12", "Old budget", "16", "4"))
_DASHBOARDS = (("1", "Sales KPIs", "3", "1"), ("2", "Marketing KPIs", "4", "2"), ("3", "Alan's board", "5", "1"),
               ("4", "Regional KPIs", "8", "1"), ("5", "Beth's desk", "6", "2"), ("6", "Finance KPIs", "11", "4"),
               ("7", "Draft KPIs", "12", "1"), ("8", "Chen's lab", "7", "3"))


def _small_dashboard(dashboard_id: str, title: str, folder: dict[str, object], owner: str,
                     look: dict[str, object]) -> dict[str, object]:
    """A dashboard with a look tile, a query tile and a text tile on one layout, and one filter."""
    n = int(dashboard_id)
    query = _query(str(200 + n), ["orders.status", "orders.count"], {"orders.status": f"s{n}"},
                   "looker_pie", f"dq{n}")
    elements = [
        _element(f"{n}01", dashboard_id, "vis", look_id=look["id"], look=copy.deepcopy(look),
                 title=f"{title}: {look['title']}"),
        _element(f"{n}02", dashboard_id, "vis", query_id=query["id"], query=query, title=f"{title}: by status",
                 result_maker=_maker(f"{n}92", query, _listen("thelook", "orders", _STATUS), vis="looker_pie"),
                 result_maker_id=f"{n}92"),
        _element(f"{n}03", dashboard_id, "text", title_text=f"About {title}", body_text="Refreshed daily."),
    ]
    components = [{"id": f"{n}4{t}", "dashboard_layout_id": f"{n}30", "dashboard_element_id": el["id"],
                   "row": 0, "column": 8 * t, "width": 8, "height": 6, "deleted": False}
                  for t, el in enumerate(elements)]
    return {
        "id": dashboard_id, "title": title, "description": f"{title}, weekly", "user_id": owner,
        "folder_id": folder["id"], "folder": copy.deepcopy(folder), "created_at": _at(n), "updated_at": _at(n + 1),
        "slug": f"dash{n}Slug", "hidden": False, "query_timezone": "UTC", "deleted": False, "view_count": n,
        "can": _can("show", "update"), "url": f"{_HOST}/dashboards/{dashboard_id}",
        "dashboard_elements": elements,
        "dashboard_filters": [{"id": f"{n}50", "dashboard_id": dashboard_id, "name": "Status", "title": "Status",
                               "type": "field_filter", "model": "thelook", "explore": "orders",
                               "dimension": "orders.status", "default_value": None, "row": 0,
                               "listens_to_filters": [], "allow_multiple_values": True, "required": False}],
        "dashboard_layouts": [{"id": f"{n}30", "dashboard_id": dashboard_id, "type": "newspaper", "active": True,
                               "deleted": False, "label": None, "order": 0,
                               "dashboard_layout_components": components}],
    }


def _plan(plan_id: str, owner: str, *, dashboard_id: str | None = None, look_id: str | None = None) -> Item:
    plan = copy.deepcopy(_scheduled_plan()[1])
    first, last = next((p[1], p[2]) for p in _PEOPLE if p[0] == owner)
    plan.update(id=plan_id, name=f"Weekly {plan_id}", user_id=owner, dashboard_id=dashboard_id, look_id=look_id,
                filters_string=None, user={"id": owner, "first_name": first, "last_name": last,
                                           "display_name": f"{first} {last}"})
    for destination in plan["scheduled_plan_destination"]:  # type: ignore[attr-defined]
        destination.update(id=f"5{plan_id}", scheduled_plan_id=plan_id)
    return (CT.SCHEDULED_PLAN, plan)


def _hub(board_id: str, owner: str, dashboard_id: str, look_id: str) -> Item:
    board = copy.deepcopy(_board()[1])
    section = board["board_sections"][0]  # type: ignore[index]
    section.update(id=f"7{board_id}", board_id=board_id, item_order=[f"8{board_id}1", f"8{board_id}2"],
                   visible_item_order=[f"8{board_id}1", f"8{board_id}2"])
    first, second = section["board_items"]
    first.update(id=f"8{board_id}1", board_section_id=f"7{board_id}", dashboard_id=dashboard_id,
                 url=f"/dashboards/{dashboard_id}")
    second.update(id=f"8{board_id}2", board_section_id=f"7{board_id}", look_id=look_id, url=f"/looks/{look_id}")
    board.update(id=board_id, title=f"Hub {board_id}", user_id=owner, section_order=[f"7{board_id}"],
                 content_metadata_id=f"31{board_id}")
    return (CT.BOARD, board)


def every_type_items() -> list[Item]:
    """A small backup of every type whose content also sits in users' personal folders.

    Four users (1-4), each with a home folder: Shared or their own personal
    folder. Sixteen folders: Shared (1), Users (2), the personal folders of
    users 1-3 (5, 6, 7; Dana's, 20, is not in the backup), and eleven regular
    ones, two of them (12, 13) below personal folders. Twelve looks carrying
    their queries and eight dashboards (a look tile, a query tile, a text tile
    and a filter each) spread over all of them, personal folders included; two
    schedules and two boards. Ids are small, as on any instance: an empty
    destination gives out the same numbers to other objects. Every call
    returns fresh dicts.
    """
    psets, msets = _permission_sets(), _model_sets()
    folders: dict[str, dict[str, object]] = {
        "1": _system_folder("1", "Shared", None, is_shared_root=True, creator_id="1"),
        "2": _system_folder("2", "Users", None, is_users_root=True, creator_id="1"),
    }
    for user_id, first, last, _, personal in _PEOPLE[:3]:
        folders[personal] = _system_folder(personal, f"{first} {last}", "2", is_personal=True, creator_id=user_id)
    for folder_id, name, parent in _TREE:
        folders[folder_id] = {**_folder_base(folder_id, name, parent, 0),
                              "is_personal_descendant": parent in ("5", "6", "7")}
    for folder_id, folder in folders.items():
        folder["created_at"] = _at(-90 + int(folder_id))  # Looker's created_at tells objects apart
    users = [_user(i, first, last, "3" if int(i) % 2 else "4", "7" if int(i) % 2 else "8", home, personal)
             for i, first, last, home, personal in _PEOPLE]
    looks = {i: _look(i, title, folders[folder], owner,
                      _query(str(100 + int(i)), ["orders.created_month", "orders.count"],
                             {"orders.status": f"l{i}"}, "looker_line", f"lq{i}"), str(100 + int(i)), int(i))
             for i, title, folder, owner in _LOOKS}
    dashboards = [_small_dashboard(i, title, folders[folder], owner, looks[str(int(i) + 2)])
                  for i, title, folder, owner in _DASHBOARDS]
    return [
        *psets, *msets,
        *_roles({str(d["id"]): d for _, d in psets}, {str(d["id"]): d for _, d in msets}),
        *_groups(), *users, *_lookml(), *((CT.FOLDER, f) for f in folders.values()),
        *((CT.LOOK, look) for look in looks.values()), *((CT.DASHBOARD, d) for d in dashboards),
        _plan("1", "2", dashboard_id="1"), _plan("2", "1", look_id="4"),
        _hub("1", "1", "3", "4"), _hub("2", "3", "8", "11"),
    ]


# --- files ------------------------------------------------------------------------------


def build_backup(path: str | os.PathLike[str], items: Iterable[Item] | None = None, *,
                 id_form: IdForm | None = None, schema_version: int = 4) -> Path:
    """Write `items` (default: `sample_items()`) as a LookerVault backup.

    `id_form` defaults to raw ids for v4 and prefixed ids for older versions,
    whose `PRIMARY KEY (id)` needs them. Versions 1-3 go through
    `build_legacy_backup`.
    """
    items = sample_items() if items is None else items
    if schema_version != 4:
        return build_legacy_backup(path, schema_version, items, id_form=id_form or "prefixed")
    with BackupWriter(path, id_form=id_form or "raw") as writer:
        for content_type, data in items:
            writer.add(content_type, data)
    return Path(path)


_LEGACY_DESCRIPTIONS = {
    1: "Initial schema",
    2: "Added folder_id column with partial index",
    3: "Added unique constraints for idempotent upsert operations",
}


def build_legacy_backup(path: str | os.PathLike[str], version: int, items: Iterable[Item], *,
                        id_form: IdForm = "prefixed", with_version_table: bool = True) -> Path:
    """Write a pre-v4 backup: `PRIMARY KEY (id)`, and no `folder_id` column in v1.

    Ids must be unique across types (hence prefixed ids by default). Without
    `with_version_table` the file has no `schema_version` table at all.

    Raises:
        ValueError: an unsupported version, or two items with the same stored id.
    """
    if version not in _LEGACY_DESCRIPTIONS:
        raise ValueError(f"legacy schema version must be 1, 2 or 3, not {version}")
    columns = CONTENT_COLUMNS if version >= 2 else CONTENT_COLUMNS[:-1]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"""CREATE TABLE content_items (
            id TEXT PRIMARY KEY NOT NULL, content_type INTEGER NOT NULL, name TEXT NOT NULL,
            owner_id INTEGER, owner_email TEXT, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, synced_at TEXT NOT NULL, deleted_at TEXT DEFAULT NULL,
            content_size INTEGER NOT NULL, content_data BLOB NOT NULL
            {", folder_id TEXT DEFAULT NULL" if version >= 2 else ""})""")
        if with_version_table:
            conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                         "applied_at TEXT NOT NULL, description TEXT)")
            conn.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                         (version, datetime.now().isoformat(), _LEGACY_DESCRIPTIONS[version]))
        conn.execute("BEGIN")
        for content_type, data in items:
            values = content_row(content_type, data, id_form=id_form)[:len(columns)]
            try:
                conn.execute(f"INSERT INTO content_items ({', '.join(columns)}) "
                             f"VALUES ({', '.join('?' * len(columns))})", values)
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"id {values[0]!r} is stored twice; use prefixed ids") from exc
        conn.execute("COMMIT")
    finally:
        conn.close()
    return target


def build_synthetic_backup(path: str | os.PathLike[str], *, folders: int, looks: int,
                           dashboards: int, tiles_per_dashboard: int, users: int = 0, schedules: int = 0,
                           boards: int = 0) -> Path:
    """A larger backup for benchmarks: the sample's users, sets and model, plus generated content.

    Folders 1001.. form a tree below Shared; looks 10001.. carry their query;
    dashboards 100001.. alternate look tiles and query tiles, each laid out in
    one layout, with one filter. Users 2001.. (home folder among the folders),
    scheduled plans 3001.. (of dashboards, owned by user 5) and boards 4001..
    (a dashboard and a look each) when asked for.
    """
    static = {CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER, CT.LOOKML_MODEL,
              CT.EXPLORE}
    folder_ids = [str(1001 + n) for n in range(folders)]
    look_ids = [str(10001 + n) for n in range(looks)]
    with BackupWriter(path) as writer:
        for content_type, data in sample_items():
            if content_type in static:
                writer.add(content_type, data)
        for n, folder_id in enumerate(folder_ids):
            parent = "1" if n < 5 else folder_ids[(n - 5) // 3]
            writer.add(CT.FOLDER, _folder_base(folder_id, f"Folder {folder_id}", parent, 0))
        homes = folder_ids or ["1"]
        for n, look_id in enumerate(look_ids):
            folder = _folder_base(homes[n % len(homes)], "Folder", "1", 0)
            query = _query(str(500000 + n), ["orders.created_date", "orders.count"],
                           {"orders.status": "complete"}, "looker_column", f"q{n}")
            writer.add(CT.LOOK, _look(look_id, f"Look {look_id}", folder, "5", query,
                                      str(500000 + n), n % 50))
        for n in range(dashboards):
            writer.add(CT.DASHBOARD, _synthetic_dashboard(str(100001 + n), homes[n % len(homes)],
                                                          look_ids, tiles_per_dashboard))
        for n in range(users):
            _, user = _user(str(2001 + n), f"User{n}", "Bench", "3", "7", homes[n % len(homes)], "21")
            user["personal_folder_id"] = None
            writer.add(CT.USER, user)
        alice = {"id": "5", "first_name": "Alice", "last_name": "Analyst", "display_name": "Alice Analyst"}
        for n in range(schedules if dashboards else 0):
            _, plan = _plan(str(3001 + n), "1", dashboard_id=str(100001 + n % dashboards))
            plan.update(user_id="5", user=alice)
            writer.add(CT.SCHEDULED_PLAN, plan)
        for n in range(boards if dashboards and looks else 0):
            writer.add(*_hub(str(4001 + n), "5", str(100001 + n % dashboards), look_ids[n % len(look_ids)]))
    return Path(path)


def _synthetic_dashboard(dashboard_id: str, folder_id: str, look_ids: Sequence[str],
                         tiles: int) -> dict[str, object]:
    elements = []
    for t in range(tiles):
        element_id = f"{dashboard_id}{t:04d}"
        if t % 2 == 0 and look_ids:
            elements.append(_element(element_id, dashboard_id, "vis",
                                     look_id=look_ids[(int(dashboard_id) + t) % len(look_ids)],
                                     title=f"Tile {t}"))
        else:
            query_id = f"9{element_id}"
            elements.append(_element(element_id, dashboard_id, "vis", query_id=query_id,
                                     query=_query(query_id, ["orders.status", "orders.count"], {},
                                                  "looker_bar", f"s{element_id}"),
                                     title=f"Tile {t}"))
    components = [
        {"id": f"{el['id']}1", "dashboard_layout_id": f"{dashboard_id}0", "dashboard_element_id":
         el["id"], "row": (t // 4) * 6, "column": (t % 4) * 6, "width": 6, "height": 6,
         "deleted": False}
        for t, el in enumerate(elements)
    ]
    return {
        "id": dashboard_id, "title": f"Dashboard {dashboard_id}", "user_id": "5",
        "folder_id": folder_id, "created_at": _at(1), "updated_at": _at(2), "view_count": 3,
        "can": _can("show", "update"), "url": f"{_HOST}/dashboards/{dashboard_id}",
        "dashboard_elements": elements,
        "dashboard_filters": [{"id": f"{dashboard_id}9", "dashboard_id": dashboard_id,
                               "name": "Status", "title": "Status", "type": "field_filter",
                               "model": "thelook", "explore": "orders",
                               "dimension": "orders.status", "default_value": None}],
        "dashboard_layouts": [{"id": f"{dashboard_id}0", "dashboard_id": dashboard_id,
                               "type": "newspaper", "active": True,
                               "dashboard_layout_components": components}],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """`build-sample PATH`: (re)write the sample backup at PATH."""
    parser = argparse.ArgumentParser(prog="python -m lookervault_core.testing.backups")
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("build-sample", help="write sample_items() as a v4 backup")
    sample.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    target: Path = args.path
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    build_backup(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def sample_alert(alert_id: str, element_id: str, dashboard_id: str, owner_id: str, **fields: object) -> Item:
    """An alert on a tile of the sample's dashboards, as a snapshot holds it (`search_alerts`).

    `dashboard_id` is not an Alert field: the snapshot adds the tile's dashboard
    (backup-format notes in the README), so restore can name and order it.
    """
    return (CT.ALERT, {
        "id": alert_id, "dashboard_element_id": element_id, "dashboard_id": dashboard_id, "owner_id": owner_id,
        "field": {"title": "Orders Count", "name": "orders.count", "filter": None},
        "comparison_type": "GREATER_THAN", "threshold": 100.0, "cron": "0 6 * * *",
        "destinations": [{"destination_type": "EMAIL", "email_address": "alice@example.com",
                          "action_hub_integration_id": None, "action_hub_form_params_json": None}],
        "custom_title": f"Alert {alert_id}", "is_disabled": False, "is_public": True,
        "applied_dashboard_filters": [{"filter_title": "Date", "field_name": "orders.created_date",
                                       "filter_value": "30 days", "filter_description": None}],
        **fields,
    })
