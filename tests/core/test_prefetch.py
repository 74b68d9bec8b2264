"""Deciding drift from bulk listings: an unchanged look needs no GET of its own, a changed one is still caught."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.testing.backups import build_synthetic_backup
from lookervault_core.testing.fake_looker import FakeLooker

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
_SETUP = (CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER, CT.FOLDER)


@pytest.fixture
def many_looks(tmp_path: Path) -> Path:
    return build_synthetic_backup(tmp_path / "looks.sqlite", folders=6, looks=40, dashboards=0,
                                  tiles_per_dashboard=0)


def _keys(reader: BackupReader, *types: CT) -> list[tuple[CT, str]]:
    return [(ct, row.id) for ct in TYPE_ORDER if ct in types for row in reader.rows(ct)]


def _restored(make_restorer: Callable[..., Restorer], backup: Path, *types: CT) -> dict[str, Action]:
    restorer = make_restorer(backup)
    summary = restore_many(restorer, _keys(restorer.backup, *types), workers=4)
    assert summary.failures == []
    return {r.source_id: r.action for r in summary.results}


def _per_item_reads(fake: FakeLooker, collection: str) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path.startswith(f"/{collection}/")
               and r.path != f"/{collection}/search")


def test_an_unchanged_pass_reads_looks_in_bulk_and_writes_nothing(
    fake: FakeLooker, many_looks: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restored(make_restorer, many_looks, *_SETUP, CT.LOOK)
    fake.clear_requests()
    actions = _restored(make_restorer, many_looks, CT.LOOK)
    assert set(actions.values()) == {Action.UNCHANGED} and len(actions) == 40
    assert _per_item_reads(fake, "looks") == 0
    assert _per_item_reads(fake, "queries") == 0  # immutable queries, recorded when created
    assert [r for r in fake.requests if r.method in WRITES and not r.path.endswith("login")] == []
    assert len(fake.requests) <= 10  # the listing's page, a login, probes of a few folders and the owner


def test_drift_seen_in_the_listing_is_restored_and_a_missing_look_recreated(
    fake: FakeLooker, many_looks: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restored(make_restorer, many_looks, *_SETUP, CT.LOOK)
    restorer = make_restorer(many_looks)
    edited, gone = restorer.idmap.get("look", "10003"), restorer.idmap.get("look", "10007")
    assert edited is not None and gone is not None
    live = fake.get("looks", edited)
    assert live is not None
    fake.put("looks", {**live, "description": "edited in Looker"})
    fake.remove("looks", gone)
    actions = _restored(make_restorer, many_looks, CT.LOOK)
    assert actions["10003"] is Action.UPDATED and actions["10007"] is Action.CREATED
    assert [a for s, a in actions.items() if s not in ("10003", "10007")] == [Action.UNCHANGED] * 38
    assert fake.get("looks", edited)["description"] != "edited in Looker"  # type: ignore[index]
    assert len(fake.all("looks")) == 40


def test_a_look_written_after_the_listing_is_read_again(
    fake: FakeLooker, many_looks: Path, make_restorer: Callable[..., Restorer]
) -> None:
    _restored(make_restorer, many_looks, *_SETUP, CT.LOOK)
    restorer = make_restorer(many_looks)
    dest = restorer.idmap.get("look", "10005")
    assert dest is not None
    live = fake.get("looks", dest)
    assert live is not None
    fake.put("looks", {**live, "title": "renamed in Looker"})
    assert restorer.prefetch(CT.LOOK) == 40
    assert restorer.restore(CT.LOOK, "10005").action is Action.UPDATED
    # The listing still shows the renamed title; a second restore must not believe it.
    fake.clear_requests()
    assert restorer.restore(CT.LOOK, "10005").action is Action.UNCHANGED
    assert [r.path for r in fake.requests if r.method == "PATCH"] == []
