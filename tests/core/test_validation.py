"""Looker's content validator in the fake, and the check of restored content built on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lookervault_core.content_types import ContentType as CT
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.testing.backups import build_backup
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_core.validation import validate_restored

from .test_restore import all_keys


def _restored(fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]) -> Restorer:
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook", "explores": [{"name": "orders"}]})
    restorer = make_restorer(build_backup(tmp_path / "sample.sqlite"))
    summary = restore_many(restorer, all_keys(restorer.backup), workers=4)
    assert summary.failures == []
    return restorer


def test_restored_content_whose_explore_a_later_deploy_removed_is_named_per_item(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    restorer = _restored(fake, tmp_path, make_restorer)
    clean = validate_restored(restorer.client, restorer.backup, restorer.idmap)
    assert clean.of(CT.LOOK) == [] and clean.of(CT.DASHBOARD) == []

    # A bad LookML deploy after the restore: the model no longer has the explore.
    model = fake.get("lookml_models", "thelook")
    assert model is not None
    fake.put("lookml_models", {**model, "explores": [{"name": "orders_v2"}]})
    fake.remove("explores", "thelook::orders")
    check = validate_restored(restorer.client, restorer.backup, restorer.idmap)
    looks = {b.source_id: b for b in check.of(CT.LOOK)}
    assert set(looks) == {"201", "202"}
    assert looks["201"].title == "Orders by Month"
    assert looks["201"].errors == ('Unknown explore "orders".',)
    assert looks["201"].looker_id == restorer.idmap.resolve("look", "201")
    dashboards = check.of(CT.DASHBOARD)
    assert [d.source_id for d in dashboards] and all(
        any(e.startswith("tile ") and e.endswith('Unknown explore "orders".') for e in d.errors) for d in dashboards)


def test_the_fake_reports_unknown_fields_when_it_knows_the_explore(fake: FakeLooker, client: object) -> None:
    fake.put("lookml_models", {"name": "m", "project_name": "p", "explores": [{"name": "e"}]})
    fake.put("explores", {"id": "m::e", "name": "e", "model_name": "m",
                          "fields": {"dimensions": [{"name": "e.a"}], "measures": [], "filters": [], "parameters": []}})
    sdk = client.plain_sdk  # type: ignore[attr-defined]
    query = sdk.create_query({"model": "m", "view": "e", "fields": ["e.a", "e.gone"]})
    sdk.create_look({"title": "L", "folder_id": "1", "query_id": query["id"]})
    answer = sdk.content_validation()
    assert [(x["look"]["title"], x["errors"]) for x in answer["content_with_errors"]] == [
        ("L", [{"message": 'Unknown field "e.gone".', "field_name": "e.gone", "model_name": "m",
                "explore_name": "e", "removable": True}])]
    assert answer["total_looks_validated"] == 1
