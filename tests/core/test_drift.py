"""Drift detection: a dry run over the backup names exactly what Looker lacks or changed, and writes nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerSettings, connect
from lookervault_core.restore import Restorer, find_drift, restore_many
from lookervault_core.testing.fake_looker import FakeLooker

SAMPLE = Path(__file__).resolve().parents[2] / "lookervault_pipelines" / "sample" / "sample.sqlite"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeLooker, Path]]:
    backup = tmp_path / "backup.sqlite"
    shutil.copy(SAMPLE, backup)
    with FakeLooker(strict=True) as looker:
        looker.load_backup(backup)
        yield looker, backup


def writes(fake: FakeLooker) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in WRITES and r.path != "/login"]


def test_drift_names_missing_and_changed_items_and_a_restore_of_them_leaves_none(
    fake: tuple[FakeLooker, Path], tmp_path: Path
) -> None:
    looker, backup = fake
    looker.remove("folders", "13")
    looker.remove("looks", "202")  # in folder 13
    edited = {**looker.get("dashboards", "101"), "title": "Edited in Looker"}  # type: ignore[dict-item]
    looker.put("dashboards", edited)
    looker.remove("users", "6")
    owned_by_6 = {(ct, i) for ct, coll in ((CT.DASHBOARD, "dashboards"), (CT.LOOK, "looks"),
                                           (CT.SCHEDULED_PLAN, "scheduled_plans"), (CT.BOARD, "boards"))
                  for i, o in looker.all(coll).items() if str(o.get("user_id")) == "6"}
    settings = LookerSettings(base_url=looker.base_url, client_id=looker.client_id,
                              client_secret=looker.client_secret)
    with BackupReader(backup) as reader, connect(settings) as client, \
            IdMap(str(tmp_path / "idmap.sqlite"), client.settings.instance_id, client.settings.instance_id) as idmap:
        looker.clear_requests()
        report = find_drift(Restorer(client, reader, idmap, dry_run=True), workers=4)
        assert writes(looker) == []
        assert report.api_calls == len(looker.requests)
        assert report.types[CT.FOLDER].missing == ("13",)
        assert report.types[CT.LOOK].missing == ("202",)
        assert report.types[CT.USER].missing == ("6",)
        assert report.types[CT.DASHBOARD].changed["101"][0] == "title"
        # What user 6 owned must point at the user's new id once it is re-created.
        assert owned_by_6 and owned_by_6 <= {*report.drifted()}
        expected = {(CT.FOLDER, "13"), (CT.LOOK, "202"), (CT.USER, "6"), (CT.DASHBOARD, "101"), *owned_by_6}
        assert set(report.drifted()) == expected
        assert [ct for ct, _ in report.drifted()] == sorted((ct for ct, _ in expected),
                                                            key=list(report.types).index)
        assert not report.in_sync
        in_sync = [t for ct, t in report.types.items() if ct not in {k[0] for k in expected}]
        assert in_sync and all(t.in_sync and t.checked == t.unchanged + t.skipped for t in in_sync)

        summary = restore_many(Restorer(client, reader, idmap), report.drifted(), workers=4)
        assert summary.failures == []
        looker.clear_requests()
        again = find_drift(Restorer(client, reader, idmap, dry_run=True), workers=4)
        assert again.drifted() == [] and again.in_sync, again
        assert writes(looker) == []


def test_find_drift_refuses_a_restorer_that_writes(fake: tuple[FakeLooker, Path], tmp_path: Path) -> None:
    looker, backup = fake
    settings = LookerSettings(base_url=looker.base_url, client_id=looker.client_id,
                              client_secret=looker.client_secret)
    with BackupReader(backup) as reader, connect(settings) as client, \
            IdMap(str(tmp_path / "idmap.sqlite"), client.settings.instance_id, client.settings.instance_id) as idmap:
        with pytest.raises(ValueError, match="dry-run"):
            find_drift(Restorer(client, reader, idmap))


def test_an_item_moved_to_the_trash_in_looker_is_drift(fake: tuple[FakeLooker, Path], tmp_path: Path) -> None:
    """Deleting in Looker's UI soft-deletes (`deleted: true`): search listings leave it out, its GET still answers."""
    looker, backup = fake
    for collection, item_id in (("looks", "201"), ("dashboards", "102")):
        looker.put(collection, {**looker.get(collection, item_id), "deleted": True,  # type: ignore[dict-item]
                                "deleted_at": "2030-01-01T00:00:00.000+00:00"})
    settings = LookerSettings(base_url=looker.base_url, client_id=looker.client_id,
                              client_secret=looker.client_secret)
    with BackupReader(backup) as reader, connect(settings) as client, \
            IdMap(str(tmp_path / "idmap.sqlite"), client.settings.instance_id, client.settings.instance_id) as idmap:
        report = find_drift(Restorer(client, reader, idmap, dry_run=True), workers=4)
    assert report.drifted() == [(CT.LOOK, "201"), (CT.DASHBOARD, "102")]
    assert "deleted" in report.types[CT.LOOK].changed["201"]
    assert "deleted" in report.types[CT.DASHBOARD].changed["102"]
