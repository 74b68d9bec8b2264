"""Issue 18, item 5: faults before any run (Looker down, bad credentials, a newer backup, unusable DAGSTER_HOME).

Each is one clear line on stderr and a non-zero exit, within seconds, with no
run started, no dead letter recorded and nothing written to Looker. The CLI
runs as a subprocess so that what a person sees (stderr, exit code) is what is
asserted.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance import InstanceRef

from lookervault_core.testing.fake_looker import FakeLooker, Latency

from .test_cli import WRITES, lookervault
from .test_cli import env as env  # noqa: F401 - the fixture, shared

pytestmark = pytest.mark.integration

Env = tuple[FakeLooker, dict[str, str], Path]


def _one_clear_line(stderr: str) -> str:
    """The one error line; besides it only the client's notices of its retries ("try 1/5 failed ...")."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [line for line in lines if not line.startswith("try ")]
    assert len(errors) == 1 and errors[0].startswith("Error: "), stderr
    assert len(lines) <= 5, stderr  # at most the 4 retries of the configured 5 tries
    return errors[0]


def _runs(home: Path) -> int:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))  # the project's event log storage finds its folder there
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as inst:
            return inst.get_runs_count()


def _writes(fake: FakeLooker) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in WRITES and not r.path.endswith("login")]


@pytest.fixture
def stopped(env: Env) -> Iterator[Env]:  # noqa: F811
    fake, environ, backup = env
    fake.stop()  # its port now refuses connections: Looker down
    yield fake, environ, backup


def test_looker_down_stops_the_restore_in_seconds_with_one_message(stopped: Env) -> None:
    _, environ, backup = stopped
    started = time.monotonic()
    out = lookervault(environ, "restore", "--backup", str(backup))
    elapsed = time.monotonic() - started
    assert out.returncode != 0
    line = _one_clear_line(out.stderr)
    assert f"cannot reach Looker at {environ['LOOKERSDK_BASE_URL']}" in line, line
    assert environ["LOOKERSDK_CLIENT_SECRET"] not in out.stdout + out.stderr
    assert elapsed < 30, elapsed  # the client's configured retries (0.5 + 1 + 2 + 4 s), then one message
    home = Path(environ["DAGSTER_HOME"])
    assert _runs(home) == 0
    letters = lookervault(environ, "dead-letters", "--json")
    assert letters.returncode == 0, letters.stderr
    assert json.loads(letters.stdout) == []

    retried = lookervault(environ, "retry-failed", "--backup", str(backup))
    assert retried.returncode != 0
    assert f"cannot reach Looker at {environ['LOOKERSDK_BASE_URL']}" in _one_clear_line(retried.stderr)
    assert _runs(home) == 0


def test_a_refused_login_stops_the_restore_with_one_message(env: Env) -> None:  # noqa: F811
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    wrong = {**environ, "LOOKERSDK_CLIENT_SECRET": "not-the-secret-4711"}
    started = time.monotonic()
    out = lookervault(wrong, "restore", "--backup", str(backup))
    assert out.returncode != 0
    assert time.monotonic() - started < 30
    line = _one_clear_line(out.stderr)
    assert "login refused" in line and environ["LOOKERSDK_BASE_URL"] in line, line
    assert "not-the-secret-4711" not in out.stdout + out.stderr
    assert _writes(fake) == []
    assert _runs(Path(environ["DAGSTER_HOME"])) == 0
    assert json.loads(lookervault(environ, "dead-letters", "--json").stdout) == []


def test_a_backup_of_a_newer_schema_is_refused_before_anything_is_written(env: Env) -> None:  # noqa: F811
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    with sqlite3.connect(backup) as conn:
        conn.execute("INSERT INTO schema_version VALUES (5, '2027-01-01T00:00:00', 'a future change')")
    conn.close()
    fake.clear_requests()
    out = lookervault(environ, "restore", "--backup", str(backup))
    assert out.returncode != 0
    line = _one_clear_line(out.stderr)
    assert "schema version 5" in line and "4" in line, line
    assert _writes(fake) == []
    synced = lookervault(environ, "partitions", "sync", "--backup", str(backup))
    assert synced.returncode != 0 and "schema version 5" in _one_clear_line(synced.stderr)


def test_dagster_home_a_file_is_one_clear_error(env: Env, tmp_path: Path) -> None:  # noqa: F811
    # Tests run as root, whom a 0o555 directory does not stop: a regular file where DAGSTER_HOME's
    # directory should be fails for root too (mkdir: File exists; open: Not a directory).
    fake, environ, backup = env
    home = tmp_path / "not_a_directory"
    home.write_text("")
    broken = {**environ, "DAGSTER_HOME": str(home)}
    for args in (("restore", "--backup", str(backup)), ("dead-letters",),
                 ("partitions", "sync", "--backup", str(backup)), ("retry-failed", "--backup", str(backup))):
        out = lookervault(broken, *args)
        assert out.returncode != 0, args
        line = _one_clear_line(out.stderr)
        assert f"DAGSTER_HOME {home}" in line, line
    assert _writes(fake) == []


@pytest.mark.parametrize("broken_by", ["history a file", "runs.db a directory"])
def test_dagster_home_whose_storage_cannot_be_written_is_one_clear_error(
        env: Env, tmp_path: Path, broken_by: str) -> None:  # noqa: F811
    # Dagster's run storage is DAGSTER_HOME/history/runs.db. Root writes through 0o555, so the storage is
    # broken in ways that stop root too: `history` a regular file (an OSError, as a read-only folder
    # gives), or runs.db a directory (SQLite's OperationalError "unable to open database file", the
    # class of error a full disk's "disk I/O error" or a read-only file's "attempt to write a readonly
    # database" belong to).
    fake, environ, backup = env
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "lookervault_pipelines" / "instance" / "dagster.yaml",
                home / "dagster.yaml")
    if broken_by == "history a file":
        (home / "history").write_text("")
    else:
        (home / "history" / "runs.db").mkdir(parents=True)
    broken = {**environ, "DAGSTER_HOME": str(home)}
    for args in (("restore", "--backup", str(backup)), ("dead-letters",)):
        out = lookervault(broken, *args)
        assert out.returncode != 0, args
        line = _one_clear_line(out.stderr)
        assert f"DAGSTER_HOME {home}" in line, line
    assert _writes(fake) == []


def test_answers_slower_than_the_timeout_leave_no_extra_tile_and_no_silent_exit(env: Env) -> None:  # noqa: F811
    """Issue 18: 60 creates held 5 s with LOOKERSDK_TIMEOUT=3 ended with exit 0, 5 extra tiles, no dead letter.

    Every tile of dashboard 101 is answered after 5 s, the client gives up after
    3 s: the write lands after it. The run adopts what landed or fails the item
    (a dead letter), never sends it again blind; the next run leaves each tile once.
    """
    fake, environ, backup = env
    fake.remove("dashboards", "101")  # re-created, with its five tiles
    fake.inject("POST /dashboard_elements", Latency(5_000), times=5)
    slow = lookervault({**environ, "LOOKERSDK_TIMEOUT": "3"}, "restore", "--backup", str(backup),
                       "--types", "dashboards", "--json")
    time.sleep(5.5)  # a create still held lands
    print(f"\nfirst run: exit {slow.returncode}")

    def tiles() -> list[str]:
        [dashboard] = [d for d in fake.all("dashboards").values()
                       if d.get("title") == "Sales Overview" and not d.get("deleted")]
        return [str(e.get("title")) for e in fake.all("dashboard_elements").values()
                if str(e.get("dashboard_id")) == str(dashboard["id"]) and not e.get("deleted")]

    assert len(tiles()) == len(set(tiles())) <= 5, tiles()
    letters = lookervault(environ, "dead-letters", "--json", "--types", "dashboards")
    if slow.returncode == 0:
        assert len(tiles()) == 5 and json.loads(letters.stdout) == [], (tiles(), letters.stdout)
    else:
        assert [d["id"] for d in json.loads(letters.stdout)] == ["101"], letters.stdout
    again = lookervault(environ, "restore", "--backup", str(backup), "--types", "dashboards", "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(tiles()) == sorted(set(tiles())) and len(tiles()) == 5, tiles()
    assert json.loads(lookervault(environ, "dead-letters", "--json", "--types", "dashboards").stdout) == []
