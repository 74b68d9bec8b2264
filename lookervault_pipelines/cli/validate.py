"""`lookervault validate` and `restore --validate`: Looker's content validator over what the backup restored."""

from __future__ import annotations

import json

import click

from lookervault_core.errors import LookervaultError
from lookervault_core.validation import ContentCheck, validate_restored

from ..defs.resources import BackupResource, LookerResource, RestoreStateResource

__all__ = ["content_report", "validate_backup"]


def validate_backup(backup_path: str, source_instance: str | None) -> ContentCheck:
    """One content_validation call, narrowed to the backup's restored looks and dashboards (reads only).

    Raises:
        click.ClickException: the backup, Looker or the id map cannot be read, or Looker refused.
    """
    try:
        with BackupResource(path=backup_path).open() as reader, LookerResource().connect(threads=1) as client, \
                RestoreStateResource(source_instance=source_instance).idmap(client.settings.instance_id,
                                                                            reader) as idmap:
            return validate_restored(client, reader, idmap)
    except LookervaultError as exc:
        raise click.ClickException(f"content not validated: {exc}") from exc


def content_report(check: ContentCheck, as_json: bool) -> int:
    """Print each broken restored item with its errors (a section of the report); 1 when any, else 0."""
    broken = [b for items in check.broken.values() for b in items]
    if as_json:
        click.echo(json.dumps({"content_errors": [
            {"content_type": b.content_type.plural, "id": b.source_id, "looker_id": b.looker_id, "title": b.title,
             "errors": list(b.errors)} for b in broken]}, indent=2))
    else:
        counted = ", ".join(f"{len(items)} {ct.plural}" for ct, items in check.broken.items() if items)
        click.echo(f"content validation: {counted + ' with errors' if broken else 'no restored content has errors'}"
                   f" (Looker validated in {check.computation_time:.1f} s)")
        for b in broken:
            click.echo(f"  {b.describe()}")
    return 1 if broken else 0
