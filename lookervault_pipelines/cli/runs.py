"""Restore runs executed in this process, as the `lookervault` commands start them.

Runs execute against the instance named by DAGSTER_HOME (a local
`.dagster_home` when unset, configured with the project's dagster.yaml), so
every restore started here appears in the UI with its partitions, and failed
items are the same dead-letter queue. A selection of one type becomes range
runs over contiguous keys, or one `restore_selected_keys_job` run; bulk runs
wait for the bulk lane as queued runs do.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import click
import dagster as dg

from lookervault_core.content_types import ContentType
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.restore import SecondPass

from ..defs.jobs import RANGE_END_TAG, RANGE_START_TAG, job_name
from ..instance.lanes import BULK, LANE_TAG, bulk_limit, bulk_runs_in_progress, lane_tags
from ..instance.workers import PID_TAG, end_dead_runs, in_progress, process_tags, stop_when_canceled, worker_alive
from ..restore_step.execution import RestoreConfig
from ..restore_step.summary import RunSummary, summarize

__all__ = ["MAX_PLANNED_KEYS", "MAX_RANGE_RUNS", "InProcess", "RunOptions", "RunTarget", "instance", "restore_in_order",
           "run_selected_keys", "run_type", "stretches"]

#: Above this many contiguous stretches of partition keys, a selection runs as
#: one run of `restore_selected_keys_job` instead of one run per stretch.
MAX_RANGE_RUNS = 10
#: Above this many keys, a type runs as one `restore_selected_keys_job` run, which plans no partitions: a
#: range run writes one planned event per key when it is created (10-19 ms each on SQLite storage, before
#: any item), and unchanged items need no event at all (execution.restore_keys).
MAX_PLANNED_KEYS = 100
#: Keys a selected-keys run failed are tried once more as partitions of range runs (at most this many
#: runs and `MAX_PLANNED_KEYS` x 10 keys), so that those failing again show as FAILED partitions.
MAX_RETRY_RUNS = 20
#: The project's dagster.yaml, as installed with the package (a link to the checkout's in a source tree).
INSTANCE_YAML = Path(__file__).resolve().parents[1] / "instance" / "dagster.yaml"


def instance() -> dg.DagsterInstance:
    """The Dagster instance of DAGSTER_HOME, created as ./.dagster_home when unset."""
    if not os.environ.get("DAGSTER_HOME"):
        home = Path(".dagster_home").resolve()
        home.mkdir(exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        if not INSTANCE_YAML.is_file():
            raise click.ClickException(
                f"{INSTANCE_YAML} is missing from this install of lookervault-restore, so {home} would run without "
                "its run queue lanes, pools and run monitoring: reinstall the package, or copy the project's "
                f"dagster.yaml into {home}")
        shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
    return dg.DagsterInstance.get()


def _definitions() -> dg.Definitions:
    from ..definitions import defs  # noqa: PLC0415 - loaded after the environment is set

    return defs


def stretches(registered: Sequence[str], selected: Iterable[str]) -> list[tuple[str, str]]:
    """Contiguous runs of `selected` within the registered partition order, as (first, last)."""
    wanted = set(selected)
    out: list[tuple[str, str]] = []
    start: str | None = None
    prev: str | None = None
    for key in registered:
        if key in wanted:
            start = key if start is None else start
            prev = key
        elif start is not None:
            assert prev is not None
            out.append((start, prev))
            start = None
    if start is not None and prev is not None:
        out.append((start, prev))
    return out


#: Dagster's run-monitoring tag: the daemon ends a run still going after this many seconds FAILED.
MAX_RUNTIME_TAG = "dagster/max_runtime"


@dataclass(frozen=True)
class RunOptions:
    """What `lookervault` asks of the runs it starts: the restore op's config, and run-level settings."""

    restore: RestoreConfig = field(default_factory=RestoreConfig)
    #: The instance the backup came from, as a run's `restore_state` resource takes it (see idmap.BackupSources).
    source_instance: str | None = None
    #: Seconds after which run monitoring ends a run FAILED (the `dagster/max_runtime` tag).
    max_runtime: int | None = None
    #: Dagster's INFO log on stderr; otherwise Dagster prints nothing and the summary lists each failure once.
    verbose: bool = False

    def op_config(self, **extra: object) -> dict[str, object]:
        return {**self.restore.model_dump(exclude_none=True), **extra}


def _run_tags(options: RunOptions) -> dict[str, str]:
    return {MAX_RUNTIME_TAG: str(options.max_runtime)} if options.max_runtime else {}


def _run_config(op: str, op_config: dict[str, object], options: RunOptions) -> dict[str, object]:
    config: dict[str, object] = {
        "ops": {op: {"config": op_config}},
        # Dagster logs every event at DEBUG; --verbose shows the restore's own log lines. Otherwise none: each
        # failure would print three times more (its ERROR line, then the step's and the run's failure, each with
        # its stack trace) beside the summary, which lists it once.
        "loggers": {"console": {"config": {"log_level": "INFO" if options.verbose else "CRITICAL"}}},
    }
    if options.source_instance:
        config["resources"] = {"restore_state": {"config": {"source_instance": options.source_instance}}}
    return config


#: Seconds between looks at how many bulk runs are in progress, while waiting for one to end.
BULK_WAIT_POLL_S = 1.0
#: Longest wait for the bulk lane while a run holding it cannot be checked from this host (see `workers`).
BULK_WAIT_UNCHECKED_S = 1800.0


def _holder(run: dg.DagsterRun) -> str:
    return f"{run.run_id} ({run.tags.get(PID_TAG, 'no process tag')})"


def wait_for_bulk_lane(inst: dg.DagsterInstance, tags: dict[str, str]) -> None:
    """Hold a bulk run until fewer bulk runs are in progress than dagster.yaml allows.

    Runs executed here skip the daemon's run queue, which is what holds bulk
    runs launched elsewhere; without this, CLI restores would take the pool
    slots kept for single items. Two CLIs looking at the same moment may both
    start: the `looker_api` pool still caps every step. Runs whose process is
    gone from this host are ended FAILED first, bulk or not, and never waited
    for; while a run that cannot be checked from here holds the lane, the wait
    is bounded.
    """
    limit = bulk_limit(inst)
    told = False
    started = time.monotonic()
    while True:
        end_dead_runs(inst, in_progress(inst))
        if tags.get(LANE_TAG) != BULK or limit is None:
            return
        running = bulk_runs_in_progress(inst)
        if len(running) < limit:
            return
        if not told:
            click.echo(f"waiting: {len(running)} bulk runs are in progress, at most {limit} at once "
                       f"(dagster.yaml): {', '.join(map(_holder, running))}", err=True)
            told = True
        unchecked = [r for r in running if worker_alive(r) is None]
        if unchecked and time.monotonic() - started > BULK_WAIT_UNCHECKED_S:
            raise click.ClickException(
                f"gave up after {BULK_WAIT_UNCHECKED_S / 60:.0f} min waiting for the bulk lane, held by "
                f"{', '.join(map(_holder, running))}. Whether {', '.join(r.run_id for r in unchecked)} still "
                "runs cannot be checked from this host (another host, or no process tag). If it is dead, end it: "
                "Terminate it in the Dagster UI (Runs; force termination for another host), or "
                "`dagster run delete RUN_ID`; then restore again.")
        time.sleep(BULK_WAIT_POLL_S)


class RunTarget(Protocol):
    """Where the runs of a restore execute: this process (`InProcess`), or a deployment (`submit`)."""

    def registered(self, ct: ContentType) -> list[str]:
        """The registered partition keys of `ct`, in partition order."""
        ...

    def execute(self, ct: ContentType, job: str, run_config: dict[str, object],
                tags: dict[str, str]) -> RunSummary:
        """Run `job` with this config and these tags to its end; its summary."""
        ...


def _execute(inst: dg.DagsterInstance, job: dg.JobDefinition, run_config: dict[str, object],
             tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    """Execute `job` here; Terminate from any host (the run marked CANCELING) interrupts it as Ctrl-C does."""
    run_id = str(uuid.uuid4())
    with stop_when_canceled(inst, run_id, lambda: os.kill(os.getpid(), signal.SIGINT)):
        return job.execute_in_process(instance=inst, raise_on_error=False, run_config=run_config, tags=tags,
                                      run_id=run_id)


@dataclass(frozen=True)
class InProcess:
    """Runs executed in this process against `inst`, tagged with this process and waiting for the bulk lane."""

    inst: dg.DagsterInstance

    def registered(self, ct: ContentType) -> list[str]:
        return list(self.inst.get_dynamic_partitions(ct.plural))

    def execute(self, ct: ContentType, job: str, run_config: dict[str, object],
                tags: dict[str, str]) -> RunSummary:
        job_def = _definitions().resolve_job_def(job)
        tags = {**tags, **process_tags()}
        # In-process runs skip the run queue: tagged here as the queue tags its runs (lanes.py),
        # so bulk runs count against the bulk limit and one item gets its priority.
        tags.update(lane_tags(job_def.name, tags, run_config))
        wait_for_bulk_lane(self.inst, tags)
        return summarize(ct, _execute(self.inst, job_def, run_config, tags))


#: Where `run_type` and its kin run: a Dagster instance (runs in this process), or any `RunTarget`.
Target = dg.DagsterInstance | RunTarget


def _target(at: Target) -> RunTarget:
    return InProcess(at) if isinstance(at, dg.DagsterInstance) else at


def run_type(at: Target, ct: ContentType, keys: Sequence[str], options: RunOptions) -> list[RunSummary]:
    """Restore `keys` of one type: a run per contiguous range, or one selected-keys run.

    A few keys in a few stretches run as range runs (each key a planned
    partition, shown "materializing" while it runs). More run as one
    selected-keys run, which plans nothing, so an unchanged item costs no
    event at all; its failures are then tried again as partitions.
    """
    target = _target(at)
    registered = target.registered(ct)
    ranges = stretches(registered, keys)
    if len(ranges) <= MAX_RANGE_RUNS and len(keys) <= MAX_PLANNED_KEYS:
        return _range_runs(target, ct, ranges, options)
    selected = run_selected_keys(target, ct, keys, options)
    return [selected, *_retry_as_partitions(target, ct, registered, selected, options)]


def _range_runs(target: RunTarget, ct: ContentType, ranges: Sequence[tuple[str, str]],
                options: RunOptions) -> list[RunSummary]:
    summaries = []
    for first, last in ranges:
        tags = {RANGE_START_TAG: first, RANGE_END_TAG: last, "lookervault/content_type": ct.plural,
                **_run_tags(options)}
        run_config = _run_config(ct.plural, options.op_config(), options)
        summaries.append(target.execute(ct, job_name(ct), run_config, tags))
    return summaries


def _retry_as_partitions(target: RunTarget, ct: ContentType, registered: Sequence[str],
                         selected: RunSummary, options: RunOptions) -> list[RunSummary]:
    """Try the items a selected-keys run failed once more, in range runs planning exactly them.

    A selected-keys run plans no partitions, so its failures are dead letters
    but cannot show as FAILED partitions; a range run over just the failed
    keys makes those that fail again FAILED, and clears those that succeed.
    Their outcome replaces the first attempt's in `selected`.
    """
    ranges = stretches(registered, selected.failed_keys)
    if not ranges or len(ranges) > MAX_RETRY_RUNS or len(selected.failed_keys) > 10 * MAX_PLANNED_KEYS:
        return []
    retried = _range_runs(target, ct, ranges, options)
    tried = set(selected.failed_keys)
    selected.counts["failed"] -= len(tried)
    selected.failed_keys = []
    selected.errors = {}
    selected.success = True
    selected.run_error = ""
    selected.note = f"{len(tried)} failed, tried again as partitions in the next run(s)"
    return retried


def run_selected_keys(
    at: Target, ct: ContentType, keys: Sequence[str], options: RunOptions, tags: dict[str, str] | None = None,
) -> RunSummary:
    """Restore scattered `keys` of one type in one run of `restore_selected_keys_job`."""
    run_config = _run_config("restore_selected_keys",
                             options.op_config(content_type=ct.plural, keys=list(keys)), options)
    run_tags = {"lookervault/content_type": ct.plural, **_run_tags(options), **(tags or {})}
    return _target(at).execute(ct, "restore_selected_keys_job", run_config, run_tags)


#: How one type's keys are restored: `run_type`, or one selected-keys run (`lookervault retry-failed`).
TypeRunner = Callable[[Target, ContentType, Sequence[str], RunOptions], list[RunSummary]]


def restore_in_order(at: Target, keys: Mapping[ContentType, Sequence[str]], options: RunOptions,
                     run: TypeRunner = run_type,
                     on_type_done: Callable[[Sequence[RunSummary]], None] | None = None) -> list[RunSummary]:
    """Restore `keys` type by type in dependency order, then the second pass; every run's summary.

    Items restored before something they softly reference (a user before its
    home folder, which is restored after users) are written without it and,
    once that item is restored too, restored again after every type to set it
    (second_pass.py; `RunSummary.second_pass`). `on_type_done` is given each
    type's final summaries as soon as its runs end.
    """
    summaries: list[RunSummary] = []

    def done(new: list[RunSummary]) -> None:
        summaries.extend(new)
        if on_type_done is not None:
            on_type_done(new)

    for ct in TYPE_ORDER:
        if keys.get(ct):
            done(run(at, ct, keys[ct], options))
    second_pass = SecondPass()
    failed = {(s.content_type, k) for s in summaries for k in s.failed_keys}
    for ct, selected in keys.items():
        for key in selected:
            second_pass.record((ct, key), restored=(ct, key) not in failed)
    for s in summaries:
        for key, refs in s.deferred.items():
            second_pass.record((s.content_type, key), restored=True, deferred=refs)
    for ct, again_keys in second_pass.due().items():
        again = run_type(at, ct, again_keys, options)
        for s in again:
            s.second_pass = True
        done(again)
    return summaries
