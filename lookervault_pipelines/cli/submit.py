"""`lookervault restore --submit URL`: the same runs, launched on a Dagster deployment through its webserver.

In process, `lookervault restore` executes each run itself against the local
instance. With `--submit`, every run it would execute (the same job, run
config and tags: range runs, selected-keys runs, their failures again as
partitions, the second pass) is launched on the deployment instead, through
the webserver's GraphQL API (`DagsterGraphQLClient.submit_job_execution`);
the deployment's run queue tags its lane and its launcher starts it where
its runs go (another host, a container). The command waits for each run and
reads its materializations and observations through GraphQL, so the summary
and the exit code are the in-process ones; failures are the deployment's
dead letters.

The runs read the deployment's backup (its `LOOKERVAULT_BACKUP`), not the
file passed here, which only selects the ids: the two must be the same
backup, which each run's events prove (`backup_fingerprint`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import click
import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from lookervault_core.content_types import ContentType

from ..restore_step.summary import EventRecord, RunSummary, summarize_events

__all__ = ["DAGSTER_URL_ENV", "TOKEN_ENV", "Deployment", "connect"]

#: Where the webserver answers when `--submit` names no URL.
DAGSTER_URL_ENV = "LOOKERVAULT_DAGSTER_URL"
#: A Dagster+ user token, sent as Dagster+'s `Dagster-Cloud-Api-Token` header (not tried here: no Dagster+).
TOKEN_ENV = "DAGSTER_CLOUD_API_TOKEN"
#: Seconds between looks at a submitted run's status.
POLL_S = 0.5
_TERMINAL = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

_METADATA = """metadataEntries { label
  ... on TextMetadataEntry { text } ... on JsonMetadataEntry { jsonString } ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue } ... on BoolMetadataEntry { boolValue } ... on UrlMetadataEntry { url }
  ... on MarkdownMetadataEntry { mdStr } ... on PathMetadataEntry { path } }"""

_WORKSPACE = """query { workspaceOrError { __typename
  ... on Workspace { locationEntries { name locationOrLoadError { __typename
      ... on RepositoryLocation { repositories { name pipelines { name } } }
      ... on PythonError { message } } } }
  ... on PythonError { message } } }"""

_PARTITION_KEYS = """query ($keys: [AssetKeyInput!]) { assetNodes(assetKeys: $keys) { assetKey { path } partitionKeys } }"""

_ADD_PARTITION = """mutation ($key: String!, $name: String!, $repo: RepositorySelector!) {
  addDynamicPartition(partitionKey: $key, partitionsDefName: $name, repositorySelector: $repo) {
    __typename ... on Error { message } ... on PythonError { message } } }"""

_EVENTS = """query ($runId: ID!, $cursor: String) { runOrError(runId: $runId) { __typename
  ... on Run { status eventConnection(afterCursor: $cursor) { cursor hasMore events { __typename
      ... on MaterializationEvent { partition %s }
      ... on ObservationEvent { partition %s }
      ... on ExecutionStepFailureEvent { message } } } }
  ... on Error { message } ... on PythonError { message } } }""" % (_METADATA, _METADATA)


def _value(entry: Mapping[str, Any]) -> object:
    """A metadata entry's value as the run recorded it (JSON decoded)."""
    if "jsonString" in entry and entry["jsonString"] is not None:
        return json.loads(entry["jsonString"])
    values = [v for k, v in entry.items() if k != "label"]
    return values[0] if values else None


def _metadata(event: Mapping[str, Any]) -> dict[str, object]:
    return {e["label"]: _value(e) for e in event.get("metadataEntries") or []}


@dataclass
class Deployment:
    """A running Dagster deployment of this code location, reached through its webserver's GraphQL API."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    location: str = ""
    repository: str = ""
    #: The `backup_fingerprint` of every event the submitted runs recorded.
    fingerprints: set[str] = field(default_factory=set)
    _session: requests.Session = field(default_factory=requests.Session)
    _client: DagsterGraphQLClient | None = None

    # GraphQL ------------------------------------------------------------------------------

    def query(self, text: str, variables: Mapping[str, object] | None = None) -> dict[str, Any]:
        """One GraphQL request; its `data`.

        Raises:
            click.ClickException: the webserver cannot be reached, or answers errors.
        """
        try:
            answer = self._session.post(f"{self.url}/graphql", json={"query": text, "variables": variables or {}},
                                        headers=self.headers, timeout=120)
            answer.raise_for_status()
            body = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise click.ClickException(f"Dagster webserver at {self.url}: {exc}") from exc
        if body.get("errors"):
            raise click.ClickException(f"Dagster webserver at {self.url} answered: "
                                       f"{'; '.join(e.get('message', '') for e in body['errors'])}")
        return dict(body["data"])

    def client(self) -> DagsterGraphQLClient:
        if self._client is None:
            parts = urlsplit(self.url)
            self._client = DagsterGraphQLClient(
                parts.hostname or "", port_number=parts.port, use_https=parts.scheme == "https",
                headers=self.headers or None, path_prefix=parts.path.rstrip("/"))
        return self._client

    def find_location(self) -> None:
        """The code location and repository that define the restore jobs.

        Raises:
            click.ClickException: no loaded code location defines them.
        """
        workspace = self.query(_WORKSPACE)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise click.ClickException(f"Dagster webserver at {self.url}: {workspace.get('message')}")
        errors = []
        for entry in workspace["locationEntries"]:
            loaded = entry["locationOrLoadError"] or {}
            if loaded.get("__typename") != "RepositoryLocation":
                errors.append(f"{entry['name']}: {loaded.get('message', 'not loaded')}")
                continue
            for repo in loaded["repositories"]:
                if "restore_selected_keys_job" in {p["name"] for p in repo["pipelines"]}:
                    self.location, self.repository = entry["name"], repo["name"]
                    return
        raise click.ClickException(
            f"no code location of the Dagster deployment at {self.url} defines lookervault's restore jobs"
            + (f" (not loaded: {'; '.join(errors)})" if errors else ""))

    # Partitions ---------------------------------------------------------------------------

    def registered(self, ct: ContentType) -> list[str]:
        nodes = self.query(_PARTITION_KEYS, {"keys": [{"path": [ct.plural]}]})["assetNodes"]
        return list(nodes[0]["partitionKeys"]) if nodes else []

    def register(self, ct: ContentType, keys: Sequence[str]) -> list[str]:
        """Add those of `keys` the deployment has not registered yet (as the UI's "Add partition"); them."""
        have = set(self.registered(ct))
        new = [k for k in dict.fromkeys(keys) if k not in have]
        repo = {"repositoryLocationName": self.location, "repositoryName": self.repository}
        for key in new:
            answer = self.query(_ADD_PARTITION, {"key": key, "name": ct.plural, "repo": repo})["addDynamicPartition"]
            if answer["__typename"] != "AddDynamicPartitionSuccess":
                raise click.ClickException(f"registering {ct.label} {key} on the deployment: "
                                           f"{answer.get('message', answer['__typename'])}")
        return new

    # Runs -----------------------------------------------------------------------------------

    def execute(self, ct: ContentType, job: str, run_config: dict[str, object],
                tags: dict[str, str]) -> RunSummary:
        """Launch the run on the deployment (through its queue), wait for its end; its summary from its events.

        Ctrl-C while waiting terminates the run, as it interrupts a run in process.
        """
        try:
            run_id = self.client().submit_job_execution(
                job, repository_location_name=self.location, repository_name=self.repository,
                run_config=run_config, tags=tags)
        except DagsterGraphQLClientError as exc:
            raise click.ClickException(f"launching {job} on {self.url}: {exc}") from exc
        try:
            status = self._wait(run_id)
        except KeyboardInterrupt:
            self.client().terminate_run(run_id)
            raise
        return self._summary(ct, run_id, status)

    def _wait(self, run_id: str) -> str:
        while True:
            status = self.client().get_run_status(run_id).value
            if status in _TERMINAL:
                return str(status)
            time.sleep(POLL_S)

    def _summary(self, ct: ContentType, run_id: str, status: str) -> RunSummary:
        mats: list[EventRecord] = []
        obs: list[EventRecord] = []
        step_errors: list[str] = []
        cursor: str | None = None
        while True:
            run = self.query(_EVENTS, {"runId": run_id, "cursor": cursor})["runOrError"]
            if run["__typename"] != "Run":
                raise click.ClickException(f"reading run {run_id} on {self.url}: {run.get('message')}")
            connection = run["eventConnection"]
            for event in connection["events"]:
                kind = event["__typename"]
                if kind in ("MaterializationEvent", "ObservationEvent"):
                    meta = _metadata(event)
                    if meta.get("backup_fingerprint"):
                        self.fingerprints.add(str(meta["backup_fingerprint"]))
                    (mats if kind == "MaterializationEvent" else obs).append((event.get("partition"), meta))
                elif kind == "ExecutionStepFailureEvent":
                    step_errors.append(event.get("message") or "step failed")
            if not connection["hasMore"] or connection["cursor"] == cursor:
                break
            cursor = connection["cursor"]
        error = step_errors[0] if step_errors else ("" if status == "SUCCESS" else f"run ended {status}")
        return summarize_events(ct, run_id, status == "SUCCESS", mats, obs, error)


def connect(url: str) -> Deployment:
    """The deployment whose webserver answers at `url` ($LOOKERVAULT_DAGSTER_URL when empty).

    Raises:
        click.ClickException: no URL, or no code location there defines the restore jobs.
    """
    url = (url or os.environ.get(DAGSTER_URL_ENV, "")).rstrip("/")
    if not url:
        raise click.ClickException(f"--submit needs the Dagster webserver's URL (or ${DAGSTER_URL_ENV})")
    if not urlsplit(url).scheme:
        url = f"http://{url}"
    token = os.environ.get(TOKEN_ENV)
    deployment = Deployment(url, headers={"Dagster-Cloud-Api-Token": token} if token else {})
    deployment.find_location()
    return deployment
