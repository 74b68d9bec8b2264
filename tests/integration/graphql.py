"""A small client for Dagster's GraphQL API, for the webserver integration tests.

The queries follow the schema of the installed dagster-graphql (1.13); print it
with ``python -c "from dagster_graphql.schema import create_schema; print(create_schema())"``.
Every helper raises `GraphQLFailure` with the server's own words when a
mutation or query answers an error type instead of the expected result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

__all__ = [
    "BACKFILL_TAG",
    "LOCATION",
    "REPOSITORY",
    "TERMINAL_BACKFILL",
    "TERMINAL_RUN",
    "GraphQL",
    "GraphQLFailure",
    "PartitionStatuses",
]

LOCATION = "lookervault"
REPOSITORY = "__repository__"
BACKFILL_TAG = "dagster/backfill"
TERMINAL_RUN = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
TERMINAL_BACKFILL = frozenset({"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"})

_PYTHON_ERROR = "... on PythonError { message stack }"
_ERROR_MESSAGE = "... on Error { message }"

_METADATA = """
metadataEntries {
  label
  ... on TextMetadataEntry { text }
  ... on JsonMetadataEntry { jsonString }
  ... on MarkdownMetadataEntry { mdStr }
  ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue }
  ... on BoolMetadataEntry { boolValue }
}
"""

WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name pipelines { name } } }
          %s
        }
      }
    }
    %s
  }
}
""" % (_PYTHON_ERROR, _PYTHON_ERROR)

DAEMON_HEALTH_QUERY = """
query DaemonHealth {
  instance {
    runQueuingSupported
    daemonHealth { allDaemonStatuses { daemonType required healthy lastHeartbeatTime } }
  }
}
"""

LAUNCH_RUN_MUTATION = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message reason } }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      runId status jobName creationTime startTime endTime
      tags { key value }
      assetSelection { path }
    }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

RUN_EVENTS_QUERY = """
query RunEvents($runId: ID!, $cursor: String) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      eventConnection(afterCursor: $cursor) {
        cursor
        hasMore
        events {
          __typename
          ... on MessageEvent { message timestamp level }
          ... on MaterializationEvent { partition assetKey { path } %s }
          ... on ObservationEvent { partition assetKey { path } %s }
          ... on ExecutionStepFailureEvent {
            stepKey
            error { message stack causes { message } }
            failureMetadata { %s }
          }
          ... on RunFailureEvent { error { message stack } }
          ... on EngineEvent { error { message stack } }
        }
      }
    }
    %s
    %s
  }
}
""" % (_METADATA, _METADATA, _METADATA, _ERROR_MESSAGE, _PYTHON_ERROR)

RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs {
      results {
        runId status jobName creationTime startTime endTime
        tags { key value }
        assetSelection { path }
      }
    }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

REEXECUTE_RUN_MUTATION = """
mutation ReexecuteRun($reexecutionParams: ReexecutionParams) {
  launchPipelineReexecution(reexecutionParams: $reexecutionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

TERMINATE_RUN_MUTATION = """
mutation TerminateRun($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunSuccess { run { runId status } }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

LAUNCH_BACKFILL_MUTATION = """
mutation LaunchBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

REEXECUTE_BACKFILL_MUTATION = """
mutation ReexecuteBackfill($reexecutionParams: ReexecutionParams) {
  reexecutePartitionBackfill(reexecutionParams: $reexecutionParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

BACKFILL_QUERY = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      id status numPartitions partitionNames fromFailure timestamp endTimestamp
      error { message stack }
      assetSelection { path }
      tags { key value }
      runs { runId status }
    }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

ADD_DYNAMIC_PARTITION_MUTATION = """
mutation AddDynamicPartition($repositorySelector: RepositorySelector!, $partitionsDefName: String!,
                             $partitionKey: String!) {
  addDynamicPartition(repositorySelector: $repositorySelector, partitionsDefName: $partitionsDefName,
                      partitionKey: $partitionKey) {
    __typename
    ... on AddDynamicPartitionSuccess { partitionsDefName partitionKey }
    %s
    %s
  }
}
""" % (_ERROR_MESSAGE, _PYTHON_ERROR)

ASSET_STATUS_QUERY = """
query AssetStatus($assetKeys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $assetKeys) {
    assetKey { path }
    partitionKeys
    partitionStats { numMaterialized numPartitions numFailed numMaterializing }
    assetPartitionStatuses {
      __typename
      ... on DefaultPartitionStatuses {
        materializedPartitions failedPartitions unmaterializedPartitions materializingPartitions
      }
    }
  }
}
"""


class GraphQLFailure(AssertionError):
    """A GraphQL request answered errors, or an error type instead of the expected result."""


@dataclass(frozen=True)
class PartitionStatuses:
    """One asset's partitions by status, and Dagster's counts, as the UI shows them."""

    asset: str
    keys: list[str]
    materialized: set[str]
    failed: set[str]
    unmaterialized: set[str]
    materializing: set[str]
    stats: Mapping[str, int]


def _tags(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in (tags or {}).items()]


def _asset_keys(assets: Sequence[str]) -> list[dict[str, list[str]]]:
    return [{"path": [a]} for a in assets]


def tags_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """A run's or backfill's `tags { key value }` as a dict."""
    return {t["key"]: t["value"] for t in obj.get("tags") or []}


def assets_of(run: Mapping[str, Any]) -> list[str]:
    """The asset names a run targets (`assetSelection { path }`)."""
    return ["/".join(a["path"]) for a in run.get("assetSelection") or []]


class GraphQL:
    """POSTs queries to a Dagster webserver's `/graphql`."""

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def server_info(self) -> dict[str, Any]:
        response = self._session.get(f"{self.base_url}/server_info", timeout=5)
        response.raise_for_status()
        return response.json()

    def query(self, query: str, variables: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """The `data` of a query; GraphQL `errors` raise `GraphQLFailure`."""
        response = self._session.post(
            f"{self.base_url}/graphql", json={"query": query, "variables": dict(variables or {})},
            timeout=timeout or self.timeout,
        )
        try:
            body = response.json()
        except ValueError:
            raise GraphQLFailure(f"HTTP {response.status_code} from /graphql: {response.text[:2000]}") from None
        if body.get("errors"):
            raise GraphQLFailure(f"GraphQL errors: {json.dumps(body['errors'], indent=2)[:4000]}")
        response.raise_for_status()
        return body["data"]

    # --- workspace and daemon --------------------------------------------------------------

    def location_state(self, location: str = LOCATION) -> tuple[str, Any]:
        """("LOADED", repositories) / ("LOADING", None) / ("ERROR", message) / ("MISSING", names)."""
        ws = self.query(WORKSPACE_QUERY)["workspaceOrError"]
        if ws["__typename"] != "Workspace":
            return "ERROR", f"workspaceOrError: {ws.get('message')}\n{''.join(ws.get('stack') or [])}"
        for entry in ws["locationEntries"]:
            if entry["name"] != location:
                continue
            loc = entry["locationOrLoadError"]
            if loc is not None and loc["__typename"] == "PythonError":
                return "ERROR", f"{loc['message']}\n{''.join(loc.get('stack') or [])}"
            if entry["loadStatus"] == "LOADED" and loc is not None:
                return "LOADED", loc["repositories"]
            return "LOADING", None
        return "MISSING", [e["name"] for e in ws["locationEntries"]]

    def daemon_statuses(self) -> dict[str, dict[str, Any]]:
        statuses = self.query(DAEMON_HEALTH_QUERY)["instance"]["daemonHealth"]["allDaemonStatuses"]
        return {s["daemonType"]: s for s in statuses}

    # --- runs -------------------------------------------------------------------------------

    def launch_run(
        self,
        job_name: str,
        *,
        tags: Mapping[str, str] | None = None,
        run_config: Mapping[str, Any] | None = None,
    ) -> str:
        """Launch (submit) a run of `job_name`; its run id."""
        params: dict[str, Any] = {
            "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job_name},
            "executionMetadata": {"tags": _tags(tags)},
        }
        if run_config is not None:
            params["runConfigData"] = dict(run_config)
        result = self.query(LAUNCH_RUN_MUTATION, {"executionParams": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLFailure(f"launchRun of {job_name} answered {result['__typename']}: "
                                 f"{json.dumps(result, indent=2)[:4000]}")
        return result["run"]["runId"]

    def reexecute_run(self, run_id: str, strategy: str = "FROM_FAILURE") -> str:
        """Re-execute a run as its run page does (`FROM_FAILURE` or `ALL_STEPS`); the new run's id."""
        result = self.query(
            REEXECUTE_RUN_MUTATION, {"reexecutionParams": {"parentRunId": run_id, "strategy": strategy}},
        )["launchPipelineReexecution"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLFailure(f"launchPipelineReexecution of {run_id} answered {result['__typename']}: "
                                 f"{json.dumps(result, indent=2)[:4000]}")
        return result["run"]["runId"]

    def terminate_run(self, run_id: str) -> None:
        """Terminate a run as its run page's Terminate button does (SAFE_TERMINATE)."""
        result = self.query(TERMINATE_RUN_MUTATION, {"runId": run_id})["terminateRun"]
        if result["__typename"] != "TerminateRunSuccess":
            raise GraphQLFailure(f"terminateRun of {run_id} answered {result['__typename']}: "
                                 f"{json.dumps(result, indent=2)[:4000]}")

    def run(self, run_id: str) -> dict[str, Any]:
        result = self.query(RUN_QUERY, {"runId": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise GraphQLFailure(f"runOrError({run_id}) answered {result['__typename']}: {result.get('message')}")
        return result

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """Every event of a run, oldest first (the event log, as the run page shows it)."""
        events: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            result = self.query(RUN_EVENTS_QUERY, {"runId": run_id, "cursor": cursor})["runOrError"]
            if result["__typename"] != "Run":
                raise GraphQLFailure(f"runOrError({run_id}) answered {result['__typename']}: {result.get('message')}")
            conn = result["eventConnection"]
            events.extend(conn["events"])
            if not conn["hasMore"] or conn["cursor"] == cursor:
                return events
            cursor = conn["cursor"]

    def run_errors(self, run_id: str) -> str:
        """The errors a run recorded (step failures, run failure, engine errors), for assertion messages."""
        lines = []
        for ev in self.run_events(run_id):
            error = ev.get("error")
            if ev["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent") or error:
                lines.append(f"[{ev['__typename']}] {ev.get('message', '')}")
                if error:
                    lines.append(f"  {error.get('message', '')}".rstrip())
                    lines.extend(f"  {s.rstrip()}" for s in (error.get("stack") or [])[-8:])
        return "\n".join(lines) or "(no error events recorded)"

    def wait_run(self, run_id: str, *, timeout: float, poll: float = 0.2) -> dict[str, Any]:
        """Poll `runOrError` until the run reaches a terminal status; the run."""
        deadline = time.monotonic() + timeout
        run = self.run(run_id)
        while run["status"] not in TERMINAL_RUN:
            if time.monotonic() > deadline:
                raise GraphQLFailure(f"run {run_id} of {run['jobName']} still {run['status']} after {timeout:.0f} s")
            time.sleep(poll)
            run = self.run(run_id)
        return run

    def runs(self, *, tags: Mapping[str, str] | None = None, job_name: str | None = None) -> list[dict[str, Any]]:
        run_filter: dict[str, Any] = {}
        if tags:
            run_filter["tags"] = _tags(tags)
        if job_name:
            run_filter["pipelineName"] = job_name
        result = self.query(RUNS_QUERY, {"filter": run_filter})["runsOrError"]
        if result["__typename"] != "Runs":
            raise GraphQLFailure(f"runsOrError answered {result['__typename']}: {result.get('message')}")
        return result["results"]

    # --- backfills --------------------------------------------------------------------------

    def launch_asset_backfill(
        self,
        assets: Sequence[str],
        *,
        partition_names: Sequence[str] | None = None,
        title: str | None = None,
    ) -> str:
        """Launch a backfill of `assets` (every partition unless named); its id."""
        params: dict[str, Any] = {"assetSelection": _asset_keys(assets)}
        if partition_names is None:
            params["allPartitions"] = True
        else:
            params["partitionNames"] = list(partition_names)
        if title:
            params["title"] = title
        result = self.query(LAUNCH_BACKFILL_MUTATION, {"backfillParams": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise GraphQLFailure(f"launchPartitionBackfill answered {result['__typename']}: "
                                 f"{json.dumps(result, indent=2)[:4000]}")
        return result["backfillId"]

    def reexecute_backfill(self, backfill_id: str, strategy: str = "FROM_FAILURE") -> str:
        """Re-execute a finished backfill (`FROM_FAILURE` or `ALL_STEPS`); the new backfill's id."""
        result = self.query(
            REEXECUTE_BACKFILL_MUTATION,
            {"reexecutionParams": {"parentRunId": backfill_id, "strategy": strategy}},
        )["reexecutePartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise GraphQLFailure(f"reexecutePartitionBackfill answered {result['__typename']}: "
                                 f"{json.dumps(result, indent=2)[:4000]}")
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> dict[str, Any]:
        result = self.query(BACKFILL_QUERY, {"backfillId": backfill_id})["partitionBackfillOrError"]
        if result["__typename"] != "PartitionBackfill":
            raise GraphQLFailure(f"partitionBackfillOrError({backfill_id}) answered "
                                 f"{result['__typename']}: {result.get('message')}")
        return result

    def wait_backfill(
        self,
        backfill_id: str,
        *,
        timeout: float,
        poll: float = 0.5,
        on_timeout: Callable[[], str] | None = None,
    ) -> dict[str, Any]:
        """Poll `partitionBackfillOrError` until the backfill reaches a terminal status; the backfill."""
        deadline = time.monotonic() + timeout
        backfill = self.backfill(backfill_id)
        while backfill["status"] not in TERMINAL_BACKFILL:
            if time.monotonic() > deadline:
                runs = ", ".join(f"{r['runId'][:8]} {r['status']}" for r in backfill["runs"]) or "none"
                extra = f"\n{on_timeout()}" if on_timeout else ""
                raise GraphQLFailure(f"backfill {backfill_id} still {backfill['status']} after {timeout:.0f} s "
                                     f"(runs: {runs}){extra}")
            time.sleep(poll)
            backfill = self.backfill(backfill_id)
        return backfill

    # --- assets -----------------------------------------------------------------------------

    def add_dynamic_partition(self, partitions_def: str, key: str) -> None:
        """Register a partition key, as the UI's "Add partition" does."""
        result = self.query(ADD_DYNAMIC_PARTITION_MUTATION, {
            "repositorySelector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY},
            "partitionsDefName": partitions_def, "partitionKey": key,
        })["addDynamicPartition"]
        if result["__typename"] != "AddDynamicPartitionSuccess":
            raise GraphQLFailure(f"addDynamicPartition({partitions_def}, {key}) answered {result['__typename']}: "
                                 f"{json.dumps(result, indent=2)[:4000]}")

    def partition_statuses(self, asset: str) -> PartitionStatuses:
        nodes = self.query(ASSET_STATUS_QUERY, {"assetKeys": _asset_keys([asset])})["assetNodes"]
        if len(nodes) != 1:
            raise GraphQLFailure(f"assetNodes({asset}) answered {len(nodes)} nodes")
        node = nodes[0]
        st = node["assetPartitionStatuses"]
        if st["__typename"] != "DefaultPartitionStatuses":
            raise GraphQLFailure(f"{asset}: unexpected partition statuses type {st['__typename']}")
        return PartitionStatuses(
            asset=asset,
            keys=node["partitionKeys"],
            materialized=set(st["materializedPartitions"]),
            failed=set(st["failedPartitions"]),
            unmaterialized=set(st["unmaterializedPartitions"]),
            materializing=set(st["materializingPartitions"]),
            stats=node["partitionStats"] or {},
        )
