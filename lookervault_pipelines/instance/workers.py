"""Which process runs a run, and whether it still does.

A run executed in the `lookervault` CLI's own process (execute_in_process),
or in a worker the run launcher forked, carries the host and pid of that
process as run tags. A process SIGKILLed (or stopped by a full disk) leaves
its run STARTED: with no code server to notice, only run monitoring's
max_runtime (6 h, and only while a daemon runs) would end it, and meanwhile it
counts against the bulk limit and holds its `looker_api` pool slots. A run
whose process is gone from this host is dead; one whose pid now belongs to a
younger process (the pid was reused) is dead too, which the process start
time (`/proc/<pid>/stat`, in clock ticks since boot) tells. A run on another
host cannot be checked from here, nor signalled: it is cancelled by marking it
CANCELING, which its process watches for (`stop_when_canceled`).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

__all__ = ["PID_TAG", "START_TAG", "dead_runs", "end_dead_runs", "in_progress", "process_tags", "stop_when_canceled",
           "worker_alive", "worker_of"]

#: Where the run's process runs: "host:pid".
PID_TAG = "lookervault/worker"
#: When that process started, in clock ticks since boot (field 22 of /proc/<pid>/stat), to tell a reused pid.
START_TAG = "lookervault/worker_start"

_IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in ticks) of a process from /proc, or None where there is no /proc entry."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    fields = text[text.rfind(")") + 2:].split()
    return fields[0], fields[19]


def process_tags(pid: int | None = None) -> dict[str, str]:
    """The run tags naming process `pid` (this one by default) on this host."""
    pid = os.getpid() if pid is None else pid
    tags = {PID_TAG: f"{socket.gethostname()}:{pid}"}
    stat = _stat(pid)
    if stat is not None:
        tags[START_TAG] = stat[1]
    return tags


def worker_of(run: dg.DagsterRun) -> int | None:
    """The pid of the run's process if it runs on this host, else None."""
    host, _, pid = run.tags.get(PID_TAG, "").rpartition(":")
    return int(pid) if pid.isdigit() and host == socket.gethostname() else None


def worker_alive(run: dg.DagsterRun) -> bool | None:
    """Whether the run's process still runs: None when unknown (no process tags, or another host)."""
    pid = worker_of(run)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # some other user's process: the pid exists, its start time below tells whether it is ours
    stat = _stat(pid)
    if stat is None:
        return True  # no /proc (macOS): the pid exists, which is all that can be known
    state, started = stat
    if state in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    return run.tags.get(START_TAG, started) == started


def in_progress(instance: dg.DagsterInstance, tags: dict[str, str] | None = None) -> list[dg.DagsterRun]:
    """The runs starting or running, with `tags`."""
    return [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(statuses=_IN_PROGRESS, tags=tags or {}))]


def dead_runs(runs: Iterable[dg.DagsterRun]) -> list[dg.DagsterRun]:
    """Of `runs`, those whose process is known to be gone."""
    return [r for r in runs if worker_alive(r) is False]


def end_dead_runs(instance: dg.DagsterInstance, runs: Iterable[dg.DagsterRun]) -> list[str]:
    """End FAILED each of `runs` whose process is gone, and give back its pool slots; their ids."""
    ended = []
    for run in dead_runs(runs):
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.is_finished:
            continue  # ended meanwhile (another command, or run monitoring)
        # As the daemon's run monitoring ends a run whose worker died (check_run_worker_health),
        # without waiting for a daemon that may not run at all.
        instance.report_run_failed(run, message=(
            f"The process running this run ({run.tags[PID_TAG]}) was killed or died without ending it; "
            f"ended FAILED by a later `lookervault` command (process {os.getpid()}). Its items restore again "
            "like any failed partition."))
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        ended.append(run.run_id)
    return ended


_CANCELED = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)


@contextmanager
def stop_when_canceled(instance: dg.DagsterInstance, run_id: str, stop: Callable[[], None]) -> Iterator[None]:
    """While the block runs, call `stop` once if run `run_id` is marked CANCELING (or CANCELED).

    How a run is cancelled whose process runs on another host: Terminate (from
    the UI, GraphQL, `dagster run ...`) marks the run CANCELING in the shared
    storage, and its process, looking every
    `run_monitoring.cancellation_thread_poll_interval_seconds` (Dagster's
    setting, default 10 s), stops itself; Dagster's `execute_run` workers do
    the same with Dagster+'s cancellation thread. `stop` is never called once
    the block has ended.
    """
    done = threading.Event()
    lock = threading.Lock()
    poll = instance.cancellation_thread_poll_interval_seconds

    def watch() -> None:
        while not done.wait(poll):
            run = instance.get_run_by_id(run_id)
            if run is not None and run.status in _CANCELED:
                with lock:
                    if not done.is_set():
                        stop()
                return

    thread = threading.Thread(target=watch, name=f"lookervault-cancel-watch-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        with lock:
            done.set()
        thread.join()
