"""The optional content validation after a restore: asset checks on looks and dashboards."""

from __future__ import annotations

import dagster as dg

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.defs.jobs import job_name


def _validate(instance: dg.DagsterInstance) -> dict[str, dg.AssetCheckEvaluation]:
    result = defs.resolve_job_def("validate_content_job").execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_content_broken_by_a_later_deploy_fails_its_check_naming_each_item(
    looker: FakeLooker, synced: dg.DagsterInstance
) -> None:
    clean = _validate(synced)
    assert {n: e.passed for n, e in clean.items()} == {"looks_content_valid": True, "dashboards_content_valid": True}

    # A LookML deploy that drops the explore the restored content queries.
    looker.put("lookml_models", {**looker.get("lookml_models", "thelook"), "explores": [{"name": "x"}]})  # type: ignore[dict-item]
    looker.remove("explores", "thelook::orders")
    report = _validate(synced)
    looks = report["looks_content_valid"]
    assert not looks.passed and looks.severity == dg.AssetCheckSeverity.ERROR
    assert looks.asset_key == dg.AssetKey("looks")
    assert looks.metadata["broken_ids"].value == {"201": ['Unknown explore "orders".'],
                                                   "202": ['Unknown explore "orders".']}
    assert 'look 201 "Orders by Month"' in str(looks.metadata["broken_items"].value)
    assert not report["dashboards_content_valid"].passed


def test_the_checks_are_not_part_of_a_restore_run() -> None:
    for ct in (CT.LOOK, CT.DASHBOARD):
        job = defs.resolve_job_def(job_name(ct))
        assert job.asset_layer.asset_graph.asset_check_keys == set()
    spec = next(iter(defs.resolve_job_def("validate_content_job").asset_layer.asset_graph.asset_check_keys))
    assert spec.name.endswith("_content_valid")
