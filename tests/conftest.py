"""Shared fixtures: a real fake Looker over HTTP, an authenticated client, backups in tmp_path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerClient, LookerSettings, RetryPolicy, connect
from lookervault_core.restore import Restorer
from lookervault_core.testing.backups import build_backup
from lookervault_core.testing.fake_looker import FakeLooker


@pytest.fixture
def fake() -> Iterator[FakeLooker]:
    """A strict fake: it answers 422 to any read-only or unknown field a restore sends."""
    with FakeLooker(strict=True) as server:
        yield server


def settings_for(fake: FakeLooker, **overrides: object) -> LookerSettings:
    return LookerSettings(base_url=fake.base_url, client_id=fake.client_id,
                          client_secret=fake.client_secret, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def client(fake: FakeLooker) -> Iterator[LookerClient]:
    # No real sleeping between retries in tests.
    with connect(settings_for(fake), retry=RetryPolicy(initial_backoff=0.0, max_backoff=0.0, jitter=0.0)) as c:
        yield c


@pytest.fixture
def sample_backup(tmp_path: Path) -> Path:
    return build_backup(tmp_path / "sample.sqlite")


@pytest.fixture
def make_restorer(client: LookerClient, tmp_path: Path) -> Iterator[object]:
    opened: list[object] = []

    def make(backup: Path, *, same_instance: bool = False, **kwargs: object) -> Restorer:
        """A Restorer into the fake; `same_instance` when the fake holds the backup's own instance."""
        reader = BackupReader(backup)
        destination = client.settings.instance_id
        idmap = IdMap(tmp_path / "state" / "idmap.sqlite", destination if same_instance else "source", destination)
        opened.extend([reader, idmap])
        return Restorer(client, reader, idmap, **kwargs)  # type: ignore[arg-type]

    yield make
    for obj in opened:
        obj.close()  # type: ignore[attr-defined]


def _postgres_bin() -> Path:
    """Where PostgreSQL's server programs are (`.ci/run`, the README's test command, installs them)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    which = shutil.which("pg_ctl")
    if which is not None:
        return Path(which).resolve().parent
    raise RuntimeError("PostgreSQL's server programs are needed for the shared id map tests: run the tests with "
                       "`bash .ci/run`, which installs them, or install them (Debian: apt-get install postgresql)")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback, for the id map shared by separate runs.

    PostgreSQL refuses to run as root, so under root the cluster belongs to the
    `postgres` user that Debian's package creates.
    """
    bindir = _postgres_bin()
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="lookervault-pg-"))
    if as_owner:
        shutil.chown(root, "postgres")
    data = root / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run([*as_owner, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "lookervault"],
                   check=True, capture_output=True)
    subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://lookervault@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
