"""What a person sees from `lookervault`: titles, each failure once, progress, one vocabulary (issue 19)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookervault_core.testing.backups import build_synthetic_backup
from lookervault_core.testing.fake_looker import FakeLooker, ServerError

from .test_cli import CLI, SAMPLE, lookervault

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[FakeLooker, dict[str, str], Path]]:
    backup = tmp_path / "backup.sqlite"
    shutil.copy(SAMPLE, backup)
    with FakeLooker(strict=True) as fake:
        fake.load_backup(backup)
        yield fake, _environ(fake, tmp_path), backup


def _environ(fake: FakeLooker, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"), "LOOKERSDK_BASE_URL": fake.base_url,
            "LOOKERSDK_CLIENT_ID": fake.client_id, "LOOKERSDK_CLIENT_SECRET": fake.client_secret}


def test_items_selected_by_title_and_each_failure_printed_once_with_it(
    env: tuple[FakeLooker, dict[str, str], Path]
) -> None:
    fake, environ, backup = env
    fake.remove("dashboards", "101")
    fake.inject("POST /dashboards", ServerError(503), times=10_000)
    failed = lookervault(environ, "restore", "--backup", str(backup), "--titles", "sales ov*", "--types",
                         "dashboards,looks")
    assert failed.returncode == 1
    # Dashboard 101, "Sales Overview", alone: not 102 "Marketing Funnel", no look.
    assert "total: 1 items (1 failed)" in failed.stdout, failed.stdout
    line = 'dashboard 101 "Sales Overview" (Sales): Unavailable: POST /api/4.0/dashboards: HTTP 503'
    assert (failed.stdout + failed.stderr).count(line) == 1, failed.stdout + failed.stderr
    assert "dagster - " not in failed.stderr and "Stack Trace" not in failed.stderr, failed.stderr

    as_json = lookervault(environ, "restore", "--backup", str(backup), "--titles", "Sales Overview",
                          "--types", "dashboards", "--json")
    report = json.loads(as_json.stdout)
    assert [(f["content_type"], f["id"], f["title"]) for f in report["failed_items"]] == [
        ("dashboards", "101", "Sales Overview")]
    assert [r["content_type"] for r in report["runs"]] == ["dashboards"]

    letters = lookervault(environ, "dead-letters")
    assert letters.stdout.startswith('dashboard 101 "Sales Overview" (Sales): Unavailable: '), letters.stdout
    [letter] = json.loads(lookervault(environ, "dead-letters", "--json").stdout)
    assert (letter["content_type"], letter["id"], letter["title"], letter["folder"]) == (
        "dashboards", "101", "Sales Overview", "Sales")

    fake.clear_faults()
    verbose = lookervault(environ, "restore", "--backup", str(backup), "--titles", "Sales Overview", "--verbose")
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "dagster - INFO" in verbose.stderr

    nothing = lookervault(environ, "restore", "--backup", str(backup), "--titles", "Nothing like it*")
    assert nothing.returncode == 1
    assert "--titles: no item's title matches 'Nothing like it*'; nothing was restored" in nothing.stderr


def test_long_work_shows_progress_on_stderr_while_stdout_comes_line_by_line(tmp_path: Path) -> None:
    backup = build_synthetic_backup(tmp_path / "backup.sqlite", folders=2, looks=40, dashboards=0,
                                    tiles_per_dashboard=0)
    with FakeLooker(strict=True) as fake:
        fake.load_backup(backup)
        for look_id in list(fake.all("looks")):
            fake.remove("looks", look_id)
        fake.latency_ms = 25
        environ = {**_environ(fake, tmp_path), "LOOKERVAULT_PROGRESS_SECONDS": "0.5"}
        proc = subprocess.Popen([CLI, "restore", "--backup", str(backup), "--types", "folders,looks", "--workers",
                                 "1", "--max-workers", "1"], env=environ, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        before = [proc.stdout.readline() for _ in range(3)]
        # Piped, each type's line arrives when its run ends: the folders' while the looks are restored.
        looks_created = len([r for r in fake.requests if (r.method, r.path) == ("POST", "/looks")])
        out, err = proc.communicate(timeout=300)
    assert before[0].startswith("backup: ") and before[2].startswith("folders: 2 unchanged"), (before, out, err)
    assert looks_created < 40, (before, out, err)
    assert proc.returncode == 0, out + err
    assert "total: 42 items (40 created, 2 unchanged)" in out
    progress = re.findall(r"^looks: (\d+)/40 done, 0 failed, [\d.]+ items/s, ETA \d+ s$", err, re.MULTILINE)
    # Not a terminal: a line every half second at most, never a carriage return.
    assert len(progress) >= 2 and "\r" not in err, err
    assert [int(n) for n in progress] == sorted(int(n) for n in progress)
