"""resync_job deployed for real: the README's `dagster job launch` commands, checked through GraphQL.

The stack (webserver + daemon over a fake Looker holding the sample, see
conftest.py) is this module's own. Looker is damaged behind the API's back;
the report-only launch must write nothing and show the drift as failing
checks of `looker_drift`; the plain launch restores exactly that; a third
finds nothing and writes nothing.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from typing import Any

import pytest

from .conftest import PROJECT, Stack
from .graphql import GraphQLFailure

pytestmark = pytest.mark.integration

RUN_TIMEOUT_S = 120.0
WRITES = {"POST", "PATCH", "PUT", "DELETE"}

CHECKS_QUERY = """
query Checks($assetKeys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $assetKeys) {
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization {
            runId status
            evaluation { success severity description
              metadataEntries { label ... on JsonMetadataEntry { jsonString } ... on IntMetadataEntry { intValue } }
            }
          }
        }
      }
    }
  }
}
"""


def readme_commands() -> list[list[str]]:
    """The commands of docs/operations.md's block that launches resync_job, as argv lists."""
    readme = (PROJECT / "docs" / "operations.md").read_text()
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "-j resync_job" in b]
    lines = [line for line in block.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    return [shlex.split(line) for line in lines]


def launch(stack: Stack, argv: list[str]) -> dict[str, Any]:
    """Run a `dagster job launch` command as written and wait for the run it queued."""
    before = {r["runId"] for r in stack.gql.runs(job_name="resync_job")}
    done = subprocess.run(argv, env=dict(stack.env), cwd=PROJECT, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout}{done.stderr}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = [r for r in stack.gql.runs(job_name="resync_job") if r["runId"] not in before]
        if new:
            run = stack.gql.wait_run(new[0]["runId"], timeout=RUN_TIMEOUT_S)
            if run["status"] != "SUCCESS":
                pytest.fail(f"run {run['runId']} ended {run['status']}:\n{stack.gql.run_errors(run['runId'])}\n"
                            f"{stack.output(30)}")
            return run
        time.sleep(0.3)
    raise AssertionError(f"no run of resync_job appeared after {' '.join(argv)}")


def writes(stack: Stack) -> list[str]:
    return [f"{r.method} {r.path}" for r in stack.fake.requests if r.method in WRITES and r.path != "/login"]


def restored(stack: Stack, run_id: str) -> set[tuple[str, str]]:
    return {(e["assetKey"]["path"][0], e["partition"]) for e in stack.gql.run_events(run_id)
            if e["__typename"] == "MaterializationEvent" and e["assetKey"]["path"] != ["looker_drift"]}


def checks(stack: Stack) -> dict[str, dict[str, Any]]:
    """Each check of looker_drift: its latest execution as the asset page shows it."""
    [node] = stack.gql.query(CHECKS_QUERY, {"assetKeys": [{"path": ["looker_drift"]}]})["assetNodes"]
    result = node["assetChecksOrError"]
    if result["__typename"] != "AssetChecks":
        raise GraphQLFailure(f"assetChecksOrError answered {result}")
    out = {}
    for check in result["checks"]:
        execution = check["executionForLatestMaterialization"]
        assert execution is not None, f"{check['name']} shows no execution"
        meta = {m["label"]: m.get("jsonString", m.get("intValue")) for m in execution["evaluation"]["metadataEntries"]}
        out[check["name"]] = {"runId": execution["runId"], "status": execution["status"],
                              "passed": execution["evaluation"]["success"], **meta}
    return out


def test_resync_launched_as_the_readme_says_reports_then_restores_only_the_drift(stack: Stack) -> None:
    fake = stack.fake
    fake.remove("looks", "202")
    fake.remove("folders", "13")
    fake.put("dashboards", {**fake.get("dashboards", "101"), "title": "Renamed in Looker"})  # type: ignore[dict-item]
    fake.remove("users", "6")
    restore, report_only = readme_commands()
    assert "report_only" in " ".join(report_only) and "--config-json" not in restore

    fake.clear_requests()
    run = launch(stack, report_only)
    assert writes(stack) == []
    assert restored(stack, run["runId"]) == set()
    report = checks(stack)
    assert {name for name, c in report.items() if not c["passed"]} == {
        "folders_in_sync", "looks_in_sync", "users_in_sync", "dashboards_in_sync"}, report
    assert all(c["runId"] == run["runId"] for c in report.values())
    assert report["folders_in_sync"]["missing_ids"] == '["13"]'
    assert report["folders_in_sync"]["status"] == "FAILED" and report["roles_in_sync"]["status"] == "SUCCEEDED"

    run = launch(stack, restore)
    assert restored(stack, run["runId"]) == {("folders", "13"), ("looks", "202"), ("users", "6"),
                                             ("dashboards", "101"), ("dashboards", "102")}
    assert len(writes(stack)) == 8, writes(stack)
    assert "13" in stack.gql.partition_statuses("folders").materialized
    assert {"101", "102"} <= stack.gql.partition_statuses("dashboards").materialized
    assert stack.gql.partition_statuses("folders").materialized == {"13"}
    assert [d for d in fake.all("dashboards").values() if d.get("title") == "Sales Overview"]

    fake.clear_requests()
    run = launch(stack, restore)
    assert writes(stack) == []
    assert restored(stack, run["runId"]) == set()
    report = checks(stack)
    assert all(c["passed"] and c["runId"] == run["runId"] for c in report.values()), report
