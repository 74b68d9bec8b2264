"""The README's first command: the bundled sample backup restored into a local fake Looker."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType
from lookervault_core.testing.fake_looker import FakeLooker

from .cli import restore_backup

__all__ = ["SAMPLE_BACKUP", "run_demo"]

SAMPLE_BACKUP = Path(__file__).resolve().parent / "sample" / "sample.sqlite"


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


def run_demo(*, keep_running: bool = False) -> int:
    """Restore the sample into an empty fake Looker, then again to show that nothing is rewritten."""
    with FakeLooker() as fake:
        deploy_sample_lookml(fake)
        os.environ["LOOKERSDK_BASE_URL"] = fake.base_url
        os.environ["LOOKERSDK_CLIENT_ID"] = fake.client_id
        os.environ["LOOKERSDK_CLIENT_SECRET"] = fake.client_secret
        click.echo(f"fake Looker serving at {fake.base_url}; restoring {SAMPLE_BACKUP.name} into it")
        # The fake is a new, empty instance: ids are mapped, never assumed equal.
        code = restore_backup(str(SAMPLE_BACKUP), source_instance="sample")
        click.echo("\nsecond restore of the same backup (everything should be unchanged):")
        code = max(code, restore_backup(str(SAMPLE_BACKUP), source_instance="sample"))
        home = os.environ["DAGSTER_HOME"]
        click.echo(f"\nruns recorded in {home}; browse them with: DAGSTER_HOME={home} dagster dev -w workspace.yaml")
        if keep_running:
            click.echo(f"fake Looker still serving at {fake.base_url}; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return code
