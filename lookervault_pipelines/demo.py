"""The README's first command: the bundled sample backup restored into a local fake Looker."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from lookervault_core.testing.fake_looker import FakeLooker

from .cli import restore_backup

__all__ = ["SAMPLE_BACKUP", "run_demo"]

SAMPLE_BACKUP = Path(__file__).resolve().parent / "sample" / "sample.sqlite"


def run_demo(*, keep_running: bool = False) -> int:
    """Restore the sample into an empty fake Looker, then again to show that nothing is rewritten."""
    with FakeLooker() as fake:
        os.environ["LOOKERSDK_BASE_URL"] = fake.base_url
        os.environ["LOOKERSDK_CLIENT_ID"] = fake.client_id
        os.environ["LOOKERSDK_CLIENT_SECRET"] = fake.client_secret
        click.echo(f"fake Looker serving at {fake.base_url}; restoring {SAMPLE_BACKUP.name} into it")
        code = restore_backup(str(SAMPLE_BACKUP))
        click.echo("\nsecond restore of the same backup (everything should be unchanged):")
        code = max(code, restore_backup(str(SAMPLE_BACKUP)))
        click.echo(f"\nDagster instance: {os.environ['DAGSTER_HOME']} (open it with `dagster dev -w workspace.yaml`)")
        if keep_running:
            click.echo(f"fake Looker still serving at {fake.base_url}; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return code
