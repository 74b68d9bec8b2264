"""Done-when of issue 7: a LookerVault-format backup of every type, restored with `lookervault restore`
into the instance it came from after deletions and edits, leaves every restorable item equal to the
backup and nothing else changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lookervault_core.testing.backups import build_backup, lookervault_backup_items
from lookervault_core.testing.fake_looker import FakeLooker

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "lookervault")
COLLECTIONS = ("folders", "looks", "dashboards", "dashboard_elements", "dashboard_filters", "dashboard_layouts",
               "dashboard_layout_components", "users", "groups", "roles", "permission_sets", "model_sets",
               "scheduled_plans", "boards", "board_sections", "board_items", "lookml_models", "queries")
#: Fields Looker itself changes on every write.
VOLATILE = frozenset({"updated_at", "last_updater_id", "last_updater_name", "content_updated_at",
                      # a folder renders its looks and dashboards: those are compared on their own
                      "looks", "dashboards"})
#: Fields a re-created object gets anew.
NEW_IDENTITY = VOLATILE | {"id", "created_at", "content_metadata_id", "url", "short_url", "embed_url",
                           "excel_file_url", "google_spreadsheet_formula", "image_embed_url", "slug",
                           "folder_id", "parent_id", "folder", "edit_uri", "view_count", "favorite_count",
                           "last_accessed_at", "last_viewed_at", "child_count", "creator_id", "user_name",
                           "deleted_at", "deleter_id", "public_slug", "public_url", "certification_metadata",
                           "is_personal_descendant", "can",
                           "dashboard_id"}  # a re-created dashboard's parts point at its new id

Snapshot = dict[str, dict[str, dict[str, object]]]


def snapshot(fake: FakeLooker) -> Snapshot:
    return {c: fake.all(c) for c in COLLECTIONS}


def without(obj: object, fields: frozenset[str]) -> object:
    """`obj` with `fields` dropped at every depth (a folder renders its looks, a look its folder)."""
    if isinstance(obj, dict):
        return {k: without(v, fields) for k, v in obj.items() if k not in fields}
    if isinstance(obj, list):
        return [without(v, fields) for v in obj]
    return obj


def differences(before: object, after: object, path: str = "") -> list[str]:
    """Where two snapshots of an object differ, as `path: before -> after`."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for k in sorted(before.keys() | after.keys())
                for d in differences(before.get(k), after.get(k), f"{path}.{k}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (x, y) in enumerate(zip(before, after)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def test_lookervault_backup_restores_over_deletions_and_edits(tmp_path: Path) -> None:
    backup = build_backup(tmp_path / "lookervault.sqlite", lookervault_backup_items(), id_form="prefixed")
    with FakeLooker(strict=True) as fake:
        fake.load_backup(backup)
        pristine = snapshot(fake)
        fake.remove("dashboards", "102")
        fake.put("dashboards", {"id": "101", "title": "Edited"})
        fake.remove("looks", "202")
        fake.remove("folders", "13")
        fake.put("looks", {"id": "201", "title": "Edited look"})
        fake.put("users", {"id": "6", "role_ids": []})
        env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"), "LOOKERSDK_BASE_URL": fake.base_url,
               "LOOKERSDK_CLIENT_ID": fake.client_id, "LOOKERSDK_CLIENT_SECRET": fake.client_secret}
        run = subprocess.run([CLI, "restore", "--backup", str(backup), "--json"], env=env, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        report = json.loads(run.stdout)
        assert report["totals"]["failed"] == 0
        final = snapshot(fake)

    recreated = {"dashboards": "102", "looks": "202", "folders": "13"}
    for collection, before in pristine.items():
        after = final[collection]
        for item_id, obj in before.items():
            if recreated.get(collection) == item_id or (collection == "dashboard_layouts" and obj["dashboard_id"] == "102"):
                continue
            assert item_id in after, f"{collection} {item_id} is gone"
            a, b = without(after[item_id], VOLATILE), without(obj, VOLATILE)
            assert a == b, f"{collection} {item_id} changed: {differences(b, a)}"
        new = {k: v for k, v in after.items() if k not in before}
        expected_new = {"dashboards": 1, "looks": 1, "folders": 1, "dashboard_layouts": 1}.get(collection, 0)
        assert len(new) == expected_new, f"{collection}: unexpected new objects {sorted(new)}"
        if collection in recreated:
            [(new_id, obj)] = new.items()
            old = before[recreated[collection]]
            assert without(obj, NEW_IDENTITY) == without(old, NEW_IDENTITY), differences(without(old, NEW_IDENTITY), without(obj, NEW_IDENTITY))
    folder = next(f for f in final["folders"].values() if f["name"] == "Regional Sales")
    assert folder["parent_id"] == "11"
    assert next(iter(v for k, v in final["looks"].items() if k not in pristine["looks"]))["folder_id"] == folder["id"]
