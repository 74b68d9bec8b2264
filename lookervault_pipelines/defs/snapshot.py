"""Taking a snapshot of the live Looker instance: the `lookervault snapshot` command and `snapshot_job`.

Both are thin adapters around `lookervault_core.snapshot.take_snapshot`; the
Looker connection comes from the LOOKERSDK_* variables (the CLI) or the
`looker` resource (the job), as for restores.
"""

from pathlib import Path

import click
import dagster as dg
from pydantic import Field

from lookervault_core.errors import LookervaultError
from lookervault_core.looker import LookerSettings, connect
from lookervault_core.snapshot import SnapshotProgress, SnapshotSummary, take_snapshot

from .resources import LookerResource

__all__ = ["SnapshotConfig", "snapshot_command", "snapshot_job"]

#: A progress line every this many items of one type (and one when the type is done).
_EVERY = 500


def _describe(summary: SnapshotSummary) -> str:
    counts = ", ".join(f"{n} {ct.plural}" for ct, n in summary.counts.items() if n)
    line = (f"snapshot: {summary.total} items ({counts or 'none'}) in {summary.duration_s:.1f} s, "
            f"{summary.api_calls} API calls -> {summary.path}")
    if summary.skipped:
        line += f"; gone while read, not in the snapshot: {', '.join(summary.skipped)}"
    return line


# --- CLI ------------------------------------------------------------------------------------


def _echo_progress(p: SnapshotProgress) -> None:
    if p.finished or p.count % _EVERY == 0:
        click.echo(f"  {p.content_type.plural}: {p.count}{'' if p.finished else ' ...'}", err=True)


@click.command("snapshot")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="backup file to write (LookerVault format, schema v4)")
@click.option("--force", is_flag=True, help="replace --out if it exists")
@click.option("--page-size", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="objects per page of each listing")
def snapshot_command(out: Path, force: bool, page_size: int) -> None:
    """Write the Looker instance of LOOKERSDK_* to a backup, complete where LookerVault is not.

    Looks with their queries, dashboards with tiles, filter bindings, tabs and
    merge queries, boards with sections and items, users with roles, groups and
    email. The file appears only when complete. Exits 1 on failure.
    """
    if out.exists() and not force:
        raise click.ClickException(f"{out} exists; use --force to replace it")
    try:
        settings = LookerSettings.from_env()
        click.echo(f"snapshot of {settings.host} -> {out}", err=True)
        with connect(settings) as client:
            summary = take_snapshot(client, out, overwrite=force, page_size=page_size, progress=_echo_progress)
    except (LookervaultError, OSError) as exc:
        raise click.ClickException(f"snapshot failed, {out} not written: {exc}") from exc
    click.echo(_describe(summary))


# --- Dagster ---------------------------------------------------------------------------------


class SnapshotConfig(dg.Config):
    """Where to write the snapshot."""

    out: str = Field(description="path of the backup file to write (LookerVault format)")
    overwrite: bool = Field(default=False, description="replace the file if it exists")
    page_size: int = Field(default=100, description="objects per page of each listing")


@dg.op(pool="looker_api", out=dg.Out(dg.Nothing))
def take_looker_snapshot(context: dg.OpExecutionContext, config: SnapshotConfig, looker: LookerResource) -> None:
    """Write the live instance to `out` as a LookerVault backup; the file appears only when complete."""

    def log(p: SnapshotProgress) -> None:
        if p.finished:
            context.log.info(f"{p.content_type.plural}: {p.count}")

    try:
        with looker.connect() as client:
            summary = take_snapshot(client, config.out, overwrite=config.overwrite, page_size=config.page_size,
                                    progress=log)
    except (LookervaultError, OSError) as exc:
        raise dg.Failure(description=f"snapshot failed, {config.out} not written: {exc}") from exc
    context.log.info(_describe(summary))
    context.add_output_metadata({
        "path": dg.MetadataValue.path(str(summary.path)),
        "items": summary.total,
        "counts": dg.MetadataValue.json({ct.plural: n for ct, n in summary.counts.items()}),
        "skipped": dg.MetadataValue.json(list(summary.skipped)),
        "api_calls": summary.api_calls,
        "duration_s": round(summary.duration_s, 3),
    })


@dg.job(description="Snapshot the live Looker instance to a backup file (config: out), complete where "
                    "LookerVault's extraction is not: looks with queries, dashboards with every part.")
def snapshot_job() -> None:
    take_looker_snapshot()
