"""Alerts, folder access and user attributes held by one instance, snapshotted and restored together.

The single-kind tests (test_alerts.py, test_access_attributes.py) each start from an instance holding
one kind; here one instance holds all three, so their snapshot order, their dependencies on each
other's parents (users, groups, dashboards' tiles) and their id mapping are tried in one restore.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.testing.backups import sample_items
from lookervault_core.testing.fake_looker import FakeLooker

from .test_access_attributes import (_canonical, _items, _restore_same_instance, build_access_instance,
                                     revoke_access_and_change_a_group_value)
from .test_alerts import _alerts, _snapshot, _what, load_sample_with_alerts
from .test_restore import all_keys

@pytest.fixture
def origin(tmp_path: Path) -> Iterator[FakeLooker]:
    """Server A: the sample instance, two alerts on its tiles, folder access and user attributes."""
    with FakeLooker(strict=True) as server:
        load_sample_with_alerts(server, tmp_path)
        build_access_instance(server)
        yield server


def _failures(summary: object) -> list[str]:
    return [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures]  # type: ignore[attr-defined]


def test_snapshot_restore_into_an_empty_instance_and_snapshot_again_agree_on_all_three(
    origin: FakeLooker, fake: FakeLooker, make_restorer: Callable[..., Restorer], tmp_path: Path
) -> None:
    a_path = _snapshot(origin, tmp_path / "a.sqlite")
    a_alerts, a_items = _alerts(a_path), _items(a_path)
    assert len(a_alerts) == 2 and {ct for ct, _ in a_items} == {CT.FOLDER_ACCESS, CT.USER_ATTRIBUTE,
                                                                CT.USER_ATTRIBUTE_VALUE}

    for ct, data in sample_items():
        if ct in (CT.LOOKML_MODEL, CT.EXPLORE):  # deployed LookML, as a move to another instance has it
            fake.put("lookml_models" if ct is CT.LOOKML_MODEL else "explores", data)
    fake.put("users", {"id": "40", "first_name": "Someone", "last_name": "Else"})  # B's ids differ from A's
    restorer = make_restorer(a_path)  # another instance: every id mapped
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    assert _failures(summary) == []
    b_path = _snapshot(fake, tmp_path / "b.sqlite")
    b_alerts, b_items = _alerts(b_path), _items(b_path)
    idmap = restorer.idmap

    def mapped(ct: CT, source_id: object) -> object:
        return idmap.resolve(ct.label, str(source_id)) or f"unmapped {ct.label} {source_id}"

    assert len(b_alerts) == 2
    for source_id, alert in a_alerts.items():
        got = b_alerts[str(mapped(CT.ALERT, source_id))]
        assert got["dashboard_element_id"] == idmap.resolve("dashboard_element", str(alert["dashboard_element_id"]))
        assert got["owner_id"] == mapped(CT.USER, alert["owner_id"]) != alert["owner_id"]
        assert _what(got) == _what(alert), source_id
    for (ct, item_id), data in a_items.items():
        kind = {CT.FOLDER_ACCESS: CT.FOLDER, CT.USER_ATTRIBUTE: CT.USER_ATTRIBUTE, CT.USER_ATTRIBUTE_VALUE: CT.USER}[ct]
        dest = (ct, str(mapped(kind, item_id)))
        assert dest in b_items, f"{ct.label} {item_id} of A has no counterpart in B"
        assert _canonical(ct, data, mapped) == _canonical(ct, b_items[dest], lambda _ct, i: str(i)), f"{ct.label} {item_id}"


def test_a_repair_puts_back_a_deleted_alert_revoked_access_and_a_changed_group_value_and_writes_nothing_else(
    origin: FakeLooker, tmp_path: Path
) -> None:
    backup = _snapshot(origin, tmp_path / "a.sqlite")
    origin.remove("alerts", "71")
    groups, attributes, cmid = revoke_access_and_change_a_group_value(origin)
    writes = sorted(_restore_same_instance(origin, backup, tmp_path / "idmap.sqlite"))
    assert writes == sorted(["POST /alerts", "POST /content_metadata_access",
                             f"PATCH /groups/{groups['Finance']}/attribute_values/{attributes['region']}"])
    assert any(a["dashboard_element_id"] == "1002" and a["owner_id"] == "5" for a in origin.all("alerts").values())
    assert any(a["group_id"] == groups["Sales"] and a["content_metadata_id"] == cmid
               for a in origin.all("content_metadata_accesses").values())
    region = {v["group_id"]: v["value"] for v in origin.all("user_attribute_group_values").values()
              if v["user_attribute_id"] == attributes["region"]}
    assert region[groups["Finance"]] == "AMER"
