"""deploy/: the compose file is valid for Docker Compose, and every file hands the code location what it reads.

The compose file is checked by Docker Compose itself (`config`, which needs no Docker daemon) where it is
installed (.ci/run installs Debian's docker-compose). Dagster's Helm chart is not here (no network in CI,
and it is not vendored): the values file is checked against the keys of the chart's values schema
(helm/dagster/schema/schema/charts in dagster-io/dagster, 1.13 line) that it uses, listed below.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from lookervault_core.looker.settings import ENV_VARS

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
MODULE = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]

#: What `docker compose config` needs filled in (deploy/env.example).
FILLED_IN = {
    "LOOKERSDK_BASE_URL": "https://looker.example.com:19999", "LOOKERSDK_CLIENT_ID": "id",
    "LOOKERSDK_CLIENT_SECRET": "s3cr&t", "POSTGRES_PASSWORD": "pw", "LOOKERVAULT_BACKUP_DIR": "/srv/backups",
}


def _yaml(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def read_by_code_location() -> set[str]:
    """The variables the code location's resources read (besides DAGSTER_*): Looker's and LOOKERVAULT_*."""
    sources = "".join((PROJECT / "lookervault_pipelines" / p).read_text()
                      for p in ("definitions.py", "defs/resources.py"))
    # LOOKERVAULT_STATE_DIR: the id map's SQLite folder, unused once LOOKERVAULT_IDMAP_URL is set.
    return set(ENV_VARS.values()) | set(re.findall(r"LOOKERVAULT_[A-Z_]+", sources)) - {"LOOKERVAULT_STATE_DIR"}


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed: deploy/compose.yaml not validated "
                    "(.ci/run installs Debian's docker-compose)")
    empty = tmp_path / "empty.env"  # not a deploy/.env a user may have filled in
    empty.write_text("")
    return subprocess.run([*command, "--env-file", str(empty), "-f", str(DEPLOY / "compose.yaml"), "config"],
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin", **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)


def test_docker_compose_accepts_the_compose_file(tmp_path: Path) -> None:
    done = _compose_config(tmp_path, FILLED_IN)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert set(resolved["services"]) == {"postgresql", "code-location", "webserver", "daemon"}
    assert resolved["volumes"]["lookervault-backups"]["driver_opts"]["device"] == "/srv/backups"
    daemon = resolved["services"]["daemon"]["environment"]
    assert daemon["LOOKERVAULT_BACKUP"] == "/backups/looker.db" and daemon["LOOKERSDK_CLIENT_SECRET"] == "s3cr&t"
    assert "LOOKERSDK_CLIENT_SECRET" not in resolved["services"]["webserver"]["environment"]


def test_docker_compose_refuses_the_file_without_the_looker_secret(tmp_path: Path) -> None:
    done = _compose_config(tmp_path, {k: v for k, v in FILLED_IN.items() if k != "LOOKERSDK_CLIENT_SECRET"})
    assert done.returncode != 0
    assert "set LOOKERSDK_CLIENT_SECRET in deploy/.env" in done.stderr


def test_every_run_container_gets_what_the_code_location_reads() -> None:
    """DockerRunLauncher passes its env_vars from the daemon's environment, and fails a launch on a missing one."""
    passed = _yaml("dagster.yaml")["run_launcher"]["config"]["env_vars"]
    assert read_by_code_location() | {"DAGSTER_POSTGRES_URL"} <= set(passed)
    services = _yaml("compose.yaml")["services"]
    assert set(passed) <= set(services["daemon"]["environment"])
    backup_dir = str(Path(services["daemon"]["environment"]["LOOKERVAULT_BACKUP"]).parent)
    assert f"lookervault-backups:{backup_dir}:ro" in _yaml("dagster.yaml")["run_launcher"]["config"][
        "container_kwargs"]["volumes"]
    assert f"lookervault-backups:{backup_dir}:ro" in services["code-location"]["volumes"]
    assert services["code-location"]["command"][-2:] == ["-m", MODULE]
    assert {s["environment"]["DAGSTER_POSTGRES_URL"] for s in services.values() if "environment" in s
            and "DAGSTER_POSTGRES_URL" in s["environment"]} == {_yaml("compose.yaml")["x-databases"][
                "DAGSTER_POSTGRES_URL"]}


def test_helm_run_pods_get_what_the_code_location_reads() -> None:
    values = _yaml("helm-values.yaml")
    (location,) = values["dagster-user-deployments"]["deployments"]
    assert location["dagsterApiGrpcArgs"] == ["-m", MODULE]
    assert location["includeConfigInLaunchedRuns"] == {"enabled": True}  # run pods inherit env, secrets, volumes
    mounts = {m["name"]: m["mountPath"] for m in location["volumeMounts"]}
    assert str(Path(location["env"]["LOOKERVAULT_BACKUP"]).parent) in mounts.values()
    assert [s["name"] for s in location["envSecrets"]] == ["lookervault"]
    # What the Secret must hold is said where the user fills it in.
    text = (DEPLOY / "helm-values.yaml").read_text()
    in_secret = read_by_code_location() - set(location["env"])
    assert all(f"{name}" in text for name in in_secret), sorted(n for n in in_secret if n not in text)
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"


#: The chart's keys under the sections the values file sets (its values schema, `extra="forbid"` models).
CHART_KEYS: dict[str, set[str]] = {
    "": {"dagsterWebserver", "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret",
         "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress", "imagePullSecrets",
         "computeLogManager", "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate",
         "telemetry", "serviceAccount", "global", "retention", "concurrency", "additionalInstanceConfig"},
    "dagster-user-deployments": {"enabled", "enableSubchart", "imagePullSecrets", "deployments"},
    "dagster-user-deployments.deployments[]": {
        "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
        "deploymentNamespace", "port", "replicaCount", "env", "envConfigMaps", "envSecrets", "annotations",
        "nodeSelector", "affinity", "tolerations", "podSecurityContext", "securityContext", "resources",
        "livenessProbe", "readinessProbe", "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName",
        "initContainers", "sidecarContainers", "deploymentStrategy"},
    "runLauncher": {"type", "config"},
    "runLauncher.config": {"celeryK8sRunLauncher", "k8sRunLauncher", "customRunLauncher"},
    "runLauncher.config.k8sRunLauncher": {
        "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile", "envConfigMaps",
        "envSecrets", "envVars", "volumeMounts", "volumes", "labels", "failPodOnRunFailure", "resources",
        "schedulerName", "securityContext", "runK8sConfig"},
    "postgresql": {"postgresqlScheme", "image", "enabled", "postgresqlHost", "postgresqlUsername",
                   "postgresqlPassword", "postgresqlDatabase", "postgresqlParams", "service"},
    "dagsterDaemon.runCoordinator": {"enabled", "type", "config"},
    "dagsterDaemon.runCoordinator.config.queuedRunCoordinator": {
        "maxConcurrentRuns", "tagConcurrencyLimits", "dequeueIntervalSeconds", "dequeueNumWorkers",
        "dequeueUseThreads", "blockOpConcurrencyLimitedRuns"},
    "dagsterDaemon.runRetries": {"enabled", "maxRetries", "retryOnAssetOrOpFailure"},
    "concurrency": {"enabled", "pools", "runs"},
    "concurrency.pools": {"defaultLimit", "granularity", "opGranularityRunBuffer"},
    "concurrency.runs": {"maxConcurrentRuns", "tagConcurrencyLimits"},
    "computeLogManager": {"type", "config"},
    "telemetry": {"enabled"},
}


def _unknown_keys(node: Any, path: str) -> list[str]:
    if isinstance(node, list):
        return [k for item in node for k in _unknown_keys(item, f"{path}[]")]
    if not isinstance(node, dict):
        return []
    allowed = CHART_KEYS.get(path)
    unknown = [f"{path}.{key}".lstrip(".") for key in node if allowed is not None and key not in allowed]
    return unknown + [k for key, child in node.items() for k in _unknown_keys(child, f"{path}.{key}".lstrip("."))]


def test_helm_values_use_only_keys_of_the_chart() -> None:
    assert _unknown_keys(_yaml("helm-values.yaml"), "") == []
    assert _unknown_keys({"dagsterDaemon": {"runRetries": {"retryOnFailure": True}}}, "") == [
        "dagsterDaemon.runRetries.retryOnFailure"]
