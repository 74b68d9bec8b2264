"""The fake's dashboards as real Looker builds them: tabs, tile filter bindings, result makers, merge queries.

Each behaviour is one a restore depends on and that real Looker shows (see the
evidence comments in lookervault_core/testing/fake_looker/routes/dashboards.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
import requests
from looker_sdk.error import SDKError
from looker_sdk.sdk.api40 import models as m
from looker_sdk.sdk.api40.methods import Looker40SDK

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.backups import build_backup, sample_items
from lookervault_core.testing.fake_looker import FakeLooker

from .test_fake_looker import api, errors_of, fake, http, new_dashboard, new_folder, new_look, new_query, sdk

__all__ = ["fake", "http", "sdk"]  # fixtures, re-used


def _components(sdk: Looker40SDK, layout_id: str) -> list[str]:
    return [cast(str, c.dashboard_element_id) for c in sdk.dashboard_layout_dashboard_layout_components(layout_id)]


def test_a_new_tile_goes_only_on_its_own_tab(sdk: Looker40SDK) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    dashboard = new_dashboard(sdk, folder_id)
    overview = cast(str, cast(list[m.DashboardLayout], dashboard.dashboard_layouts)[0].id)
    details = sdk.create_dashboard_layout(m.WriteDashboardLayout(dashboard_id=dashboard.id, label="Details", order=1))
    assert details.dashboard_layout_components == []  # a new tab starts empty
    look = new_look(sdk, folder_id)
    on_details = sdk.create_dashboard_element(
        m.WriteDashboardElement(dashboard_id=dashboard.id, look_id=look.id, type="vis", dashboard_layout_id=details.id))
    on_active = sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard.id, type="text"))
    assert _components(sdk, cast(str, details.id)) == [on_details.id]
    assert _components(sdk, overview) == [on_active.id]
    second = sdk.create_dashboard_element(
        m.WriteDashboardElement(dashboard_id=dashboard.id, query_id=new_query(sdk).id, dashboard_layout_id=overview))
    components = sdk.dashboard_layout_dashboard_layout_components(overview)
    assert [c.dashboard_element_id for c in components] == [on_active.id, second.id]
    assert components[1].row == 6  # placed below the first tile
    other = new_dashboard(sdk, folder_id, "Other")
    with pytest.raises(SDKError) as foreign:
        sdk.create_dashboard_element(m.WriteDashboardElement(
            dashboard_id=other.id, type="text", dashboard_layout_id=details.id))
    assert errors_of(foreign) == [("dashboard_layout_id", "not_found")]
    sdk.delete_dashboard_element(cast(str, second.id))
    assert _components(sdk, overview) == [on_active.id]


def test_a_component_moves_a_tile_to_another_tab_of_its_dashboard(sdk: Looker40SDK) -> None:
    folder_id = cast(str, new_folder(sdk).id)
    dashboard = new_dashboard(sdk, folder_id)
    overview = cast(str, cast(list[m.DashboardLayout], dashboard.dashboard_layouts)[0].id)
    details = cast(str, sdk.create_dashboard_layout(m.WriteDashboardLayout(dashboard_id=dashboard.id)).id)
    tile = sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard.id, type="text"))
    component = sdk.dashboard_layout_dashboard_layout_components(overview)[0]
    moved = sdk.update_dashboard_layout_component(
        cast(str, component.id), m.WriteDashboardLayoutComponent(dashboard_layout_id=details, row=3, width=12))
    assert (moved.dashboard_layout_id, moved.row, moved.width) == (details, 3, 12)
    assert _components(sdk, overview) == [] and _components(sdk, details) == [tile.id]
    elsewhere = cast(list[m.DashboardLayout], new_dashboard(sdk, folder_id, "Other").dashboard_layouts)[0].id
    with pytest.raises(SDKError) as foreign:
        sdk.update_dashboard_layout_component(
            cast(str, component.id), m.WriteDashboardLayoutComponent(dashboard_layout_id=elsewhere))
    assert errors_of(foreign) == [("dashboard_layout_id", "invalid")]


def test_result_maker_id_with_a_query_look_or_merge_is_refused_like_looker(sdk: Looker40SDK) -> None:
    dashboard_id = cast(str, new_dashboard(sdk, cast(str, new_folder(sdk).id)).id)
    first = sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard_id, query_id=new_query(sdk).id))
    assert first.result_maker_id is not None
    with pytest.raises(SDKError) as both:
        sdk.create_dashboard_element(m.WriteDashboardElement(
            dashboard_id=dashboard_id, query_id=first.query_id, result_maker_id=first.result_maker_id))
    assert errors_of(both) == [("result_maker_id", "invalid")]
    assert both.value.errors[0].message == (
        "Query ID, Look ID, and Merge Result ID should not be specified if a Result Maker ID is provided")
    # Alone, a result maker id shares that tile's query.
    shared = sdk.create_dashboard_element(m.WriteDashboardElement(
        dashboard_id=dashboard_id, result_maker_id=first.result_maker_id))
    assert shared.query_id == first.query_id


def test_listen_bindings_are_written_and_vis_config_comes_from_the_query(sdk: Looker40SDK) -> None:
    dashboard_id = cast(str, new_dashboard(sdk, cast(str, new_folder(sdk).id)).id)
    query = sdk.create_query(m.WriteQuery(model="thelook", view="orders", fields=["orders.count"],
                                          vis_config={"type": "looker_pie"}))
    bound = m.ResultMakerFilterables(model="thelook", view="orders", listen=[
        m.ResultMakerFilterablesListen(dashboard_filter_name="Date", field="orders.created_date")])
    # vis_config sent in the result maker is Looker's to fill, not the client's.
    tile = sdk.create_dashboard_element(m.WriteDashboardElement(
        dashboard_id=dashboard_id, query_id=query.id,
        result_maker=m.WriteResultMakerWithIdVisConfigAndDynamicFields(filterables=[bound],
                                                                       vis_config={"type": "looker_bar"})))
    maker = cast(m.ResultMakerWithIdVisConfigAndDynamicFields, tile.result_maker)
    listens = cast(list[m.ResultMakerFilterables], maker.filterables)[0].listen
    assert [(x.dashboard_filter_name, x.field) for x in listens or []] == [("Date", "orders.created_date")]
    assert maker.vis_config == {"type": "looker_pie"} and maker.query_id == query.id
    # The same call Looker's own example makes (sdk-codegen create_dashboard_filter.py) rebinds it.
    rebound = sdk.update_dashboard_element(cast(str, tile.id), m.WriteDashboardElement(
        result_maker=m.WriteResultMakerWithIdVisConfigAndDynamicFields(filterables=[
            m.ResultMakerFilterables(model="thelook", view="orders", listen=[])])))
    maker = cast(m.ResultMakerWithIdVisConfigAndDynamicFields, rebound.result_maker)
    assert cast(list[m.ResultMakerFilterables], maker.filterables)[0].listen == []
    assert rebound.result_maker_id == tile.result_maker_id and rebound.query_id == query.id


def test_merge_queries_are_created_read_and_checked(fake: FakeLooker, sdk: Looker40SDK,
                                                   http: requests.Session) -> None:
    dashboard_id = cast(str, new_dashboard(sdk, cast(str, new_folder(sdk).id)).id)
    q1, q2 = new_query(sdk, "orders.status", "orders.count"), new_query(sdk, "orders.status", "users.count")
    merge = sdk.create_merge_query(m.WriteMergeQuery(vis_config={"type": "looker_column"}, source_queries=[
        m.MergeQuerySourceQuery(name="Orders", query_id=q1.id),
        m.MergeQuerySourceQuery(name="Users", query_id=q2.id, merge_fields=[
            m.MergeFields(field_name="orders.status", source_field_name="orders.status")])]))
    assert sdk.merge_query(cast(str, merge.id)).source_queries == merge.source_queries
    tile = sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard_id, merge_result_id=merge.id))
    maker = cast(m.ResultMakerWithIdVisConfigAndDynamicFields, tile.result_maker)
    assert maker.merge_result_id == merge.id and maker.vis_config == {"type": "looker_column"}
    assert [f.name for f in maker.filterables or []] == ["Orders", "Users"]
    with pytest.raises(SDKError) as unknown:
        sdk.create_dashboard_element(m.WriteDashboardElement(dashboard_id=dashboard_id, merge_result_id="nope"))
    assert errors_of(unknown) == [("merge_result_id", "not_found")]
    missing_source = http.post(api(fake, "/merge_queries"), json={"source_queries": [{"query_id": "404"}]})
    assert missing_source.status_code == 422
    assert http.get(api(fake, "/merge_queries/nope")).status_code == 404


def test_a_fake_loaded_from_a_lookervault_backup_has_every_query_it_names(tmp_path: Path) -> None:
    """LookerVault keeps a look's query_id only; Looker never deletes queries, so they exist."""
    items = [(ct, d) for ct, d in sample_items() if ct in (CT.FOLDER, CT.USER, CT.LOOK, CT.DASHBOARD)]
    bare = {"id": "299", "title": "Orphan query", "folder_id": "11", "query_id": "777",
            "model": {"id": "thelook", "label": "Thelook"}}
    backup = build_backup(tmp_path / "lv.sqlite", [*items, (CT.LOOK, bare)])
    with FakeLooker(strict=True) as fake:
        fake.load_backup(backup)
        held_only_in_a_tile = fake.get("queries", "301")  # look 202 names it; look 201 and a tile hold it
        assert held_only_in_a_tile is not None and held_only_in_a_tile["fields"] == ["orders.created_month",
                                                                                      "orders.count"]
        opaque = fake.get("queries", "777")
        assert opaque is not None and opaque["model"] == "thelook"
        from .test_fake_looker import make_sdk
        client = make_sdk(fake)
        # A PATCH validates what it changes: retitling a look never trips over its query.
        assert client.update_look("299", m.WriteLookWithQuery(title="Renamed")).title == "Renamed"
        assert client.look("299").query_id == "777"
