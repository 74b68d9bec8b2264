"""The README's first command: the bundled sample backup restored into a local fake Looker."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType
from lookervault_core.testing.fake_looker import FakeLooker, FaultRule, parse_fault_rule

from .commands import print_dead_letters, restore_backup, retry_failed_items

__all__ = ["DEMO_DIR", "SAMPLE_BACKUP", "WITH_FAILURES", "browse_command", "run_demo", "workspace_file"]

SAMPLE_BACKUP = Path(__file__).resolve().parents[1] / "sample" / "sample.sqlite"
#: The demo's own Dagster instance and id map, recreated by every demo: its runs
#: link to a fake Looker that lives only as long as the demo, so they never go
#: into the user's own instance.
DEMO_DIR = Path(".lookervault-demo")
#: The project's workspace (code location `lookervault`), beside the package in a checkout.
WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"
WORKSPACE_TEXT = """load_from:
  - python_module:
      module_name: lookervault_pipelines.definitions
      location_name: lookervault
"""
#: `demo --with-failures`: Looker answers 503 to every try of creating a dashboard, so both of the sample's
#: dashboards fail (and the board and schedule that need them), until the demo lifts the fault.
WITH_FAILURES = parse_fault_rule("POST /api/4.0/dashboards 503 x10")


def deploy_sample_lookml(fake: FakeLooker) -> None:
    """Give the fake the sample's LookML models and explores, as a deployed LookML project would.

    Explores cannot be created through the API; on a new instance they exist
    because the LookML project was deployed there first.
    """
    with BackupReader(SAMPLE_BACKUP) as reader:
        explores: dict[str, list[dict[str, object]]] = {}
        for item in reader.items(ContentType.EXPLORE):
            if not isinstance(item, Exception):
                model = str(item.data.get("model_name"))
                explores.setdefault(model, []).append({"name": item.data.get("name"), "label": item.data.get("label")})
        for item in reader.items(ContentType.LOOKML_MODEL):
            if not isinstance(item, Exception):
                name = str(item.data.get("name"))
                fake.put("lookml_models", {"name": name, "project_name": item.data.get("project_name"),
                                           "label": item.data.get("label"), "explores": explores.get(name, [])})


def workspace_file(home: Path) -> Path:
    """The project's workspace.yaml (code location `lookervault`), or the same written into `home`.

    The README's `dagster dev -w workspace.yaml` and the demo's command must name
    the same code location, or the UI's Overview splits the runs between two.
    """
    if WORKSPACE.is_file():
        return WORKSPACE
    copy = home / "workspace.yaml"
    copy.write_text(WORKSPACE_TEXT)
    return copy


def browse_command(env: dict[str, str], workspace: Path) -> str:
    """The shell command that opens the Dagster UI on `env`, with the `dagster` of this virtualenv."""
    dagster = Path(sys.executable).parent / "dagster"
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f"{assignments} {shlex.quote(str(dagster))} dev -w {shlex.quote(str(workspace))}"


def run_demo(*, keep_running: bool = False, port: int = 0, faults: Sequence[FaultRule] = ()) -> int:
    """Restore the sample into an empty fake Looker, then again to show that nothing is rewritten.

    With `faults` (fake Looker rules, `--fault` / `--latency`) the first restore
    meets them; what failed is shown as dead letters, then the faults are lifted
    (Looker recovers) and the failed items are restored again, as `lookervault
    retry-failed` does (with `keep_running`, left to the user in the UI).
    Without `keep_running` the demo's instance is deleted when the fake stops,
    so no UI shows runs whose `looker_url` links point at a server that is gone.
    """
    home = DEMO_DIR.resolve()
    shutil.rmtree(home, ignore_errors=True)
    with FakeLooker(port=port) as fake:
        deploy_sample_lookml(fake)
        env = {
            "DAGSTER_HOME": str(home / "dagster_home"),
            "LOOKERVAULT_STATE_DIR": str(home / "state"),
            "LOOKERVAULT_BACKUP": str(SAMPLE_BACKUP),
            "LOOKERSDK_BASE_URL": fake.base_url,
            "LOOKERSDK_CLIENT_ID": fake.client_id,
            "LOOKERSDK_CLIENT_SECRET": fake.client_secret,
        }
        os.environ.update(env)
        click.echo(f"fake Looker serving at {fake.base_url}; restoring {SAMPLE_BACKUP.name} into it")
        for rule in faults:
            fake.apply(rule)
            click.echo(f"fake Looker fault: {_describe_rule(rule)}")
        # The fake is a new, empty instance: ids are mapped, never assumed equal. The name is kept for the
        # backup, so the second restore, and runs launched from the UI, map ids the same way unasked.
        code = restore_backup(str(SAMPLE_BACKUP), source_instance="sample")
        if faults:
            code = _heal(fake, keep_running=keep_running)
        else:
            click.echo("\nsecond restore of the same backup (everything should be unchanged):")
            code = max(code, restore_backup(str(SAMPLE_BACKUP)))
        if keep_running:
            command = browse_command(env, workspace_file(home))
            click.echo(f"\nfake Looker still serving at {fake.base_url}; Ctrl-C to stop. In another terminal, "
                       f"browse the runs (and launch more into the fake) with:\n  {command}")
            # Ctrl-C (and `kill`) stop the demo even when it was started with SIGINT ignored, as a
            # non-interactive shell starts a job with `&` and as some process supervisors start theirs.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                click.echo(f"fake Looker stopped; {home} keeps the runs until the next demo")
                return code
    shutil.rmtree(home, ignore_errors=True)
    click.echo("\nthe fake Looker has stopped and the demo's runs are deleted with it. To browse them in the "
               "Dagster UI while the fake still answers: lookervault demo --keep-running")
    return code


def _describe_rule(rule: FaultRule) -> str:
    times = "every call" if rule.times is None else f"{rule.times} call{'s' if rule.times != 1 else ''}"
    return f"{rule.route} -> {rule.fault} ({times})"


def _heal(fake: FakeLooker, *, keep_running: bool) -> int:
    """Show the dead letters, lift the faults, restore what failed (unless the user will, from the UI)."""
    click.echo("\ndead letters (lookervault dead-letters): the failed partitions, each with its error")
    if not print_dead_letters():
        click.echo("(the faults met no call that mattered: nothing failed)")
        return 0
    fake.clear_faults()
    click.echo("\nLooker answers normally again (the fake's faults are lifted).")
    if keep_running:
        # The demo's runs execute in this process, not from a code location, so their run pages cannot
        # re-execute them: the asset's own dialog launches the failed partitions again.
        click.echo("Re-execute in the UI, dependencies first: the dashboards asset, Materialize..., Failed, "
                   "Launch; then boards and scheduled_plans the same way. Their FAILED partitions turn green. "
                   f"Or: lookervault retry-failed --backup {shlex.quote(str(SAMPLE_BACKUP))}")
        return 1
    click.echo("Re-executing what failed (lookervault retry-failed):")
    code = retry_failed_items(str(SAMPLE_BACKUP))
    click.echo("\ndead letters after the re-execution:")
    return max(code, 1 if print_dead_letters() else 0)
