"""The README's first command: the bundled sample backup restored into a local fake Looker."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import click

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType
from lookervault_core.testing.fake_looker import FakeLooker

from .commands import restore_backup

__all__ = ["DEMO_DIR", "SAMPLE_BACKUP", "browse_command", "run_demo"]

SAMPLE_BACKUP = Path(__file__).resolve().parents[1] / "sample" / "sample.sqlite"
#: The demo's own Dagster instance and id map, recreated by every demo: its runs
#: link to a fake Looker that lives only as long as the demo, so they never go
#: into the user's own instance.
DEMO_DIR = Path(".lookervault-demo")


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


def browse_command(env: dict[str, str]) -> str:
    """The shell command that opens the Dagster UI on `env`, with the `dagster` of this virtualenv."""
    dagster = Path(sys.executable).parent / "dagster"
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f"{assignments} {shlex.quote(str(dagster))} dev -m lookervault_pipelines.definitions"


def run_demo(*, keep_running: bool = False) -> int:
    """Restore the sample into an empty fake Looker, then again to show that nothing is rewritten.

    Without `keep_running` the demo's instance is deleted when the fake stops,
    so no UI shows runs whose `looker_url` links point at a server that is gone.
    """
    home = DEMO_DIR.resolve()
    shutil.rmtree(home, ignore_errors=True)
    with FakeLooker() as fake:
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
        # The fake is a new, empty instance: ids are mapped, never assumed equal. The name is kept for the
        # backup, so the second restore, and runs launched from the UI, map ids the same way unasked.
        code = restore_backup(str(SAMPLE_BACKUP), source_instance="sample")
        click.echo("\nsecond restore of the same backup (everything should be unchanged):")
        code = max(code, restore_backup(str(SAMPLE_BACKUP)))
        if keep_running:
            click.echo(f"\nfake Looker still serving at {fake.base_url}; Ctrl-C to stop. In another terminal, "
                       f"browse the runs (and launch more into the fake) with:\n  {browse_command(env)}")
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
