"""The deployment of deploy/, run here as separate processes on PostgreSQL with Dagster's stock run launcher.

deploy/compose.yaml runs the code location (`dagster api grpc`), dagster-webserver and dagster-daemon as
three services over one PostgreSQL, each with its own environment, and every run in a container of its
own. Here the same three commands (taken from compose.yaml) run as processes, each with its own empty
DAGSTER_HOME holding deploy/dagster.yaml and only the variables its compose service gets; the webserver and
the daemon load the code location from its gRPC server (deploy/workspace.yaml) and have no Looker setting at
all. What differs from compose: no Docker, so deploy/dagster.yaml's DockerRunLauncher is replaced by
Dagster's stock DefaultRunLauncher (every run a new process, started by the code server, with the
variables a run container would get), and PostgreSQL is a throwaway server on loopback (tests/conftest.py).

The scenarios are those of the embedded default deployment (test_webserver.py, on SQLite under one
DAGSTER_HOME), with the same assertions on the fake's final state and the partition statuses: one item
launched through GraphQL, a range with injected Looker failures re-executed from failure, and dead letters
read by `lookervault dead-letters` from this instance. At the end, nothing was written to any process's disk:
Dagster's storage and the id map are in PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
import yaml

from lookervault_core.testing.fake_looker import FakeLooker, ServerError

from . import test_webserver as scenarios
from .conftest import BIN, PROJECT, SAMPLE_BACKUP, Stack, _free_port, _start, _wait_until_ready
from .graphql import GraphQL

pytestmark = pytest.mark.integration

DEPLOY = PROJECT / "deploy"
RUN_TIMEOUT_S = 90.0
#: The look restored by the range scenario (folder 13, the sample's second look).
REGIONAL_LOOK = "Orders by Status (Regional)"


def compose_services() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]  # type: ignore[no-any-return]


def deploy_instance() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())  # type: ignore[no-any-return]


def _with_option(command: list[str], option: str, value: str) -> list[str]:
    """`command` with the value after `option` replaced (the option must be there)."""
    assert option in command, f"{option} missing from {command}"
    at = command.index(option) + 1
    return [*command[:at], value, *command[at + 1:]]


def _local(command: list[str]) -> list[str]:
    """A compose service's command, run from this virtualenv."""
    return [str(BIN / command[0]), *command[1:]]


def _env(base: Mapping[str, str], names: set[str], values: Mapping[str, str], home: Path) -> dict[str, str]:
    missing = names - values.keys()
    assert not missing, f"compose.yaml gives a service {sorted(missing)}, which this test does not set"
    return {**base, **{name: values[name] for name in names}, "DAGSTER_HOME": str(home)}


def _database(server_url: str, name: str) -> str:
    """A new, empty database `name` on the test's PostgreSQL server; its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("topology")
    database = _database(postgres_url, "lookervault_topology")
    instance = deploy_instance()
    # No Docker here: Dagster's stock launcher (every run a new process started by the code server).
    assert instance.pop("run_launcher")["class"] == "DockerRunLauncher"
    homes = {name: tmp / name for name in ("code-location", "webserver", "daemon", "cli")}
    for home in homes.values():
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    backup = tmp / "backups" / "looker.db"
    backup.parent.mkdir()
    backup.write_bytes(SAMPLE_BACKUP.read_bytes())
    logs = tmp / "logs"
    logs.mkdir()

    grpc_port, web_port = _free_port(), _free_port()
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    server = workspace["load_from"][0]["grpc_server"]
    server.update(host="127.0.0.1", port=grpc_port)
    (tmp / "workspace.yaml").write_text(yaml.safe_dump(workspace))

    fake = FakeLooker(strict=True).start()
    fake.load_backup(backup)  # the backup's own instance: ids kept where they exist
    # Dagster's URL names the driver as compose.yaml's does (see the comment there).
    scheme = compose_services()["webserver"]["environment"]["DAGSTER_POSTGRES_URL"].split("://")[0]
    values = {
        "DAGSTER_POSTGRES_URL": scheme + "://" + database.split("://", 1)[1], "LOOKERVAULT_IDMAP_URL": database,
        "DAGSTER_CURRENT_IMAGE": "lookervault-restore:latest",
        "LOOKERVAULT_BACKUP": str(backup), "LOOKERVAULT_SOURCE_INSTANCE": "",
        "LOOKERSDK_BASE_URL": fake.base_url, "LOOKERSDK_CLIENT_ID": fake.client_id,
        "LOOKERSDK_CLIENT_SECRET": fake.client_secret, "LOOKERSDK_VERIFY_SSL": "true", "LOOKERSDK_TIMEOUT": "120",
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "LOOKERSDK_", "LOOKERVAULT_"))}
    base.update({"PYTHONUNBUFFERED": "1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    services = compose_services()
    names = {name: set(service.get("environment") or {}) for name, service in services.items()}
    # The code server starts the runs here, so it also gets what the run launcher passes a run container.
    run_vars = set(launcher_env_vars())
    envs = {
        "code-location": _env(base, names["code-location"] | run_vars, values, homes["code-location"]),
        "webserver": _env(base, names["webserver"], values, homes["webserver"]),
        # The daemon only passes the Looker settings on to run containers: without containers, it needs none.
        "daemon": _env(base, names["daemon"] - run_vars | {"DAGSTER_POSTGRES_URL"}, values, homes["daemon"]),
        # `docker compose run code-location lookervault ...`, plus the Looker settings for a restore.
        "cli": _env(base, names["code-location"] | run_vars, values, homes["cli"]),
    }
    assert not {k for k in envs["webserver"] | envs["daemon"] if k.startswith(("LOOKERSDK_", "LOOKERVAULT_"))}

    web_url = f"http://127.0.0.1:{web_port}"
    stack = Stack(fake=fake, gql=GraphQL(web_url), env=envs["cli"], home=homes["cli"], backup=backup,
                  state_dir=tmp / "state", webserver_url=web_url)
    try:
        sync = stack.cli("partitions", "sync", "--backup", str(backup))
        assert sync.returncode == 0, f"partitions sync failed:\n{sync.stdout}\n{sync.stderr}"
        grpc = _with_option(_with_option(services["code-location"]["command"], "-h", "127.0.0.1"),
                            "-p", str(grpc_port))
        web = _with_option(_with_option(_with_option(services["webserver"]["command"], "-h", "127.0.0.1"),
                                        "-p", str(web_port)), "-w", str(tmp / "workspace.yaml"))
        daemon = _with_option(services["daemon"]["command"], "-w", str(tmp / "workspace.yaml"))
        stack.processes.append(_start("code-location", _local(grpc), envs["code-location"], logs))
        _wait_for_port(grpc_port, stack)  # compose.yaml: the webserver and daemon wait for its health check
        for name, command in (("webserver", web), ("daemon", daemon)):
            stack.processes.append(_start(name, _local(command), envs[name], logs))
        started = time.perf_counter()
        _wait_until_ready(stack)
        print(f"\ngrpc + webserver + daemon on PostgreSQL ready in {time.perf_counter() - started:.1f} s")
        yield stack
    finally:
        stack.gql.close()
        for proc in reversed(stack.processes):
            proc.stop()
        fake.stop()


def _wait_for_port(port: int, stack: Stack, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline or any(p.popen.poll() is not None for p in stack.processes):
            pytest.fail(f"the code location's gRPC server did not listen on {port}\n{stack.output()}")
        time.sleep(0.2)


def launcher_env_vars() -> list[str]:
    """The variables deploy/dagster.yaml's run launcher passes each run container."""
    return list(deploy_instance()["run_launcher"]["config"]["env_vars"])


# In this order: each scenario leaves the fake as the next one expects.


def test_the_instance_is_postgres_with_the_stock_launcher(topology: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", topology.env["DAGSTER_POSTGRES_URL"])
    assert topology.env["DAGSTER_POSTGRES_URL"].startswith("postgresql+psycopg2://")
    with dg.DagsterInstance.from_config(str(topology.home)) as instance:
        pieces = {type(p).__name__ for p in (instance.run_launcher, instance.run_storage, instance.event_log_storage,
                                            instance.schedule_storage)}
    assert pieces == {"DefaultRunLauncher", "PostgresRunStorage", "PooledPostgresEventLogStorage",
                      "PostgresScheduleStorage"}


def test_one_item_launched_through_graphql(topology: Stack) -> None:
    scenarios.test_single_partition_run_through_graphql(topology)


def test_a_range_with_injected_failures_reexecuted_from_failure_restores_only_what_failed(topology: Stack) -> None:
    """Looker answers 500 to every new look: the range fails that one, `dead-letters` lists it, the rerun heals it."""
    fake, gql = topology.fake, topology.gql
    (removed,) = scenarios.remove_titled(fake, "looks", REGIONAL_LOOK)
    assert removed == "202"
    range_tags = {"dagster/asset_partition_range_start": "201", "dagster/asset_partition_range_end": "202"}
    quick = {"resources": {"looker": {"config": {"retry_attempts": 1}}}}
    fake.inject("POST /looks", ServerError(500), times=1000)
    try:
        parent = gql.wait_run(gql.launch_run("restore_looks", tags=range_tags, run_config=quick),
                              timeout=RUN_TIMEOUT_S)
    finally:
        fake.clear_faults()
    assert parent["status"] == "FAILURE", parent
    assert scenarios.materialized_partitions(topology, parent["runId"], "looks") == {"201"}  # unchanged: no write
    assert "202" in gql.partition_statuses("looks").failed
    letters = topology.cli_json("dead-letters", "--json", "--types", "looks")
    assert [(d["id"], d["error_type"], d["run_id"]) for d in letters] == [("202", "Unavailable", parent["runId"])]

    fake.clear_requests()
    child = gql.wait_run(gql.reexecute_run(parent["runId"], "FROM_FAILURE"), timeout=RUN_TIMEOUT_S)
    scenarios.require_success(topology, child)
    assert scenarios.materialized_partitions(topology, child["runId"], "looks") == {"202"}
    writes = [f"{r.method} {r.path}" for r in fake.requests if r.method in {"POST", "PATCH", "PUT", "DELETE"}
              and r.path != "/login"]
    assert writes.count("POST /looks") == 1, writes
    status = gql.partition_statuses("looks")
    assert {"201", "202"} <= status.materialized and not status.failed & {"201", "202"}, status
    (look,) = scenarios.live(fake, "looks", REGIONAL_LOOK)
    assert str(look["folder_id"]) == "13"
    assert topology.cli_json("dead-letters", "--json", "--types", "looks") == []
    # The re-created look's new id is in the id map, in PostgreSQL.
    with psycopg.connect(topology.env["LOOKERVAULT_IDMAP_URL"]) as conn:
        mapped = conn.execute("SELECT destination_id FROM id_map WHERE kind = 'look' AND source_id = '202'").fetchall()
    assert mapped == [(str(look["id"]),)]


def test_failures_of_a_selected_keys_run_are_dead_letters(topology: Stack) -> None:
    scenarios.test_failures_of_a_selected_keys_run_launched_from_the_ui_are_dead_letters(topology)


def test_no_process_kept_anything_on_its_disk(topology: Stack) -> None:
    """Runs, events, schedules and the id map are all in PostgreSQL: each DAGSTER_HOME holds only its dagster.yaml.

    (Dagster makes two empty folders, `logs` and `.logs_queue`, in the webserver's and the daemon's.)
    """
    homes = topology.home.parent
    left = sorted(str(p.relative_to(homes)) for name in ("code-location", "webserver", "daemon", "cli")
                  for p in (homes / name).rglob("*") if p.is_file() and p.name != "dagster.yaml")
    assert left == []
    assert not topology.state_dir.exists()
