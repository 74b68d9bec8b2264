"""Fixtures for pipeline tests: a Dagster instance on disk, a fake Looker, the environment the resources read."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.defs.partitions import sync_partitions

SAMPLE = Path(__file__).resolve().parents[2] / "lookervault_pipelines" / "sample" / "sample.sqlite"


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    path = tmp_path / "backup.sqlite"
    shutil.copy(SAMPLE, path)
    return path


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as inst:
        yield inst


@pytest.fixture
def looker(backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLooker]:
    """The backup's own instance, as the fake: loaded with the backup, ids preserved."""
    with FakeLooker(strict=True) as fake:
        fake.load_backup(backup)
        monkeypatch.setenv("LOOKERSDK_BASE_URL", fake.base_url)
        monkeypatch.setenv("LOOKERSDK_CLIENT_ID", fake.client_id)
        monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", fake.client_secret)
        monkeypatch.setenv("LOOKERVAULT_BACKUP", str(backup))
        monkeypatch.setenv("LOOKERVAULT_STATE_DIR", str(tmp_path / "state"))
        yield fake


@pytest.fixture
def synced(instance: dg.DagsterInstance, backup: Path) -> dg.DagsterInstance:
    with BackupReader(backup) as reader:
        sync_partitions(instance, reader)
    return instance
