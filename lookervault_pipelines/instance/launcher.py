"""A run launcher whose run workers start already warm: forked from a process that has imported this code.

Dagster's DefaultRunLauncher asks the code server to start each run, and the
code server starts the run worker with multiprocessing's "spawn": a new
interpreter that imports Dagster and loads the code location again before the
first step (measured on this 2-core machine under load: ~3 s importing Dagster, ~1.7 s
loading the definitions, against ~1 s for restoring one dashboard). For a
one-item restore from the UI that start-up is most of the wait.

`PreloadedRunLauncher` starts the worker with multiprocessing's
"forkserver" instead: a server process, started once by the process that
launches runs (the daemon, for queued runs), imports Dagster and this code
location, and forks a child per run, which runs the worker exactly as the
code server's child does (`dagster._grpc.impl.start_run_in_subprocess`:
same events, same cancellation by interrupt). A code location in another
Python environment, and every run after this package's files change (the
fork server would run the old code), go the DefaultRunLauncher's way.

What a forked worker gives up and how it is made good:
- The code server ends a run whose worker died without finishing it. Here a
  thread of the launching process does the same, and run monitoring asks
  `check_run_worker_health` (worker pid alive) should the launching process
  itself have gone.
- Like the code server, which shuts down only once its runs finish, a
  launching process that exits waits for the workers it started
  (multiprocessing joins its children at exit); stopping the whole process
  group (`dagster dev`, a container) stops them with it.
- The code server cancels a run by setting the worker's termination event; a
  webserver asking to cancel does not hold that event. Dagster's own way for
  a worker nobody holds (`dagster api execute_run` in a container, with
  `start_run_cancellation_thread`): `terminate` marks the run CANCELING, and
  the worker, which looks at its run's status every
  `run_monitoring.cancellation_thread_poll_interval_seconds` (Dagster's
  setting, default 10), sets its own termination event when it sees it,
  wherever it runs; a worker that is gone is ended CANCELED by run
  monitoring after `cancel_timeout_seconds`. On the worker's own host
  `terminate` also sends it SIGINT, which the worker turns into the same
  interruption (`capture_interrupts`) at once: the worker's host and pid are
  run tags (`workers`), and the pid is used only when the host is this one.
  A `lookervault` CLI run carries the same tags for its own process, so
  Terminate in the UI interrupts that process likewise (its run ends
  CANCELED, the command exits 1), and run monitoring ends it FAILED once the
  process is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from .internals import unsupported
from .workers import PID_TAG, process_tags, stop_when_canceled, worker_alive, worker_of

try:
    # The code server's own worker body and argument type, so a forked worker behaves as its child.
    from dagster._core.errors import DagsterLaunchFailedError
    from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
    from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
    from dagster._grpc.impl import RunInSubprocessComplete, StartRunInSubprocessSuccessful, start_run_in_subprocess
    from dagster._grpc.types import ExecuteExternalJobArgs
    from dagster._serdes import ConfigurableClassData, deserialize_value, serialize_value
    from dagster._utils import get_run_crash_explanation
    from dagster._utils.error import SerializableErrorInfo
    from dagster._utils.hosted_user_process import recon_job_from_origin
except ImportError as exc:
    raise unsupported(f"what the run launcher uses ({exc})") from exc

__all__ = ["PID_TAG", "PreloadedRunLauncher"]

_PACKAGES = ("lookervault_pipelines", "lookervault_core")
_DEFAULT_PRELOAD = ("lookervault_pipelines.instance.worker_preload",)
#: How long launch_run waits for the worker to report that it has loaded the run.
_START_TIMEOUT_S = 120.0


def _source_stamp() -> float:
    """The newest modification time of this project's Python files: a changed file means reloaded code."""
    newest = 0.0
    for name in _PACKAGES:
        module = sys.modules.get(name) or __import__(name)
        for path in Path(next(iter(module.__path__))).rglob("*.py"):
            newest = max(newest, path.stat().st_mtime)
    return newest


def _warm_up() -> None:
    """Nothing: a child whose start makes multiprocessing start the fork server."""


def _run_worker(serialized_args: str, recon_job: Any, events: Any, stop: Any) -> None:
    """The code server's worker body, watching its run's status: a cancel reaches it from any host.

    Seeing its run CANCELING, the worker sets its own termination event, as the
    code server's cancel does; the event interrupts only a run still going
    (`dagster._utils.start_termination_thread`).
    """
    args = deserialize_value(serialized_args, ExecuteExternalJobArgs)
    assert args.instance_ref is not None
    with dg.DagsterInstance.from_ref(args.instance_ref) as instance, \
            stop_when_canceled(instance, args.run_id, stop.set):
        start_run_in_subprocess(serialized_args, recon_job, events, stop)


class PreloadedRunLauncher(DefaultRunLauncher):
    """Launches this code location's runs in workers forked from a process that has already imported it."""

    def __init__(self, preload: Sequence[str] = _DEFAULT_PRELOAD,
                 inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(inst_data=inst_data)
        self._preload = list(preload)
        self._lock = threading.Lock()
        self._context: Any = None
        self._stamp = 0.0
        self._workers: dict[str, Any] = {}

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"preload": dg.Field([str], is_required=False, default_value=list(_DEFAULT_PRELOAD))}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: dict[str, Any]
                          ) -> PreloadedRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    # The fork server ---------------------------------------------------------------------------

    def _forkserver(self) -> Any:
        """The forkserver context, started at most once per process; None once the code has changed."""
        with self._lock:
            if self._context is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(self._preload)
                self._stamp = _source_stamp()
                warm = ctx.Process(target=_warm_up, daemon=True)
                warm.start()
                warm.join()
                self._context = ctx
            elif _source_stamp() != self._stamp:
                return None
            return self._context

    def _ours(self, run: dg.DagsterRun) -> bool:
        origin = run.job_code_origin
        if origin is None or run.remote_job_origin is None:
            return False
        # The fork server runs this interpreter; a code location in another environment keeps its own.
        return os.path.realpath(origin.executable_path) == os.path.realpath(sys.executable)

    # RunLauncher ---------------------------------------------------------------------------

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        ctx = self._forkserver() if self._ours(run) else None
        if ctx is None:
            super().launch_run(context)
            return
        self._launch_forked(ctx, run)

    def _launch_forked(self, ctx: Any, run: dg.DagsterRun) -> None:
        instance = self._instance
        args = serialize_value(ExecuteExternalJobArgs(
            job_origin=run.remote_job_origin, run_id=run.run_id, instance_ref=instance.get_ref()))
        recon_job = recon_job_from_origin(run.job_code_origin)  # type: ignore[arg-type]
        events = ctx.Queue()
        stop = ctx.Event()
        worker = ctx.Process(target=_run_worker, args=[args, recon_job, events, stop], daemon=False)
        worker.start()
        instance.add_run_tags(run.run_id, process_tags(worker.pid))
        with self._lock:
            self._workers[run.run_id] = (worker, stop)
            self._run_ids.add(run.run_id)

        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                message = events.get(timeout=0.05)
            except queue.Empty:
                if not worker.is_alive():
                    raise dg.DagsterInvariantViolationError(
                        f"The run worker for {run.run_id} exited with code {worker.exitcode} before starting")
                if time.monotonic() > deadline:
                    break
                continue
            if isinstance(message, StartRunInSubprocessSuccessful):
                break
            error = getattr(message, "serializable_error_info", None)
            if isinstance(error, SerializableErrorInfo):
                raise DagsterLaunchFailedError(getattr(message, "message", None) or error.message,
                                               serializable_error_info=error)
        threading.Thread(target=self._watch, args=(run.run_id, worker, events), daemon=True,
                         name=f"lookervault-worker-{run.run_id[:8]}").start()

    def _watch(self, run_id: str, worker: Any, events: Any) -> None:
        """Drain the worker's status queue, and end its run FAILED if it died before finishing it."""
        while worker.is_alive():
            try:
                if isinstance(events.get(timeout=0.5), RunInSubprocessComplete):
                    break
            except queue.Empty:
                continue
        worker.join()
        with self._lock:
            self._workers.pop(run_id, None)
        run = self._instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            # As the code server does for a worker it started (dagster/_grpc/server.py, _check_for_orphaned_runs).
            self._instance.report_engine_event(
                get_run_crash_explanation(prefix=f"Run execution process for {run_id}", exit_code=worker.exitcode),
                run, cls=self.__class__)
            self._instance.report_run_failed(run)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        if PID_TAG not in run.tags:
            return super().terminate(run_id)
        self._instance.report_run_canceling(run)
        with self._lock:
            held = self._workers.get(run_id)
        if held is not None:
            held[1].set()
            return True
        pid = worker_of(run)
        if pid is None:
            # No signal reaches another host's process: it sees its run CANCELING (workers.stop_when_canceled).
            self._instance.report_engine_event(
                f"The run's worker ({run.tags[PID_TAG]}) is on another host: it stops when it sees the run "
                f"CANCELING (within {self._instance.cancellation_thread_poll_interval_seconds} s), or run "
                "monitoring ends the run CANCELED should that worker be gone.", run, cls=self.__class__)
            return True
        if worker_alive(run) is False:
            return False  # the pid is gone, or now another process's
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return False
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        # Run monitoring fails a STARTED run on any answer but RUNNING or SUCCESS, so runs this
        # launcher cannot judge (code-server workers, another host) say RUNNING and are left to
        # max_runtime_seconds, as under the DefaultRunLauncher. A `lookervault` CLI run carries its
        # process's tags too (cli/runs.py): one whose process was killed ends FAILED here as well.
        if worker_alive(run) is False:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process ({run.tags[PID_TAG]}) is gone")
        return CheckRunHealthResult(WorkerStatus.RUNNING,
                                    "" if worker_of(run) is not None else "not a process of this host")
