"""The dry run is a preflight: before any write it names exactly what cannot be restored, and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lookervault_core.content_types import ContentType as CT
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.testing.backups import (
    as_lookervault_extracted,
    build_backup,
    lookervault_backup_items,
    orphan_plan,
)
from lookervault_core.testing.fake_looker import FakeLooker

from .test_restore import all_keys, writes


def test_a_dry_run_into_a_new_instance_names_exactly_what_the_real_restore_fails(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    backup = build_backup(tmp_path / "lv.sqlite", as_lookervault_extracted([*lookervault_backup_items(),
                                                                           orphan_plan()]))
    fake.put("lookml_models", {"name": "thelook", "explores": [{"name": "orders"}]})  # LookML deployed
    fake.clear_requests()
    dry = make_restorer(backup, dry_run=True)
    preflight = restore_many(dry, all_keys(dry.backup), workers=4)
    assert writes(fake) == []
    cannot = {(f.content_type, f.source_id): f.error for f in preflight.failures}
    assert set(cannot) == {(CT.DASHBOARD, "101"), (CT.SCHEDULED_PLAN, "403")}
    assert "merged results m8Kq2xZ are not in Looker and the backup does not hold the merge query" in \
        cannot[(CT.DASHBOARD, "101")].message
    assert "Carol Departed" in cannot[(CT.SCHEDULED_PLAN, "403")].message
    skipped = {(r.content_type, r.source_id): r.message for r in preflight.results if r.action is Action.SKIPPED}
    assert "not restorable through the API" in skipped[(CT.USER, "30")]
    counts = preflight.counts()
    assert counts["would_create"] > 20 and counts["created"] == 0 and counts["updated"] == 0

    real = restore_many(make_restorer(backup), all_keys(dry.backup), workers=4)
    assert {(f.content_type, f.source_id): f.error.type for f in real.failures} == {
        key: error.type for key, error in cannot.items()}
    assert {(r.content_type, r.source_id) for r in real.results if r.action is Action.SKIPPED} == set(skipped)
