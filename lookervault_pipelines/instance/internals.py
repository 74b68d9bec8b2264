"""Dagster's internals that this package uses, checked when they load.

Private to Dagster and changed without notice between patch releases: on
1.13.12 `SqliteEventLogStorage._store_asset_event_tags` does not exist yet
(Dagster then caught the error and stored a batch a second time, one event
at a time), and on 1.13.4 `SQLITE_BUSY_TIMEOUT_SECONDS` does not. So every
module that uses them imports them from here or calls `require`, and a
Dagster without one of them stops the module from loading with a message
that names the installed version; pyproject.toml admits only the versions
checked (`SUPPORTED_DAGSTER`).

Also the adapter the restore step needs: the `DagsterEvent` of a yielded
materialization, with the batch metadata Dagster gives its own (batching.py).
"""

from __future__ import annotations

import dagster as dg

__all__ = [
    "SUPPORTED_DAGSTER", "DagsterEvent", "DagsterEventBatchMetadata", "UnsupportedDagster", "generate_event_batch_id",
    "require", "set_backfill_daemon_interval",
]

#: The Dagster releases whose internals were checked (pyproject.toml pins the same range).
SUPPORTED_DAGSTER = ">=1.13.13,<1.14"


class UnsupportedDagster(ImportError):
    """The installed Dagster lacks an internal this package's plug-ins rely on."""


def unsupported(what: str) -> UnsupportedDagster:
    return UnsupportedDagster(
        f"lookervault_pipelines needs Dagster {SUPPORTED_DAGSTER}, and the installed Dagster {dg.__version__} "
        f"lacks {what}. Install a supported release (pip install 'dagster{SUPPORTED_DAGSTER}'), or remove "
        f"the lookervault_pipelines.instance blocks from dagster.yaml to run on Dagster's own pieces")


def require(owner: object, *names: str) -> None:
    """Refuse to load unless `owner` (a class or module of Dagster) has every attribute in `names`.

    Raises:
        UnsupportedDagster: naming the first missing one and the installed Dagster version.
    """
    for name in names:
        if not hasattr(owner, name):
            raise unsupported(f"{getattr(owner, '__module__', '')}.{getattr(owner, '__qualname__', owner)}.{name}")


try:
    from dagster._core.events import DagsterEvent, DagsterEventBatchMetadata, generate_event_batch_id
except ImportError as exc:
    raise unsupported(f"dagster._core.events ({exc})") from exc
require(DagsterEvent, "asset_materialization")
require(dg.OpExecutionContext, "get_step_execution_context")


def set_backfill_daemon_interval(seconds: float) -> None:
    """Make the backfill daemon look every `seconds` instead of Dagster's fixed 30 s.

    Dagster 1.13 offers no setting for it (`backfills:` has only `use_threads`,
    `num_workers`, `num_submit_workers`): the loop in `dagster._daemon.backfill`
    reads `dagster._daemon.controller.DEFAULT_DAEMON_INTERVAL_SECONDS` when it
    starts, after the daemon has loaded the instance and with it this plug-in.
    That constant is also the asset daemon's interval when dagster.yaml sets no
    `auto_materialize: minimum_interval_seconds` (ours does).

    Raises:
        UnsupportedDagster: when the constant or the loop that reads it is not there.
    """
    import inspect  # noqa: PLC0415 - only the daemon's own process needs it

    from dagster._daemon import backfill, controller  # noqa: PLC0415

    require(controller, "DEFAULT_DAEMON_INTERVAL_SECONDS")
    require(backfill, "execute_backfill_iteration_loop")
    if "DEFAULT_DAEMON_INTERVAL_SECONDS" not in inspect.getsource(backfill.execute_backfill_iteration_loop):
        raise unsupported("a backfill daemon loop timed by DEFAULT_DAEMON_INTERVAL_SECONDS")
    controller.DEFAULT_DAEMON_INTERVAL_SECONDS = seconds  # type: ignore[assignment]
