"""Imported once by the run launcher's fork server: what every run worker would otherwise import first.

Each run worker forked from the server (lookervault_pipelines/instance/launcher.py)
starts with these modules already imported: the worker body Dagster's code
server runs, this code location, and the modules a process's first
DagsterInstance imports for its storages (alembic and SQLAlchemy's: measured
0.45 s of a one-item run on this machine). Opening and closing an instance
here leaves those imported; no thread or connection outlives the `with`
(threading.active_count() stays 1), so forking afterwards is safe.
"""

from __future__ import annotations

import os

import lookervault_pipelines.definitions  # noqa: F401
import lookervault_pipelines.instance.launcher  # noqa: F401 - its imports are the worker body Dagster runs
from dagster import DagsterInstance


def _open_and_close_the_instance() -> None:
    if not os.environ.get("DAGSTER_HOME"):
        return
    try:
        with DagsterInstance.get() as instance:
            instance.get_run_by_id("")
    except Exception:  # noqa: BLE001 - only a warm-up: a worker opening the instance reports its own error
        return


_open_and_close_the_instance()
