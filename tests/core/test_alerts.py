"""Alerts: the fake's rules, the snapshot that captures them, and their restore after dashboards and users.

Server A holds the sample instance plus alerts on two of its tiles. Its
snapshot, restored into an empty server B (other ids), and snapshotted again,
holds the same alerts on the mapped tiles and owners. On A itself, a repair
after deleting an alert puts it back and writes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from lookervault_core.backup import BackupItem, BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.errors import MissingDependency, NotFound, ValidationFailed
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerClient, RetryPolicy, connect
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.restore.result import Action
from lookervault_core.snapshot import take_snapshot
from lookervault_core.testing.backups import build_backup, sample_alert, sample_items
from lookervault_core.testing.fake_looker import FakeLooker

from ..conftest import settings_for
from .test_restore import all_keys, writes

Obj = Mapping[str, object]

#: Alice (5) watches tile 1002 of dashboard 101; Bob (6) watches tile 1005, privately, disabled.
_ALERTS = (
    sample_alert("71", "1002", "101", "5", query_id="302", investigative_content_type="dashboard",
                 investigative_content_id="102"),
    sample_alert("72", "1005", "101", "6", is_public=False, is_disabled=True, disabled_reason="paused",
                 comparison_type="LESS_THAN", threshold=3.5, custom_title=None),
)


def _client(fake: FakeLooker) -> LookerClient:
    return connect(settings_for(fake), retry=RetryPolicy(attempts=2, initial_backoff=0.0, max_backoff=0.0, jitter=0.0))


def load_sample_with_alerts(server: FakeLooker, tmp_path: Path) -> None:
    """The sample instance, with the two alerts of `_ALERTS` live on its tiles."""
    server.load_backup(build_backup(tmp_path / "sample.sqlite"))
    for _, alert in _ALERTS:
        server.put("alerts", alert)


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[FakeLooker]:
    """Server A: the sample instance with two alerts, live."""
    with FakeLooker(strict=True) as server:
        load_sample_with_alerts(server, tmp_path)
        yield server


def _snapshot(fake: FakeLooker, out: Path) -> Path:
    with _client(fake) as client:
        take_snapshot(client, out)
    return out


@contextmanager
def _repair(server: FakeLooker, backup: Path, tmp_path: Path) -> Iterator[Restorer]:
    """A Restorer putting `backup` back into the instance it was taken from."""
    with _client(server) as client, BackupReader(backup) as reader, \
            IdMap(tmp_path / "idmap.sqlite", client.settings.instance_id, client.settings.instance_id) as idmap:
        yield Restorer(client, reader, idmap)


def _alerts(path: Path) -> dict[str, Obj]:
    with BackupReader(path) as reader:
        items = list(reader.items(CT.ALERT))
    assert all(isinstance(i, BackupItem) for i in items), items
    return {i.row.id: i.data for i in items if isinstance(i, BackupItem)}


#: What an alert is, apart from its ids: compared between instances.
_SAME = ("field", "comparison_type", "threshold", "cron", "destinations", "custom_title", "is_disabled",
         "disabled_reason", "is_public", "applied_dashboard_filters", "description", "lookml_dashboard_id",
         "lookml_link_id")


def _what(alert: Obj) -> dict[str, object]:
    return {k: alert.get(k) for k in _SAME}


# --- the fake ------------------------------------------------------------------------------


def test_the_fake_refuses_what_the_api_description_refuses(origin: FakeLooker) -> None:
    _, good = sample_alert("0", "1002", "101", "5")
    body = {k: v for k, v in good.items() if k not in ("id", "dashboard_id")}
    with _client(origin) as client:
        sdk = client.plain_sdk
        for missing in ("field", "destinations", "comparison_type", "threshold", "cron"):
            with pytest.raises(ValidationFailed):
                client.call(lambda: sdk.create_alert({k: v for k, v in body.items() if k != missing}))  # type: ignore[arg-type]  # noqa: B023
        with pytest.raises(ValidationFailed):
            client.call(lambda: sdk.create_alert({**body, "destinations": [  # type: ignore[arg-type]
                {"destination_type": "EMAIL", "email_address": "a@example.com"},
                {"destination_type": "ACTION_HUB", "action_hub_integration_id": "1"}]}))
        with pytest.raises(NotFound):
            client.call(lambda: sdk.create_alert({**body, "dashboard_element_id": "999999"}))  # type: ignore[arg-type]
        made = client.call(lambda: sdk.create_alert({k: v for k, v in body.items() if k != "owner_id"}))  # type: ignore[arg-type]
        assert made["owner_id"] == "1"  # type: ignore[index]  # the caller, the API user
        # PUT keeps the tile (looker_deployer PR #97); PATCH takes only AlertPatch's fields.
        moved = client.call(lambda: sdk.update_alert("71", {**body, "dashboard_element_id": "1005",  # type: ignore[arg-type]
                                                            "threshold": 7}))
        assert (moved["dashboard_element_id"], moved["threshold"]) == ("1002", 7)  # type: ignore[index]
        client.call(lambda: sdk.update_alert_field("71", {"threshold": 8}))  # type: ignore[arg-type]
        assert origin.get("alerts", "71")["threshold"] == 8  # type: ignore[index]
        # Only the caller's own without all_owners.
        assert {a["id"] for a in client.call(lambda: sdk.search_alerts())} == {made["id"]}  # type: ignore[index]
        assert len(client.call(lambda: sdk.search_alerts(all_owners=True))) == 3


def test_deleting_a_tile_leaves_its_alert_listed_without_it_and_disabled(origin: FakeLooker) -> None:
    with _client(origin) as client:
        client.call(lambda: client.plain_sdk.delete_dashboard_element("1002"))
        listed = {a["id"]: a for a in client.call(lambda: client.plain_sdk.search_alerts(all_owners=True))}  # type: ignore[index]
    assert listed["71"]["dashboard_element_id"] == "1002"
    assert listed["71"]["is_disabled"] is True
    assert listed["72"]["is_disabled"] is True and listed["72"]["disabled_reason"] == "paused"


# --- snapshot and restore ------------------------------------------------------------------


def test_snapshot_restore_into_an_empty_instance_and_snapshot_again_agree_on_alerts(
    origin: FakeLooker, fake: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    a = _alerts(_snapshot(origin, tmp_path / "a.sqlite"))
    assert set(a) == {"71", "72"} and a["71"]["dashboard_id"] == "101"
    for (ct, data) in sample_items():
        if ct in (CT.LOOKML_MODEL, CT.EXPLORE):  # deployed LookML, as a move to another instance has it
            fake.put("lookml_models" if ct is CT.LOOKML_MODEL else "explores", data)
    fake.put("users", {"id": "40", "first_name": "Someone", "last_name": "Else"})  # B's ids differ from A's
    restorer = make_restorer(tmp_path / "a.sqlite")
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    assert summary.failures == [], [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures]
    idmap: IdMap = restorer.idmap
    b = _alerts(_snapshot(fake, tmp_path / "b.sqlite"))
    assert len(b) == 2
    for source_id, alert in a.items():
        dest = idmap.get("alert", source_id)
        assert dest is not None and dest in b, source_id
        got = b[dest]
        assert got["dashboard_element_id"] == idmap.resolve("dashboard_element", str(alert["dashboard_element_id"]))
        assert got["dashboard_element_id"] != alert["dashboard_element_id"]
        assert got["dashboard_id"] == idmap.resolve("dashboard", str(alert["dashboard_id"]))
        assert got["owner_id"] == idmap.resolve("user", str(alert["owner_id"]))
        if alert.get("query_id") is not None:  # the tile's query and the dashboard to investigate, mapped too
            assert got["query_id"] == idmap.resolve("query", str(alert["query_id"])) != alert["query_id"]
            assert got["investigative_content_id"] == idmap.resolve("dashboard", str(alert["investigative_content_id"]))
        assert _what(got) == _what(alert), source_id


def test_same_instance_repair_puts_a_deleted_alert_back_and_touches_nothing_else(
    origin: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    backup = _snapshot(origin, tmp_path / "a.sqlite")
    before = origin.get("alerts", "72")
    origin.remove("alerts", "71")
    origin.clear_requests()
    with _repair(origin, backup, tmp_path) as restorer:
        summary = restore_many(restorer, all_keys(restorer.backup), workers=2)
        assert summary.failures == [], [f.error.message for f in summary.failures]
        actions = {(r.content_type, r.source_id): r.action for r in summary.results}
        assert actions[(CT.ALERT, "71")] is Action.CREATED
        assert actions[(CT.ALERT, "72")] is Action.UNCHANGED
        # System folders and built-ins are mapped, never written: skipped.
        assert {k: v for k, v in actions.items() if v not in (Action.UNCHANGED, Action.SKIPPED)
                } == {(CT.ALERT, "71"): Action.CREATED}
        assert writes(origin) == ["POST /alerts"]
        new = restorer.idmap.get("alert", "71")
    assert new is not None and new != "71"
    restored = origin.get("alerts", new)
    assert restored is not None and restored["dashboard_element_id"] == "1002" and restored["owner_id"] == "5"
    assert origin.get("alerts", "72") == before


def test_a_changed_alert_is_patched_and_a_dashboard_repair_keeps_its_tiles_and_alerts(
    origin: FakeLooker, tmp_path: Path
) -> None:
    backup = _snapshot(origin, tmp_path / "a.sqlite")
    origin.put("alerts", {"id": "71", "threshold": 5.0})
    origin.put("alerts", {"id": "72", "cron": "0 * * * *"})
    tile = origin.get("dashboard_elements", "1002")
    assert tile is not None
    origin.put("dashboard_elements", {"id": "1002", "title": "Renamed by someone"})
    origin.clear_requests()
    with _repair(origin, backup, tmp_path) as restorer:
        results = {key: restorer.restore(*key) for key in ((CT.DASHBOARD, "101"), (CT.ALERT, "71"), (CT.ALERT, "72"))}
    assert results[(CT.DASHBOARD, "101")].action is Action.UPDATED
    assert results[(CT.ALERT, "71")].changed_fields == ("threshold",)
    assert results[(CT.ALERT, "72")].changed_fields == ("cron",)
    # The tile was updated in place, so its alert still watches it; threshold alone is a PATCH, cron needs a PUT.
    assert writes(origin) == ["PATCH /dashboard_elements/1002", "PATCH /alerts/71",
                              "PUT /alerts/72"]
    assert origin.get("dashboard_elements", "1002")["title"] == tile["title"]  # type: ignore[index]
    alerts = {a: origin.get("alerts", a) for a in ("71", "72")}
    assert alerts["71"]["threshold"] == 100 and alerts["71"]["dashboard_element_id"] == "1002"  # type: ignore[index]
    assert alerts["72"]["cron"] == "0 6 * * *" and alerts["72"]["is_disabled"] is True  # type: ignore[index]


def test_an_alert_whose_tile_is_gone_fails_alone_naming_it(origin: FakeLooker, tmp_path: Path) -> None:
    backup = _snapshot(origin, tmp_path / "a.sqlite")
    origin.remove("alerts", "71")
    origin.remove("alerts", "72")
    origin.remove("dashboard_elements", "1002")  # the tile of alert 71
    with _repair(origin, backup, tmp_path) as restorer:
        with pytest.raises(MissingDependency) as tile_gone:
            restorer.restore(CT.ALERT, "71")
        assert "alert 71 (Alert 71)" in str(tile_gone.value) and "dashboard_element 1002" in str(tile_gone.value)
        assert "dashboard 101" in str(tile_gone.value)
        assert restorer.restore(CT.ALERT, "72").action is Action.CREATED
    assert [a["dashboard_element_id"] for a in origin.all("alerts").values()] == ["1005"]


def test_an_alert_whose_owner_is_gone_fails_naming_the_owner(
    fake: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    backup = build_backup(tmp_path / "b.sqlite", [*sample_items(), sample_alert("71", "1002", "101", "77")])
    fake.load_backup(backup)
    fake.remove("alerts", "71")
    restorer = make_restorer(backup, same_instance=True)
    with pytest.raises(MissingDependency, match=r"alert 71 needs user 77, its owner \(user 77\)"):
        restorer.restore(CT.ALERT, "71")
    assert fake.all("alerts") == {}


def test_an_alert_of_a_re_created_dashboard_is_made_anew_on_the_new_tile(origin: FakeLooker, tmp_path: Path) -> None:
    """A hard-deleted dashboard is created again with new tiles; Looker cannot move an alert to another tile."""
    backup = _snapshot(origin, tmp_path / "a.sqlite")
    origin.remove("dashboards", "101")  # its alerts stay, orphaned and disabled (looker-cli #113)
    assert origin.get("alerts", "71")["is_disabled"] is True  # type: ignore[index]
    with _repair(origin, backup, tmp_path) as restorer:
        assert restorer.restore(CT.DASHBOARD, "101").action is Action.CREATED
        origin.clear_requests()
        result = restorer.restore(CT.ALERT, "71")
        new_tile = restorer.idmap.get("dashboard_element", "1002")
        new_alert = restorer.idmap.get("alert", "71")
    assert result.action is Action.CREATED and "cannot move an alert to another tile" in result.message
    assert writes(origin) == ["DELETE /alerts/71", "POST /alerts"]
    assert new_tile is not None and new_tile != "1002" and new_alert is not None
    assert origin.get("alerts", "71") is None
    alert = origin.get("alerts", new_alert)
    assert alert is not None and (alert["dashboard_element_id"], alert["is_disabled"]) == (new_tile, False)
