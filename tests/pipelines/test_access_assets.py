"""Folder access and user attributes as assets: ordered after what they name, restored per partition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.definitions import defs
from lookervault_pipelines.defs.partitions import sync_partitions

from ..core.test_access_attributes import build_access_instance, snapshot
from .test_pipeline import MAT, statuses


def _deps(asset: str) -> set[str]:
    [spec] = defs.resolve_assets_def(asset).specs
    return {dep.asset_key.path[0] for dep in spec.deps}


def test_access_and_attribute_assets_come_after_what_they_name() -> None:
    assert _deps("folder_access") == {"folders", "groups", "users"}
    assert _deps("user_attributes") == {"groups"}
    assert _deps("user_attribute_values") == {"users", "user_attributes"}


@pytest.fixture
def access_looker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeLooker, Path]]:
    """An instance with folder access, and its snapshot as the pipeline's backup (the same instance)."""
    with FakeLooker(strict=True) as fake:
        build_access_instance(fake)
        backup = snapshot(fake, tmp_path / "backup.sqlite")
        monkeypatch.setenv("LOOKERSDK_BASE_URL", fake.base_url)
        monkeypatch.setenv("LOOKERSDK_CLIENT_ID", fake.client_id)
        monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", fake.client_secret)
        monkeypatch.setenv("LOOKERVAULT_BACKUP", str(backup))
        monkeypatch.setenv("LOOKERVAULT_STATE_DIR", str(tmp_path / "state"))
        yield fake, backup


def test_a_folder_access_partition_puts_revoked_access_back(
    access_looker: tuple[FakeLooker, Path], instance: dg.DagsterInstance
) -> None:
    fake, backup = access_looker
    with BackupReader(backup) as reader:
        sync_partitions(instance, reader)
    team = next(f for f in fake.all("folders").values() if f["name"] == "Team")
    cmid = str(team["content_metadata_id"])
    revoked = next(a for a in fake.all("content_metadata_accesses").values()
                   if a["content_metadata_id"] == cmid and a["permission_type"] == "view")
    fake.remove("content_metadata_accesses", str(revoked["id"]))

    result = defs.resolve_job_def("restore_folder_access").execute_in_process(
        instance=instance, partition_key=str(team["id"]), raise_on_error=False)

    assert result.success
    assert statuses(instance, CT.FOLDER_ACCESS)[str(team["id"])] == MAT
    [mat] = result.asset_materializations_for_node("folder_access")
    assert mat.metadata["action"].value == "updated"
    restored = {(a["group_id"], a["permission_type"]) for a in fake.all("content_metadata_accesses").values()
                if a["content_metadata_id"] == cmid}
    assert (revoked["group_id"], "view") in restored
