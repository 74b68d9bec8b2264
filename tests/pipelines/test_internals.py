"""Dagster's internals live in one room (lookervault_pipelines/instance/) and are checked when they load."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINES = Path(__file__).resolve().parents[2] / "lookervault_pipelines"
PROJECT_YAML = PIPELINES.parent / "dagster.yaml"


def _private_dagster_imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n for n in names if n.startswith("dagster._")]


def test_only_the_instance_room_imports_dagster_internals() -> None:
    offenders = {str(p.relative_to(PIPELINES)): found for p in PIPELINES.rglob("*.py")
                 if "instance" not in p.relative_to(PIPELINES).parts and (found := _private_dagster_imports(p))}
    assert offenders == {}
    assert _private_dagster_imports(PIPELINES / "instance" / "sqlite_storage.py")  # the scan sees such imports


@pytest.mark.parametrize(("removed", "named"), [
    # Absent before Dagster 1.13.13: a batch then failed after its run-shard write and was stored twice.
    ("from dagster._core.storage.event_log import SqliteEventLogStorage as c\n"
     "[delattr(k, '_store_asset_event_tags') for k in c.__mro__ if '_store_asset_event_tags' in vars(k)]",
     "SqliteEventLogStorage._store_asset_event_tags"),
    # Absent before Dagster 1.13.5: the instance did not load, with a bare ImportError.
    ("import dagster._core.storage.event_log.sqlite.sqlite_event_log as m; del m.SQLITE_BUSY_TIMEOUT_SECONDS",
     "SQLITE_BUSY_TIMEOUT_SECONDS"),
    ("import dagster._grpc.impl as m; del m.start_run_in_subprocess", "start_run_in_subprocess"),
])
def test_an_instance_on_a_dagster_without_an_internal_refuses_to_load_naming_the_version(
    removed: str, named: str, tmp_path: Path
) -> None:
    """The project's dagster.yaml loaded as the daemon, webserver or CLI loads it, on a Dagster lacking one."""
    shutil.copy(PROJECT_YAML, tmp_path / "dagster.yaml")
    code = (f"{removed}\nimport dagster as dg\nwith dg.DagsterInstance.get() as i:\n"
            "    i.event_log_storage; i.run_launcher\nprint('loaded')")
    done = subprocess.run([sys.executable, "-c", code], env={"DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin"},
                          capture_output=True, text=True, timeout=120)
    import dagster as dg

    assert done.returncode != 0 and "loaded" not in done.stdout
    assert "UnsupportedDagster" in done.stderr, done.stderr[-3000:]
    assert f"the installed Dagster {dg.__version__} lacks" in done.stderr and named in done.stderr
    assert "needs Dagster >=1.13.13,<1.14" in done.stderr
