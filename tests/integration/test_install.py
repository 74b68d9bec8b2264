"""A non-editable install (the built wheel in a fresh virtualenv) is configured as a checkout is."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]


def test_the_built_wheel_runs_the_demo_from_another_directory_with_the_projects_dagster_yaml(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(dist), str(PROJECT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("lookervault_restore-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies come from this virtualenv (a path, not a site dir: its editable install of this
    # project is not activated); the project itself only from the wheel.
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "LOOKERSDK_", "LOOKERVAULT_"))}
    where = subprocess.run([str(python), "-c", "import lookervault_pipelines; print(lookervault_pipelines.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(site), where

    sync = subprocess.run([str(venv / "bin" / "lookervault"), "partitions", "sync", "--backup",
                           str(PROJECT / "lookervault_pipelines" / "sample" / "sample.sqlite")],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert (elsewhere / ".dagster_home" / "dagster.yaml").read_text() == (PROJECT / "dagster.yaml").read_text()

    demo = subprocess.run([str(venv / "bin" / "lookervault"), "demo"], cwd=elsewhere, env=env, capture_output=True,
                          text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "second restore of the same backup" in demo.stdout
