"""Moving a whole backup into another instance with `lookervault restore`, killed midway and run again.

The destination's id sequences start far from the backup's, so an id the
restore assumed instead of mapping would point nowhere or at the wrong
object. Every restorable item must end with exactly one counterpart, equal
to the backup with references through the id map; a second run writes nothing.
Each scenario runs twice: into a destination whose system folders and "All
Users" group sit at 1, 2 and 1 like the backup's, and into one with the ids a
recorded real instance has (Shared 801, Users 709, All Users 49).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerSettings, RetryPolicy, connect
from lookervault_core.restore import Restorer
from lookervault_core.testing.backups import build_backup, sample_items
from lookervault_core.testing.fake_looker import FakeLooker

from ..core.test_restore import assert_all_restored, writes
from .test_cli import CLI

pytestmark = pytest.mark.integration

_NAMES = {CT.FOLDER: "name", CT.LOOK: "title", CT.DASHBOARD: "title", CT.BOARD: "title", CT.GROUP: "name",
          CT.ROLE: "name", CT.PERMISSION_SET: "name", CT.MODEL_SET: "name", CT.SCHEDULED_PLAN: "name",
          CT.USER: "email"}


#: The system ids of a recorded real instance (looker-api.md, "Recorded from real instances").
RECORDED_SYSTEM_IDS = {"shared": "801", "users": "709", "all_users": "49"}


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    # LookerVault keeps looks without their query; here it lives only in dashboard tiles.
    items = [(ct, {k: v for k, v in d.items() if not (ct is CT.LOOK and k == "query")}) for ct, d in sample_items()]
    # As all_folders lists them on the source, the system roots the sample's folders sit in.
    roots = [(CT.FOLDER, {"id": "1", "name": "Shared", "is_shared_root": True, "creator_id": "1"}),
             (CT.FOLDER, {"id": "2", "name": "Users", "is_users_root": True, "creator_id": "1"})]
    return build_backup(tmp_path / "prod.sqlite", [*roots, *items])


@pytest.fixture(params=[None, RECORDED_SYSTEM_IDS], ids=["system-ids-as-the-source", "system-ids-801-709-49"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FakeLooker, dict[str, str]]]:
    with FakeLooker(strict=True, first_id=5000, system_ids=request.param) as fake:
        # The LookML project is deployed on the new instance (explores exist).
        fake.put("lookml_models", {"name": "thelook", "project_name": "thelook",
                                   "allowed_db_connection_names": ["thelook_db"],
                                   "explores": [{"name": "orders", "label": "Orders", "hidden": False}]})
        environ = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"),
                   "LOOKERSDK_BASE_URL": fake.base_url, "LOOKERSDK_CLIENT_ID": fake.client_id,
                   "LOOKERSDK_CLIENT_SECRET": fake.client_secret}
        yield fake, environ


def _restore(environ: dict[str, str], backup: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([CLI, "restore", "--backup", str(backup), "--source-instance", "prod", "--json"],
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _assert_one_counterpart_each(fake: FakeLooker, backup: Path, environ: dict[str, str]) -> None:
    with BackupReader(backup) as reader:
        for ct, field in _NAMES.items():
            live = Counter(str(o.get(field)) for o in fake.all(ct.plural).values() if not o.get("deleted"))
            for item in reader.items(ct):
                key = str(item.data.get(field))  # type: ignore[union-attr]
                if ct is CT.PERMISSION_SET and item.data.get("built_in"):  # type: ignore[union-attr]
                    continue
                assert live[key] == 1, f"{ct.label} {key!r}: {live[key]} in Looker"
        settings = LookerSettings(base_url=fake.base_url, client_id=fake.client_id, client_secret=fake.client_secret)
        idmap = IdMap(Path(environ["DAGSTER_HOME"]) / "lookervault" / "idmap.sqlite", "prod", settings.instance_id)
        # System content keeps the destination's own ids, whatever they are.
        system = {(CT.FOLDER, fid) for fid, f in fake.all("folders").items() if f.get("parent_id") is None}
        with connect(settings, retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0, jitter=0.0)) as client:
            restorer = Restorer(client, reader, idmap)
            for ct in CT:
                for row in reader.rows(ct):
                    dest = idmap.get(ct.label, row.id)
                    assert ct in (CT.EXPLORE, CT.LOOKML_MODEL) or dest is None or int(dest) >= 5000 or \
                        (ct, dest) in {*system, (CT.PERMISSION_SET, "1")}, (ct, row.id, dest)
            assert_all_restored(fake, restorer)
        idmap.close()
    tiles = [e for e in fake.all("dashboard_elements").values()]
    assert len(tiles) == 5 and len(fake.all("merge_queries")) == 1 and len(fake.all("dashboard_layouts")) == 3


def test_a_restore_killed_midway_and_run_again_ends_with_one_counterpart_per_item(
    destination: tuple[FakeLooker, dict[str, str]], backup: Path
) -> None:
    fake, environ = destination
    fake.latency_ms = 40  # slow enough to be killed in the middle of writing
    proc = _restore(environ, backup)
    deadline = time.monotonic() + 120
    while len(writes(fake)) < 25 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the restore finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    killed_after = len(writes(fake))
    assert 25 <= killed_after

    fake.latency_ms = 0
    again = _restore(environ, backup)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, out + err
    _assert_one_counterpart_each(fake, backup, environ)

    fake.clear_requests()
    third = _restore(environ, backup)
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, out + err
    assert writes(fake) == []


def test_runs_in_separate_containers_share_one_id_map_in_postgres(
    destination: tuple[FakeLooker, dict[str, str]], backup: Path, postgres_url: str, tmp_path: Path
) -> None:
    """Each run starts from a fresh DAGSTER_HOME, as a Docker or Kubernetes run launcher starts it."""
    fake, environ = destination
    first = {**environ, "LOOKERVAULT_IDMAP_URL": postgres_url, "DAGSTER_HOME": str(tmp_path / "container-1")}
    out, err = _restore(first, backup).communicate(timeout=300)
    assert "created" in out, out + err
    fake.clear_requests()
    second = {**first, "DAGSTER_HOME": str(tmp_path / "container-2")}
    run = _restore(second, backup)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, out + err
    assert writes(fake) == []
    assert not (tmp_path / "container-1" / "lookervault" / "idmap.sqlite").exists()
