"""A real deployment for integration tests: dagster-webserver and dagster-daemon as processes.

The `stack` fixture (one per test module) builds a temporary DAGSTER_HOME with
a copy of the project's dagster.yaml, starts a fake Looker in this process
(loaded with the bundled sample backup), registers the backup's partitions
through the `lookervault` CLI, and starts the webserver and the daemon on the
project's workspace.yaml. The daemon is required: dagster.yaml's run
coordinator is Dagster's QueuedRunCoordinator (extended to tag each run's lane,
lookervault_pipelines/instance/lanes.py), so every run launched through GraphQL waits in
the queue until the daemon dequeues it, and backfills are only ever executed by
the daemon.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.cli.demo import deploy_sample_lookml

from .graphql import GraphQL

PROJECT = Path(__file__).resolve().parents[2]
SAMPLE_BACKUP = PROJECT / "lookervault_pipelines" / "sample" / "sample.sqlite"
WORKSPACE = PROJECT / "workspace.yaml"
DAGSTER_YAML = PROJECT / "dagster.yaml"
BIN = Path(sys.executable).parent

#: Seconds allowed for the webserver to answer and load the code location, and for the daemon to heartbeat.
STARTUP_TIMEOUT = 120.0
#: Daemons that must be running for the tests: the run queue and the backfill daemon.
REQUIRED_DAEMONS = ("QUEUED_RUN_COORDINATOR", "BACKFILL")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Process:
    """A started command with its output going to a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def output(self, lines: int = 60) -> str:
        self.log_file.flush()
        state = "running" if self.popen.poll() is None else f"exited with {self.popen.returncode}"
        return f"--- {self.name} (pid {self.popen.pid}, {state}), last {lines} lines of {self.log_path}:\n" \
               f"{_tail(self.log_path, lines)}"

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group (its code servers and run workers too), SIGKILL what is left."""
        try:
            pgid = os.getpgid(self.popen.pid)
        except ProcessLookupError:
            pgid = None
        if pgid is not None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        if pgid is not None:
            # Children (code server, run workers) may outlive the leader: take the whole group down.
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.popen.poll() is None:
            self.popen.wait(timeout=timeout)
        self.log_file.close()


@dataclass
class Stack:
    """A running webserver + daemon on a temporary instance, and the fake Looker they write to."""

    fake: FakeLooker
    gql: GraphQL
    env: Mapping[str, str]
    home: Path
    backup: Path
    state_dir: Path
    webserver_url: str
    processes: list[Process] = field(default_factory=list)

    def output(self, lines: int = 60) -> str:
        """The tail of every process's output, for failure messages."""
        return "\n".join(p.output(lines) for p in self.processes)

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run `lookervault ARGS` with the stack's environment (same instance, same fake)."""
        return subprocess.run(
            [str(BIN / "lookervault"), *args], env=dict(self.env), cwd=PROJECT,
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def cli_json(self, *args: str, timeout: float = 120.0) -> Any:
        """Run `lookervault ARGS` (which must print JSON) and require exit code 0."""
        proc = self.cli(*args, timeout=timeout)
        assert proc.returncode == 0, (
            f"lookervault {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        try:
            return json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError(f"lookervault {' '.join(args)} printed no JSON ({exc}):\n{proc.stdout}\n"
                                 f"stderr:\n{proc.stderr}") from exc


def _start(name: str, args: list[str], env: Mapping[str, str], logs: Path) -> Process:
    log_path = logs / f"{name}.log"
    log_file = log_path.open("wb")
    popen = subprocess.Popen(
        args, cwd=PROJECT, env=dict(env), stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown reaches its children
    )
    return Process(name, popen, log_path, log_file)


def _wait_until_ready(stack: Stack) -> None:
    """Webserver answers, the code location is loaded, the queue and backfill daemons heartbeat."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    stage = "webserver /server_info"
    last: object = None

    def check_alive() -> None:
        for p in stack.processes:
            if p.popen.poll() is not None:
                pytest.fail(f"{p.name} exited with {p.popen.returncode} while waiting for {stage}\n{stack.output()}")

    while True:
        check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {STARTUP_TIMEOUT:.0f} s waiting for {stage} (last state: {last})\n"
                        f"{stack.output()}")
        try:
            if stage == "webserver /server_info":
                last = stack.gql.server_info()
                stage = "code location 'lookervault'"
            if stage == "code location 'lookervault'":
                state, detail = stack.gql.location_state()
                last = (state, detail)
                if state == "ERROR":
                    pytest.fail(f"code location 'lookervault' failed to load:\n{detail}\n{stack.output()}")
                if state == "LOADED":
                    jobs = {p["name"] for repo in detail for p in repo["pipelines"]}
                    missing = {"restore_dashboards", "restore_selected_keys_job"} - jobs
                    if missing:
                        pytest.fail(f"code location loaded without jobs {sorted(missing)}: {sorted(jobs)}")
                    stage = "daemons " + ", ".join(REQUIRED_DAEMONS)
            if stage.startswith("daemons"):
                statuses = stack.gql.daemon_statuses()
                last = {k: (v["required"], v["healthy"]) for k, v in statuses.items()}
                missing = [d for d in REQUIRED_DAEMONS if d not in statuses or not statuses[d]["required"]]
                if missing:
                    pytest.fail(f"the instance does not require daemon(s) {missing}: {last}; check dagster.yaml")
                if all(statuses[d]["healthy"] for d in REQUIRED_DAEMONS):
                    return
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A webserver + daemon deployment of the code location over a fake Looker holding the sample."""
    with start_stack(tmp_path_factory.mktemp("webserver")) as running:
        yield running


@contextmanager
def start_stack(tmp: Path, *, dagster_yaml: str | None = None, latency_ms: float = 0.0,
                empty_destination: bool = False) -> Iterator[Stack]:
    """The stack in `tmp`: the project's dagster.yaml (or this text), the fake answering after `latency_ms`.

    The fake holds the sample's own instance, or with `empty_destination` a new instance (ids far from the
    backup's) that has only the sample's LookML deployed.
    """
    home = tmp / "dagster_home"
    home.mkdir()
    if dagster_yaml is None:
        shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    else:
        (home / "dagster.yaml").write_text(dagster_yaml)
    backup = tmp / "backup.sqlite"
    shutil.copy(SAMPLE_BACKUP, backup)
    state_dir = tmp / "state"
    state_dir.mkdir()
    logs = tmp / "logs"
    logs.mkdir()

    if empty_destination:
        fake = FakeLooker(strict=True, latency_ms=latency_ms, first_id=5000).start()
        deploy_sample_lookml(fake)
    else:
        # The fake holds the sample's own instance: restores are same-instance, ids kept where they exist.
        fake = FakeLooker(strict=True, latency_ms=latency_ms).start()
        fake.load_backup(backup)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "LOOKERSDK_", "LOOKERVAULT_"))}
    env.update({
        "DAGSTER_HOME": str(home),
        "LOOKERSDK_BASE_URL": fake.base_url,
        "LOOKERSDK_CLIENT_ID": fake.client_id,
        "LOOKERSDK_CLIENT_SECRET": fake.client_secret,
        "LOOKERVAULT_BACKUP": str(backup),
        "LOOKERVAULT_STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    stack = Stack(fake=fake, gql=GraphQL(url), env=env, home=home, backup=backup, state_dir=state_dir,
                  webserver_url=url)
    try:
        sync = stack.cli("partitions", "sync", "--backup", str(backup))
        assert sync.returncode == 0, f"partitions sync failed:\n{sync.stdout}\n{sync.stderr}"
        stack.processes.append(_start(
            "dagster-webserver",
            [str(BIN / "dagster-webserver"), "-w", str(WORKSPACE), "-h", "127.0.0.1", "-p", str(port)],
            env, logs))
        stack.processes.append(_start("dagster-daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
                                      env, logs))
        started = time.perf_counter()
        _wait_until_ready(stack)
        print(f"\nwebserver + daemon ready in {time.perf_counter() - started:.1f} s at {url} "
              f"(DAGSTER_HOME={home})")
        yield stack
    finally:
        stack.gql.close()
        for proc in reversed(stack.processes):
            proc.stop()
        fake.stop()
