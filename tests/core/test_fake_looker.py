"""The fake Looker API, driven through the real looker-sdk over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import looker_sdk
import pytest
import requests
from looker_sdk.error import SDKError
from looker_sdk.rtl import api_settings
from looker_sdk.sdk.api40 import models as m
from looker_sdk.sdk.api40.methods import Looker40SDK

from lookervault_core.testing import spec_check
from lookervault_core.testing.fake_looker import (
    DropConnection,
    ExpireToken,
    FakeLooker,
    Fault,
    FaultRule,
    Latency,
    RateLimit,
    ServerError,
    parse_fault_rule,
    parse_latency_rule,
)

DOCS_PREFIX = "https://docs.cloud.google.com/looker/docs/r/err/4.0/"


class _Settings(api_settings.ApiSettings):
    """SDK settings from a dict, without looker.ini."""

    def __init__(self, config: dict[str, str]) -> None:
        self._config = config
        super().__init__()

    def read_config(self) -> api_settings.SettingsConfig:
        return cast(api_settings.SettingsConfig, dict(self._config))


def make_sdk(fake: FakeLooker, *, secret: str | None = None) -> Looker40SDK:
    return looker_sdk.init40(
        config_settings=_Settings(
            {
                "base_url": fake.base_url,
                "client_id": fake.client_id,
                "client_secret": secret or fake.client_secret,
                "verify_ssl": "false",
                "timeout": "10",
            }
        )
    )


@pytest.fixture
def fake() -> Iterator[FakeLooker]:
    with FakeLooker() as looker:
        # The LookML project is deployed: queries of `thelook` can be created.
        looker.put("lookml_models", {"name": "thelook", "project_name": "thelook"})
        yield looker


@pytest.fixture
def sdk(fake: FakeLooker) -> Iterator[Looker40SDK]:
    client = make_sdk(fake)
    yield client
    client.transport.session.close()  # type: ignore[attr-defined]


@pytest.fixture
def http(fake: FakeLooker) -> Iterator[requests.Session]:
    """A raw authenticated session, for status codes and headers the SDK hides."""
    session = requests.Session()
    answer = session.post(
        f"{fake.base_url}/api/4.0/login",
        data={"client_id": fake.client_id, "client_secret": fake.client_secret},
    )
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    yield session
    session.close()


def api(fake: FakeLooker, path: str) -> str:
    return f"{fake.base_url}/api/4.0{path}"


def new_folder(sdk: Looker40SDK, name: str = "Sales", parent_id: str = "1") -> m.Folder:
    return sdk.create_folder(m.CreateFolder(name=name, parent_id=parent_id))


def new_query(sdk: Looker40SDK, *fields: str) -> m.Query:
    return sdk.create_query(m.WriteQuery(model="thelook", view="orders", fields=list(fields or ["orders.count"])))


def new_look(sdk: Looker40SDK, folder_id: str, title: str = "Orders") -> m.LookWithQuery:
    query = new_query(sdk)
    return sdk.create_look(m.WriteLookWithQuery(title=title, query_id=query.id, folder_id=folder_id))


def new_dashboard(sdk: Looker40SDK, folder_id: str, title: str = "Overview") -> m.Dashboard:
    return sdk.create_dashboard(m.WriteDashboard(title=title, folder_id=folder_id))


def errors_of(exc: pytest.ExceptionInfo[SDKError]) -> list[tuple[str | None, str | None]]:
    return [(e.field, e.code) for e in exc.value.errors]


# --- session ---------------------------------------------------------------------------------


def test_login_and_me(fake: FakeLooker, sdk: Looker40SDK) -> None:
    me = sdk.me()
    assert (me.id, me.display_name, me.role_ids) == ("1", "API User", ["1"])
    personal = sdk.folder(cast(str, me.personal_folder_id))
    assert personal.is_personal and personal.parent_id == "2"
    login = fake.requests[0]
    assert (login.method, login.path, login.status) == ("POST", "/login", 200)
    assert login.body == {"client_id": fake.client_id, "client_secret": "***"}


def test_bad_credentials_are_refused_like_looker_with_404(fake: FakeLooker) -> None:
    bad = make_sdk(fake, secret="wrong")
    with pytest.raises(SDKError):
        bad.me()
    bad.transport.session.close()  # type: ignore[attr-defined]
    assert fake.requests[-1].status == 404


def test_missing_bad_and_token_scheme_authorization(fake: FakeLooker, http: requests.Session) -> None:
    token = cast(str, http.headers["Authorization"]).split()[1]
    anonymous = requests.get(api(fake, "/user"))
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "Requires authentication."
    assert anonymous.json()["documentation_url"].startswith(DOCS_PREFIX + "401/")
    assert requests.get(api(fake, "/user"), headers={"Authorization": "Bearer nope"}).status_code == 401
    assert requests.get(api(fake, "/user"), headers={"Authorization": f"token {token}"}).status_code == 200


def test_token_expires_after_its_ttl() -> None:
    with FakeLooker(token_ttl_s=0) as looker:
        login = requests.post(
            api(looker, "/login"), data={"client_id": looker.client_id, "client_secret": looker.client_secret}
        ).json()
        assert login["token_type"] == "Bearer" and login["expires_in"] == 0 and "refresh_token" in login
        answer = requests.get(api(looker, "/user"), headers={"Authorization": f"Bearer {login['access_token']}"})
        assert answer.status_code == 401


def test_logout_revokes_the_token(fake: FakeLooker, sdk: Looker40SDK) -> None:
    sdk.me()
    token = sdk.auth.token.access_token
    sdk.auth.logout()
    assert (fake.requests[-1].method, fake.requests[-1].path, fake.requests[-1].status) == ("DELETE", "/logout", 204)
    assert requests.get(api(fake, "/user"), headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_seeded_system_content(sdk: Looker40SDK) -> None:
    shared, users = sdk.folder("1"), sdk.folder("2")
    assert (shared.name, shared.is_shared_root, shared.parent_id) == ("Shared", True, None)
    assert (users.name, users.is_users_root) == ("Users", True)
    admin = sdk.role("1")
    assert admin.name == "Admin"
    assert admin.permission_set is not None and admin.permission_set.built_in and admin.permission_set.all_access
    assert admin.model_set is not None and admin.model_set.name == "All" and admin.model_set.built_in


# --- folders ---------------------------------------------------------------------------------


def test_folder_crud(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    sales = new_folder(sdk)
    assert sales.id == "4" and sales.created_at is not None and sales.creator_id == "1"
    emea = new_folder(sdk, "EMEA", sales.id)
    assert [f.name for f in sdk.folder_children(cast(str, sales.id))] == ["EMEA"]
    assert sdk.folder(cast(str, sales.id)).child_count == 1
    renamed = sdk.update_folder(cast(str, emea.id), m.UpdateFolder(name="Europe"))
    assert renamed.name == "Europe"
    assert [f.id for f in sdk.search_folders(name="eur%")] == [emea.id]
    assert {f.name for f in sdk.all_folders()} >= {"Shared", "Users", "Sales", "Europe"}
    assert http.delete(api(fake, f"/folders/{sales.id}")).status_code == 204
    assert http.get(api(fake, f"/folders/{emea.id}")).status_code == 404
    assert new_folder(sdk, "Again").id == "6"  # ids of deleted folders are never reused


def test_folder_writes_are_validated(sdk: Looker40SDK) -> None:
    # A missing or unknown parent is 404, as recorded (test_fake_recorded).
    with pytest.raises(SDKError) as missing:
        sdk.create_folder(cast(m.CreateFolder, {"name": "No parent"}))
    assert errors_of(missing) == []
    with pytest.raises(SDKError) as dangling:
        new_folder(sdk, "Orphan", "999")
    assert "could not be found" in str(dangling.value)
    new_folder(sdk)
    with pytest.raises(SDKError) as duplicate:
        new_folder(sdk)
    assert errors_of(duplicate) == [("name", "already_exists")]
    with pytest.raises(SDKError):
        sdk.update_folder("1", m.UpdateFolder(name="Not Shared"))


# --- queries and looks -------------------------------------------------------------------------


def test_queries_dedupe_and_have_a_numeric_id_and_a_slug(sdk: Looker40SDK) -> None:
    first = new_query(sdk, "orders.count")
    again = new_query(sdk, "orders.count")
    other = new_query(sdk, "orders.total")
    assert first.id == again.id != first.slug and again.slug == first.slug
    assert isinstance(first.id, str) and first.id.isdigit() and other.id != first.id
    assert sdk.query_for_slug(cast(str, first.slug)).id == first.id
    fetched = sdk.query(cast(str, first.id))
    assert (fetched.model, fetched.view, fetched.fields) == ("thelook", "orders", ["orders.count"])


def test_look_crud(sdk: Looker40SDK) -> None:
    folder = new_folder(sdk)
    look = new_look(sdk, cast(str, folder.id))
    assert look.query is not None and look.query.model == "thelook"
    assert look.folder is not None and look.folder.name == "Sales"
    assert look.url == f"/looks/{look.id}" and look.user_id == "1"
    updated = sdk.update_look(cast(str, look.id), m.WriteLookWithQuery(title="Orders by day"))
    assert updated.title == "Orders by day" and updated.updated_at is not None
    assert [x.id for x in sdk.all_looks()] == [look.id]
    assert [x.id for x in sdk.search_looks(title="orders%", folder_id=folder.id)] == [look.id]
    assert [x.title for x in cast(list[m.LookWithDashboards], sdk.folder(cast(str, folder.id)).looks)] == [
        "Orders by day"
    ]


def test_look_with_an_inline_query_creates_the_query(sdk: Looker40SDK) -> None:
    folder = new_folder(sdk)
    look = sdk.create_look(
        m.WriteLookWithQuery(title="Inline", folder_id=folder.id, query=m.WriteQuery(model="thelook", view="users"))
    )
    assert look.query_id is not None and sdk.query(look.query_id).view == "users"


def test_look_references_and_title_are_checked(sdk: Looker40SDK) -> None:
    folder = new_folder(sdk)
    query = new_query(sdk)
    with pytest.raises(SDKError) as bad_query:
        sdk.create_look(m.WriteLookWithQuery(title="X", query_id="nope", folder_id=folder.id))
    assert errors_of(bad_query) == [("query_id", "not_found")]
    with pytest.raises(SDKError) as bad_folder:
        sdk.create_look(m.WriteLookWithQuery(title="X", query_id=query.id, folder_id="999"))
    assert errors_of(bad_folder) == [("folder_id", "not_found")]
    new_look(sdk, cast(str, folder.id), "Same")
    with pytest.raises(SDKError) as duplicate:
        new_look(sdk, cast(str, folder.id), "Same")
    assert errors_of(duplicate) == [("title", "already_exists")]


def test_look_soft_delete_then_hard_delete(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    folder = new_folder(sdk)
    look = new_look(sdk, cast(str, folder.id))
    trashed = sdk.update_look(cast(str, look.id), m.WriteLookWithQuery(deleted=True))
    assert trashed.deleted and trashed.deleted_at is not None and trashed.deleter_id == "1"
    assert sdk.all_looks() == [] and sdk.search_looks(title="Orders") == []
    assert [x.id for x in sdk.search_looks(deleted=True)] == [look.id]
    assert sdk.look(cast(str, look.id)).deleted is True
    restored = sdk.update_look(cast(str, look.id), m.WriteLookWithQuery(deleted=False))
    assert not restored.deleted and restored.deleted_at is None
    assert http.delete(api(fake, f"/looks/{look.id}")).status_code == 204
    assert http.get(api(fake, f"/looks/{look.id}")).status_code == 404


# --- dashboards --------------------------------------------------------------------------------


def test_dashboard_gets_an_active_default_layout(sdk: Looker40SDK) -> None:
    dashboard = new_dashboard(sdk, cast(str, new_folder(sdk).id))
    layouts = cast(list[m.DashboardLayout], dashboard.dashboard_layouts)
    assert len(layouts) == 1 and layouts[0].active and layouts[0].dashboard_layout_components == []
    assert dashboard.dashboard_elements == [] and dashboard.url == f"/dashboards/{dashboard.id}"
    assert dashboard.folder is not None and dashboard.folder.name == "Sales"


def test_non_text_elements_need_a_source(sdk: Looker40SDK) -> None:
    dashboard_id = cast(str, new_dashboard(sdk, cast(str, new_folder(sdk).id)).id)
    text = sdk.create_dashboard_element(
        m.WriteDashboardElement(dashboard_id=dashboard_id, type="text", title_text="Hi")
    )
    assert text.type == "text"
    with pytest.raises(SDKError) as no_source:
        sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard_id, type="vis"))
    assert errors_of(no_source) == [("query_id", "missing")]
    with pytest.raises(SDKError) as no_dashboard:
        sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id="999", type="text"))
    assert errors_of(no_dashboard) == [("dashboard_id", "not_found")]


def test_dashboard_update_cannot_change_nested_parts(sdk: Looker40SDK) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    dashboard = new_dashboard(sdk, folder_id)
    sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard.id, type="text"))
    body = {"title": "Renamed", "dashboard_elements": [], "dashboard_layouts": []}
    updated = sdk.update_dashboard(cast(str, dashboard.id), cast(m.WriteDashboard, body))
    assert updated.title == "Renamed"
    assert len(updated.dashboard_elements or []) == 1 and len(updated.dashboard_layouts or []) == 1


def test_duplicate_dashboard_title_in_one_folder_is_422(sdk: Looker40SDK) -> None:
    sales, other = cast(str, new_folder(sdk).id), cast(str, new_folder(sdk, "Other").id)
    new_dashboard(sdk, sales, "KPIs")
    new_dashboard(sdk, other, "KPIs")
    with pytest.raises(SDKError) as exc:
        new_dashboard(sdk, sales, "kpis")
    assert exc.value.message == "Validation Failed"
    assert errors_of(exc) == [("title", "already_exists")]
    assert exc.value.errors[0].documentation_url.startswith(DOCS_PREFIX + "422/")


def test_dashboard_filters(sdk: Looker40SDK) -> None:
    dashboard_id = cast(str, new_dashboard(sdk, cast(str, new_folder(sdk).id)).id)
    with pytest.raises(SDKError) as incomplete:
        sdk.create_dashboard_filter(cast(m.WriteCreateDashboardFilter, {"dashboard_id": dashboard_id, "name": "date"}))
    assert sorted(errors_of(incomplete)) == [("title", "missing"), ("type", "missing")]
    created = sdk.create_dashboard_filter(
        m.WriteCreateDashboardFilter(dashboard_id=dashboard_id, name="date", title="Date", type="field_filter")
    )
    updated = sdk.update_dashboard_filter(cast(str, created.id), m.WriteDashboardFilter(title="Order date"))
    assert updated.title == "Order date"
    assert [f.name for f in sdk.dashboard_dashboard_filters(dashboard_id)] == ["date"]
    sdk.delete_dashboard_filter(cast(str, created.id))
    assert sdk.dashboard(dashboard_id).dashboard_filters == []


def test_layout_components_are_update_only(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    dashboard = new_dashboard(sdk, cast(str, new_folder(sdk).id))
    sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard.id, type="text"))
    layout_id = cast(str, sdk.dashboard_dashboard_layouts(cast(str, dashboard.id))[0].id)
    component = sdk.dashboard_layout_dashboard_layout_components(layout_id)[0]
    moved = sdk.update_dashboard_layout_component(
        cast(str, component.id), m.WriteDashboardLayoutComponent(row=2, column=4, width=12, height=3)
    )
    assert (moved.row, moved.column, moved.width, moved.height) == (2, 4, 12, 3)
    assert http.post(api(fake, "/dashboard_layout_components"), json={"row": 1}).status_code == 404
    with pytest.raises(SDKError) as wrong_element:
        sdk.update_dashboard_layout_component(
            cast(str, component.id), m.WriteDashboardLayoutComponent(dashboard_element_id="999")
        )
    assert errors_of(wrong_element) == [("dashboard_element_id", "invalid")]


def test_dashboard_soft_and_hard_delete(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    dashboard = new_dashboard(sdk, cast(str, new_folder(sdk).id))
    sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard.id, type="text"))
    sdk.update_dashboard(cast(str, dashboard.id), m.WriteDashboard(deleted=True))
    assert sdk.all_dashboards() == [] and sdk.search_dashboards(title="Overview") == []
    assert [d.id for d in sdk.search_dashboards(deleted="true")] == [dashboard.id]
    assert sdk.dashboard(cast(str, dashboard.id)).deleted_at is not None
    assert http.delete(api(fake, f"/dashboards/{dashboard.id}")).status_code == 204
    assert http.get(api(fake, f"/dashboards/{dashboard.id}")).status_code == 404
    assert fake.all("dashboard_elements") == {} and fake.all("dashboard_layouts") == {}


def test_a_nested_folder_in_a_write_renames_the_folder(sdk: Looker40SDK) -> None:
    folder = new_folder(sdk)
    dashboard = new_dashboard(sdk, cast(str, folder.id))
    body = {"description": "x", "folder": {"name": "Renamed by accident", "id": folder.id}}
    sdk.update_dashboard(cast(str, dashboard.id), cast(m.WriteDashboard, body))
    assert sdk.folder(cast(str, folder.id)).name == "Renamed by accident"


# --- users, groups, roles ----------------------------------------------------------------------


def test_user_gets_a_personal_folder_and_email_credentials(sdk: Looker40SDK) -> None:
    user = sdk.create_user(m.WriteUser(first_name="Ada", last_name="Lovelace"))
    folder = sdk.folder(cast(str, user.personal_folder_id))
    assert (folder.name, folder.is_personal, folder.parent_id, folder.creator_id) == (
        "Ada Lovelace",
        True,
        "2",
        user.id,
    )
    assert user.email is None
    with pytest.raises(SDKError):
        sdk.user_credentials_email(cast(str, user.id))
    creds = sdk.create_user_credentials_email(cast(str, user.id), m.WriteCredentialsEmail(email="ada@example.com"))
    assert creds.email == "ada@example.com" and creds.user_id == user.id
    assert sdk.user(cast(str, user.id)).email == "ada@example.com"
    assert [u.id for u in sdk.search_users(email="ada@example.com")] == [user.id]
    sdk.update_user(cast(str, user.id), m.WriteUser(last_name="King"))
    assert sdk.folder(cast(str, user.personal_folder_id)).name == "Ada King"
    other = sdk.create_user(m.WriteUser(first_name="Bob"))
    with pytest.raises(SDKError) as taken:
        sdk.create_user_credentials_email(cast(str, other.id), m.WriteCredentialsEmail(email="ADA@example.com"))
    assert errors_of(taken) == [("email", "already_exists")]


def test_roles_permission_sets_and_model_sets(sdk: Looker40SDK) -> None:
    pset = sdk.create_permission_set(m.WritePermissionSet(name="Viewers", permissions=["access_data", "see_looks"]))
    mset = sdk.create_model_set(m.WriteModelSet(name="Sales models", models=["thelook"]))
    assert not pset.built_in and not mset.all_access
    role = sdk.create_role(m.WriteRole(name="Viewer", permission_set_id=pset.id, model_set_id=mset.id))
    assert role.permission_set is not None and role.permission_set.name == "Viewers"
    assert role.model_set is not None and role.model_set.models == ["thelook"]
    assert [r.id for r in sdk.search_roles(name="view%")] == [role.id]
    assert [p.id for p in sdk.search_permission_sets(name="Viewers")] == [pset.id]
    assert [s.id for s in sdk.search_model_sets(built_in=True)] == ["1"]
    renamed = sdk.update_role(cast(str, role.id), m.WriteRole(name="Reader"))
    assert renamed.name == "Reader" and renamed.permission_set_id == pset.id
    with pytest.raises(SDKError) as missing_set:
        sdk.create_role(m.WriteRole(name="Broken", permission_set_id="999", model_set_id=mset.id))
    assert errors_of(missing_set) == [("permission_set_id", "not_found")]
    with pytest.raises(SDKError):
        sdk.update_role("1", m.WriteRole(name="Not admin"))
    with pytest.raises(SDKError):
        sdk.update_permission_set("1", m.WritePermissionSet(name="Not admin"))


def test_user_roles_and_role_members(sdk: Looker40SDK) -> None:
    role = sdk.create_role(m.WriteRole(name="Viewer", permission_set_id="1", model_set_id="1"))
    user = sdk.create_user(m.WriteUser(first_name="Ada"))
    group = sdk.create_group(m.WriteGroup(name="Analysts"))
    assert [r.id for r in sdk.set_user_roles(cast(str, user.id), [cast(str, role.id)])] == [role.id]
    assert sdk.user(cast(str, user.id)).role_ids == [role.id]
    with pytest.raises(SDKError) as unknown:
        sdk.set_user_roles(cast(str, user.id), ["999"])
    assert errors_of(unknown) == [("[0]", "not_found")]
    assert [g.id for g in sdk.set_role_groups("1", [cast(str, group.id)])] == [group.id]
    assert [g.id for g in sdk.role_groups("1")] == [group.id]
    sdk.add_group_user(cast(str, group.id), m.GroupIdForGroupUserInclusion(user_id=user.id))
    assert {r.id for r in sdk.user_roles(cast(str, user.id))} == {"1", role.id}
    assert [r.id for r in sdk.user_roles(cast(str, user.id), direct_association_only=True)] == [role.id]
    members = sdk.set_role_users(cast(str, role.id), ["1"])
    assert [u.id for u in members] == ["1"]
    assert sdk.user(cast(str, user.id)).role_ids == []
    assert sdk.user("1").role_ids == ["1", role.id]


def test_group_members_and_included_groups(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    analysts = sdk.create_group(m.WriteGroup(name="Analysts"))
    leads = sdk.create_group(m.WriteGroup(name="Leads"))
    user = sdk.create_user(m.WriteUser(first_name="Ada"))
    added = sdk.add_group_user(cast(str, analysts.id), m.GroupIdForGroupUserInclusion(user_id=user.id))
    assert added.group_ids == ["1", analysts.id]  # "All Users" (1) from the start
    assert sdk.group(cast(str, analysts.id)).user_count == 1
    assert [u.id for u in sdk.all_group_users(cast(str, analysts.id))] == [user.id]
    sdk.delete_group_user(cast(str, analysts.id), cast(str, user.id))
    assert sdk.user(cast(str, user.id)).group_ids == ["1"]
    included = sdk.add_group_group(cast(str, analysts.id), m.GroupIdForGroupInclusion(group_id=leads.id))
    assert included.id == leads.id
    assert [g.id for g in sdk.all_group_groups(cast(str, analysts.id))] == [leads.id]
    with pytest.raises(SDKError) as cycle:
        sdk.add_group_group(cast(str, leads.id), m.GroupIdForGroupInclusion(group_id=analysts.id))
    assert errors_of(cycle) == [("group_id", "invalid")]
    sdk.delete_group_from_group(cast(str, analysts.id), cast(str, leads.id))
    assert sdk.all_group_groups(cast(str, analysts.id)) == []
    with pytest.raises(SDKError) as duplicate:
        sdk.create_group(m.WriteGroup(name="analysts"))
    assert "already exists" in str(duplicate.value)  # 409 Resource Already Exists
    assert sdk.update_group(cast(str, leads.id), m.WriteGroup(name="Team leads")).name == "Team leads"


# --- scheduled plans, boards, LookML -------------------------------------------------------------


def _plan(look_id: str, *addresses: str) -> m.WriteScheduledPlan:
    return m.WriteScheduledPlan(
        name="Daily",
        look_id=look_id,
        crontab="0 6 * * *",
        scheduled_plan_destination=[
            m.ScheduledPlanDestination(type="email", format="csv", address=a, secret_parameters="s3cr3t")
            for a in addresses
        ],
    )


def test_scheduled_plans(sdk: Looker40SDK) -> None:
    look = new_look(sdk, cast(str, new_folder(sdk).id))
    plan = sdk.create_scheduled_plan(_plan(cast(str, look.id), "a@example.com"))
    destinations = cast(list[m.ScheduledPlanDestination], plan.scheduled_plan_destination)
    assert [d.address for d in destinations] == ["a@example.com"]
    assert destinations[0].secret_parameters is None and destinations[0].scheduled_plan_id == plan.id
    assert plan.user is not None and plan.user.id == "1" and plan.title == "Orders"
    updated = sdk.update_scheduled_plan(cast(str, plan.id), _plan(cast(str, look.id), "b@example.com", "c@example.com"))
    assert [d.address for d in updated.scheduled_plan_destination or []] == ["b@example.com", "c@example.com"]
    assert [p.id for p in sdk.all_scheduled_plans(all_users=True)] == [plan.id]
    with pytest.raises(SDKError) as no_destination:
        sdk.create_scheduled_plan(m.WriteScheduledPlan(name="X", look_id=look.id, crontab="0 6 * * *"))
    assert errors_of(no_destination) == [("scheduled_plan_destination", "missing")]
    sdk.delete_scheduled_plan(cast(str, plan.id))
    assert sdk.all_scheduled_plans(all_users=True) == []


def test_boards_sections_and_items(sdk: Looker40SDK) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    dashboard = new_dashboard(sdk, folder_id)
    look = new_look(sdk, folder_id)
    board = sdk.create_board(m.WriteBoard(title="Home"))
    first = sdk.create_board_section(m.WriteBoardSection(board_id=board.id, title="KPIs"))
    second = sdk.create_board_section(m.WriteBoardSection(board_id=board.id, title="More"))
    dash_item = sdk.create_board_item(m.WriteBoardItem(board_section_id=first.id, dashboard_id=dashboard.id))
    look_item = sdk.create_board_item(m.WriteBoardItem(board_section_id=first.id, look_id=look.id))
    assert (dash_item.title, dash_item.url) == ("Overview", f"/dashboards/{dashboard.id}")
    read = sdk.board(cast(str, board.id))
    assert read.section_order == [first.id, second.id]
    sections = cast(list[m.BoardSection], read.board_sections)
    assert sections[0].item_order == [dash_item.id, look_item.id]
    assert [i.title for i in sections[0].board_items or []] == ["Overview", "Orders"]
    sdk.update_board(cast(str, board.id), m.WriteBoard(section_order=[cast(str, second.id), cast(str, first.id)]))
    sdk.update_board_section(
        cast(str, first.id), m.WriteBoardSection(item_order=[cast(str, look_item.id), cast(str, dash_item.id)])
    )
    read = sdk.board(cast(str, board.id))
    assert [s.title for s in read.board_sections or []] == ["More", "KPIs"]
    assert sdk.board_section(cast(str, first.id)).item_order == [look_item.id, dash_item.id]
    assert [b.id for b in sdk.search_boards(title="home")] == [board.id]
    assert [i.id for i in sdk.all_board_items(board_section_id=first.id)] == [dash_item.id, look_item.id]
    with pytest.raises(SDKError) as no_target:
        sdk.create_board_item(m.WriteBoardItem(board_section_id=first.id))
    assert errors_of(no_target) == [("dashboard_id", "missing")]


def test_lookml_models_and_percent_encoded_names(fake: FakeLooker, sdk: Looker40SDK) -> None:
    model = sdk.create_lookml_model(m.WriteLookmlModel(name="a b/c", project_name="proj"))
    assert model.name == "a b/c" and model.has_content is False
    assert sdk.lookml_model("a b/c").project_name == "proj"
    assert any(r.path == "/lookml_models/a%20b%2Fc" for r in fake.requests)
    updated = sdk.update_lookml_model("a b/c", m.WriteLookmlModel(allowed_db_connection_names=["warehouse"]))
    assert updated.allowed_db_connection_names == ["warehouse"]
    fake.put(
        "lookml_models", {"name": "thelook", "project_name": "p", "explores": [{"name": "orders", "label": "Orders"}]}
    )
    explore = sdk.lookml_model_explore("thelook", "orders")
    assert (explore.id, explore.name, explore.model_name) == ("thelook::orders", "orders", "thelook")
    with pytest.raises(SDKError):
        sdk.lookml_model_explore("thelook", "missing")
    with pytest.raises(SDKError) as duplicate:
        sdk.create_lookml_model(m.WriteLookmlModel(name="thelook", project_name="p"))
    assert errors_of(duplicate) == [("name", "already_exists")]


# --- validation, errors ------------------------------------------------------------------------


def test_error_bodies_have_looker_shape(fake: FakeLooker, http: requests.Session) -> None:
    missing = http.get(api(fake, "/dashboards/999"))
    assert missing.status_code == 404
    assert missing.json() == {
        "message": "The resource you're looking for could not be found",
        "documentation_url": DOCS_PREFIX + "404/get/dashboards/:dashboard_id",
    }
    assert http.get(api(fake, "/no_such_route")).status_code == 404
    invalid = http.post(api(fake, "/dashboards"), json={"folder_id": "1"})
    body = invalid.json()
    assert invalid.status_code == 422 and list(body) == ["message", "errors", "documentation_url"]
    assert body["errors"] == [
        {
            "field": "title",
            "code": "missing",
            "message": "title is required",
            "documentation_url": DOCS_PREFIX + "422/post/dashboards",
        }
    ]


def test_lenient_mode_ignores_read_only_and_unknown_fields(sdk: Looker40SDK) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    body = {"title": "Lenient", "folder_id": folder_id, "id": "77", "created_at": "2020-01-01T00:00:00Z", "bogus": 1}
    dashboard = sdk.create_dashboard(cast(m.WriteDashboard, body))
    assert dashboard.id != "77" and dashboard.title == "Lenient"


def test_strict_mode_names_each_read_only_and_unknown_field(fake: FakeLooker, sdk: Looker40SDK) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    fake.strict = True
    body = {
        "title": "Strict",
        "folder_id": folder_id,
        "id": "77",
        "dashboard_elements": [],
        "bogus": 1,
        "folder": {"name": "Sales", "id": folder_id},
    }
    with pytest.raises(SDKError) as exc:
        sdk.create_dashboard(cast(m.WriteDashboard, body))
    assert sorted(errors_of(exc)) == [
        ("bogus", "unknown"),
        ("dashboard_elements", "read_only"),
        ("folder.id", "read_only"),
        ("id", "read_only"),
    ]
    assert sdk.create_dashboard(m.WriteDashboard(title="Strict", folder_id=folder_id)).title == "Strict"


def test_types_are_checked_loosely(sdk: Looker40SDK) -> None:
    with pytest.raises(SDKError) as numeric_id:
        sdk.create_folder(cast(m.CreateFolder, {"name": "x", "parent_id": 1}))
    assert errors_of(numeric_id) == [("parent_id", "invalid")]
    with pytest.raises(SDKError) as not_bool:
        sdk.create_dashboard(cast(m.WriteDashboard, {"title": "x", "folder_id": "1", "hidden": "yes"}))
    assert errors_of(not_bool) == [("hidden", "invalid")]
    # Looker coerces numbers sent for non-id string fields.
    assert sdk.create_query(cast(m.WriteQuery, {"model": "thelook", "view": "v", "limit": 500})).limit == "500"


# --- listing --------------------------------------------------------------------------------------


def test_pagination(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    for i in range(5):
        new_folder(sdk, f"F{i}")
    names = [f.name for f in sdk.search_folders(parent_id="1", limit=2, offset=1)]
    assert names == ["F1", "F2"]
    assert [f.name for f in sdk.search_folders(parent_id="1", page=3, per_page=2)] == ["F4"]
    assert [f.name for f in sdk.search_folders(parent_id="1", sorts="name desc", limit=1)] == ["F4"]
    assert http.get(api(fake, "/folders/search"), params={"limit": "x"}).status_code == 400


def test_fields_filter_including_nested(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    folder = new_folder(sdk)
    look = new_look(sdk, cast(str, folder.id))
    body = http.get(api(fake, f"/folders/{folder.id}"), params={"fields": "id,name,looks(id,title)"}).json()
    assert body == {"id": folder.id, "name": "Sales", "looks": [{"id": look.id, "title": "Orders"}]}
    assert sdk.look(cast(str, look.id), fields="id,title").title == "Orders"
    listed = http.get(api(fake, "/looks"), params={"fields": "id"}).json()
    assert listed == [{"id": look.id}]


def test_search_semantics(sdk: Looker40SDK) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    for title in ("Revenue", "Revenue EMEA", "Costs"):
        new_dashboard(sdk, folder_id, title)
    assert {d.title for d in sdk.search_dashboards(title="revenue%")} == {"Revenue", "Revenue EMEA"}
    assert {d.title for d in sdk.search_dashboards(title="revenue")} == {"Revenue"}
    assert {d.title for d in sdk.search_dashboards(title="c_sts")} == {"Costs"}
    ids = [d.id for d in sdk.search_dashboards(folder_id=folder_id)]
    assert [d.title for d in sdk.search_dashboards(id=f"{ids[0]},{ids[2]}")] == ["Revenue", "Costs"]
    both = sdk.search_dashboards(title="Costs", description="IS NULL", filter_or=True)
    assert len(both) == 3


# --- faults ------------------------------------------------------------------------------------


def test_rate_limit_without_and_with_retry_after(fake: FakeLooker, sdk: Looker40SDK, http: requests.Session) -> None:
    fake.inject("GET /folders/*", RateLimit(retry_after=None), times=2)
    first = http.get(api(fake, "/folders/1"))
    assert first.status_code == 429
    assert first.headers["x-looker-rate-limited"] == "true" and "Retry-After" not in first.headers
    with pytest.raises(SDKError) as exc:
        sdk.folder("1")
    assert exc.value.message == "Too Many Requests"
    assert sdk.folder("1").name == "Shared"
    fake.inject("GET /folders/1", RateLimit(retry_after=2.5))
    assert http.get(api(fake, "/folders/2")).status_code == 200
    limited = http.get(api(fake, "/folders/1"))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2.5"


def test_server_error(fake: FakeLooker, http: requests.Session) -> None:
    fake.inject("PATCH /dashboards/*", ServerError(503))
    answer = http.patch(api(fake, "/dashboards/1"), json={"title": "x"})
    assert answer.status_code == 503
    assert answer.json()["documentation_url"].startswith(DOCS_PREFIX + "503/")


def test_dropped_connection_raises_sdk_error(fake: FakeLooker, sdk: Looker40SDK) -> None:
    sdk.me()
    fake.inject("POST /folders", DropConnection())
    with pytest.raises(SDKError):
        new_folder(sdk)
    assert fake.requests[-1].status == 0
    assert [f for f in fake.all("folders").values() if f["name"] == "Sales"] == []
    fake.inject("POST /folders", DropConnection(after_processing=True))
    with pytest.raises(SDKError):
        new_folder(sdk)
    assert [f["name"] for f in fake.all("folders").values() if f["name"] == "Sales"] == ["Sales"]
    assert sdk.me().id == "1"


def test_latency(fake: FakeLooker, http: requests.Session) -> None:
    fake.inject("GET /user", Latency(ms=150))
    started = time.perf_counter()
    assert http.get(api(fake, "/user")).status_code == 200
    assert time.perf_counter() - started >= 0.15
    fake.latency_ms = 60
    started = time.perf_counter()
    http.get(api(fake, "/folders/1"))
    assert time.perf_counter() - started >= 0.06


def test_expired_token_gives_401_until_the_client_logs_in_again(fake: FakeLooker, sdk: Looker40SDK) -> None:
    sdk.me()
    fake.inject("GET /folders/*", ExpireToken())
    with pytest.raises(SDKError) as exc:
        sdk.folder("1")
    assert exc.value.message == "Requires authentication."
    assert fake.requests[-1].status == 401
    with pytest.raises(SDKError):
        sdk.me()  # the SDK does not log in again by itself on 401
    sdk.auth.token = type(sdk.auth.token)()
    assert sdk.me().id == "1"


def test_fault_routes_and_counts(fake: FakeLooker, http: requests.Session) -> None:
    fake.inject("* *", ServerError(500), times=2)
    assert [http.get(api(fake, p)).status_code for p in ("/user", "/folders", "/user")] == [500, 500, 200]
    fake.inject("GET /folders/*", ServerError(502))
    assert http.get(api(fake, "/folders/1/children")).status_code == 200  # `*` stays within a segment
    assert http.get(api(fake, "/folders")).status_code == 200
    assert http.get(api(fake, "/folders/1")).status_code == 502
    fake.inject("GET /folders/**", ServerError(502))
    assert http.get(api(fake, "/folders/1/children")).status_code == 502
    fake.inject("GET /user", ServerError(500))
    fake.clear_faults()
    assert http.get(api(fake, "/user")).status_code == 200
    with pytest.raises(ValueError):
        fake.inject("GET /user", ServerError(500), times=0)


# --- request log, state API, threads -----------------------------------------------------------------


def test_request_log(fake: FakeLooker, sdk: Looker40SDK) -> None:
    fake.clear_requests()
    folder = new_folder(sdk)
    sdk.search_folders(name="Sales", fields="id,name")
    create, search = fake.requests[-2:]
    assert (create.method, create.path, create.body, create.status) == (
        "POST",
        "/folders",
        {"name": "Sales", "parent_id": "1"},
        200,
    )
    assert (search.method, search.path, search.query) == (
        "GET",
        "/folders/search",
        {"name": "Sales", "fields": "id,name"},
    )
    assert folder.id is not None
    fake.clear_requests()
    assert fake.requests == []
    fake.record_requests = False
    sdk.me()
    assert fake.requests == []


def test_concurrent_calls(fake: FakeLooker, sdk: Looker40SDK) -> None:
    sdk.me()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                new_folder(sdk, f"T{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    created = [f for f in fake.all("folders").values() if str(f["name"]).startswith("T")]
    assert len(created) == 80 and len({f["id"] for f in created}) == 80
    assert len([r for r in fake.requests if r.path == "/folders"]) == 80


def test_put_get_all_remove(fake: FakeLooker, sdk: Looker40SDK) -> None:
    fake.put("folders", {"id": "40", "name": "Seeded", "parent_id": "1"})
    fake.put("queries", {"id": "q1", "model": "thelook", "view": "orders"})
    fake.put("looks", {"id": "50", "title": "Seeded look", "folder_id": "40", "query_id": "q1"})
    fake.put(
        "dashboards",
        {
            "id": "60",
            "title": "Seeded",
            "folder_id": "40",
            "dashboard_elements": [{"id": "70", "look_id": "50", "type": "vis"}],
        },
    )
    dashboard = sdk.dashboard("60")
    assert [e.id for e in dashboard.dashboard_elements or []] == ["70"]
    layouts = dashboard.dashboard_layouts or []
    assert len(layouts) == 1 and [c.dashboard_element_id for c in layouts[0].dashboard_layout_components or []] == [
        "70"
    ]
    fake.put("dashboards", {"id": "60", "description": "changed behind the API's back"})
    seeded = cast(dict[str, object], fake.get("dashboards", "60"))
    assert seeded["title"] == "Seeded" and seeded["description"] == "changed behind the API's back"
    assert set(fake.all("looks")) == {"50"}
    assert new_dashboard(sdk, "40", "Next").id == "61"
    fake.remove("dashboards", "60")
    assert fake.get("dashboards", "60") is None and fake.all("dashboard_elements") == {}
    with pytest.raises(KeyError):
        fake.all("widgets")


def test_load_backup_makes_its_content_live(tmp_path: Path) -> None:
    backups = pytest.importorskip("lookervault_core.testing.backups")
    path = backups.build_backup(tmp_path / "backup.sqlite")
    with FakeLooker() as looker:
        looker.load_backup(path)
        client = make_sdk(looker)
        try:
            for dashboard in client.search_dashboards():
                full = client.dashboard(cast(str, dashboard.id))
                assert full.folder is not None and full.dashboard_layouts
            for look_id in looker.all("looks"):
                look = client.look(look_id)
                assert look.query is not None and look.query.model
            assert len(client.all_users()) == len(looker.all("users"))
            for board_id in looker.all("boards"):
                assert client.board(board_id).board_sections is not None
        finally:
            client.transport.session.close()  # type: ignore[attr-defined]


# --- conformance with the official API description ----------------------------------------------


@pytest.fixture
def spec_path() -> Path:
    path = spec_check.find_spec()
    if path is None:
        pytest.skip("the Looker API description (shared/looker-api/Looker.4.0.oas.json) is not available")
    return path


def test_responses_conform_to_the_api_description(
    fake: FakeLooker, sdk: Looker40SDK, http: requests.Session, spec_path: Path
) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    look = new_look(sdk, folder_id)
    dashboard = new_dashboard(sdk, folder_id)
    sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard.id, look_id=look.id))
    sdk.create_dashboard_filter(
        m.WriteCreateDashboardFilter(dashboard_id=cast(str, dashboard.id), name="d", title="D", type="field_filter")
    )
    user = sdk.create_user(m.WriteUser(first_name="Ada"))
    sdk.create_user_credentials_email(cast(str, user.id), m.WriteCredentialsEmail(email="ada@example.com"))
    plan = sdk.create_scheduled_plan(_plan(cast(str, look.id), "a@example.com"))
    board = sdk.create_board(m.WriteBoard(title="Home"))
    paths = [
        f"/folders/{folder_id}",
        "/folders",
        f"/looks/{look.id}",
        "/looks/search",
        f"/dashboards/{dashboard.id}",
        "/dashboards",
        f"/users/{user.id}",
        "/roles/1",
        "/groups",
        f"/scheduled_plans/{plan.id}",
        f"/boards/{board.id}",
        "/user",
        "/dashboards/999",
    ]
    problems: list[str] = []
    for path in paths:
        answer = http.get(api(fake, path))
        problems += spec_check.validate_response(spec_path, "GET", path, answer.status_code, answer.json())
    invalid = http.post(api(fake, "/folders"), json={"name": "x"})
    problems += spec_check.validate_response(spec_path, "POST", "/folders", 422, invalid.json())
    assert problems == []


def test_sdk_requests_conform_to_the_api_description(fake: FakeLooker, sdk: Looker40SDK, spec_path: Path) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    look = new_look(sdk, folder_id)
    dashboard = new_dashboard(sdk, folder_id)
    sdk.update_dashboard(cast(str, dashboard.id), m.WriteDashboard(description="x"))
    sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard.id, look_id=look.id))
    group = sdk.create_group(m.WriteGroup(name="G"))
    sdk.add_group_user(cast(str, group.id), m.GroupIdForGroupUserInclusion(user_id="1"))
    sdk.set_user_roles("1", ["1"])
    sdk.search_dashboards(title="x%", limit=5)
    sdk.all_users(ids=looker_sdk.models40.DelimSequence(["1"]))  # type: ignore[attr-defined]
    assert spec_check.validate_requests(spec_path, fake.requests) == []


def test_spec_check_reports_read_only_fields_missing_ones_and_unknown_routes(spec_path: Path) -> None:
    ok = spec_check.validate_request(spec_path, "POST", "/dashboards", {}, {"title": "t", "folder_id": "1"})
    assert ok == []
    read_only = spec_check.validate_request(spec_path, "POST", "/dashboards", {}, {"title": "t", "id": "5"})
    assert read_only == ["POST /dashboards: body property id is read-only"]
    missing = spec_check.validate_request(spec_path, "POST", "/folders", {}, {"name": "x"})
    assert missing == ["POST /folders: 'parent_id' is a required property"]
    unknown = spec_check.validate_request(spec_path, "GET", "/widgets/1")
    assert unknown == ["GET /widgets/1: no such operation in the API description"]


def test_find_spec_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "api.json"
    custom.write_text("{}")
    monkeypatch.setenv(spec_check.ENV_VAR, str(custom))
    assert spec_check.find_spec() == custom
    monkeypatch.delenv(spec_check.ENV_VAR)
    nested = tmp_path / "shared" / "looker-api"
    nested.mkdir(parents=True)
    (nested / "Looker.4.0.oas.json").write_text("{}")
    assert spec_check.find_spec(tmp_path / "repo" / "pkg") == nested / "Looker.4.0.oas.json"


# --- CLI -------------------------------------------------------------------------------------------


def test_cli_prints_its_base_url_and_serves_until_terminated() -> None:
    env = {**os.environ, "LOOKERSDK_CLIENT_ID": "cli-id", "LOOKERSDK_CLIENT_SECRET": "cli-secret"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lookervault_core.testing.fake_looker", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        login = requests.post(f"{base_url}/api/4.0/login", data={"client_id": "cli-id", "client_secret": "cli-secret"})
        token = login.json()["access_token"]
        me = requests.get(f"{base_url}/api/4.0/user", headers={"Authorization": f"Bearer {token}"})
        assert json.loads(me.text)["id"] == "1"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()


def test_throttle_answers_429_only_above_the_rate() -> None:
    import requests

    from lookervault_core.testing.fake_looker import FakeLooker

    with FakeLooker() as fake:
        fake.throttle(5.0)
        url = fake.base_url + "/api/4.0/lookml_models"
        statuses = [requests.get(url, timeout=5).status_code for _ in range(20)]
        assert statuses.count(429) >= 10 and 429 not in statuses[:5]
        fake.throttle(None)
        assert requests.get(url, timeout=5).status_code == 401  # past the quota, on to auth


@pytest.mark.parametrize(("text", "route", "fault", "times"), [
    ("GET /api/4.0/looks/202 500 x3", "GET /looks/202", ServerError(500), 3),
    ("post /looks 503", "POST /looks", ServerError(503), 1),
    ("* /folders/** 429 x2", "* /folders/**", RateLimit(), 2),
    ("PATCH /api/4.0/dashboards/* drop", "PATCH /dashboards/*", DropConnection(), 1),
])
def test_fault_rules_parse(text: str, route: str, fault: Fault, times: int) -> None:
    assert parse_fault_rule(text) == FaultRule(route, fault, times)


@pytest.mark.parametrize(("text", "route", "ms", "times"), [
    ("GET /api/4.0/dashboards/* 2s", "GET /dashboards/*", 2000.0, None),
    ("GET /looks/** 150ms x4", "GET /looks/**", 150.0, 4),
    ("* * 0.5s", "* *", 500.0, None),
])
def test_latency_rules_parse(text: str, route: str, ms: float, times: int | None) -> None:
    assert parse_latency_rule(text) == FaultRule(route, Latency(ms), times)


@pytest.mark.parametrize(("text", "error"), [
    ("GET /api/4.0/looks/202", "expected METHOD PATH STATUS [xN]"),
    ("GET /api/4.0/looks/202 404", "'404' is not 429, a 5xx status or drop"),
    ("GET /api/4.0/looks/202 500 3", "'3' is not a count of calls like x3"),
    ("GET /api/4.0/looks/202 500 x0", "'x0' is not a count of calls like x3"),
    ("GET api/4.0/looks/202 500", "must start with /"),
    ("/looks/202 500 x1", "'/looks/202' is not an HTTP method"),
    ("GET /looks 500 x1 extra", "expected METHOD PATH STATUS [xN]"),
])
def test_bad_fault_rules_are_refused_with_the_reason(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"fault rule {text!r}: ") + ".*" + re.escape(error)):
        parse_fault_rule(text)


def test_bad_latency_rule_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=re.escape("latency rule 'GET /looks 2 s x1': expected METHOD PATH DELAY")):
        parse_latency_rule("GET /looks 2 s x1")
    with pytest.raises(ValueError, match="'soon' is not a delay like 2s or 150ms"):
        parse_latency_rule("GET /looks soon")


def test_cli_fault_and_latency_rules_fail_then_heal() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lookervault_core.testing.fake_looker", "--fault", "GET /api/4.0/folders/1 500 x2",
         "--fault", "GET /api/4.0/folders/2 drop", "--latency", "GET /api/4.0/folders/* 300ms"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        login = requests.post(f"{base_url}/api/4.0/login",
                              data={"client_id": "fake-client-id", "client_secret": "fake-client-secret"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        def status(path: str) -> int:
            try:
                return requests.get(f"{base_url}/api/4.0{path}", headers=headers, timeout=5).status_code
            except requests.ConnectionError:
                return 0

        assert [status("/folders/1") for _ in range(3)] == [500, 500, 200]
        assert [status("/folders/2") for _ in range(2)] == [0, 200]
        started = time.perf_counter()
        assert status("/folders/1") == 200
        assert time.perf_counter() - started >= 0.3
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()


def test_cli_refuses_a_bad_fault_rule_with_the_reason() -> None:
    bad = subprocess.run([sys.executable, "-m", "lookervault_core.testing.fake_looker", "--fault", "GET /looks/1 404"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode == 2
    assert "argument --fault: fault rule 'GET /looks/1 404': '404' is not 429, a 5xx status or drop" in bad.stderr
