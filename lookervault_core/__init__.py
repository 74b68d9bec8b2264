"""LookerVault Restore core: read LookerVault backups and restore them into Looker.

A plain library with no Dagster in it; `lookervault_pipelines` orchestrates it.
"""

from .content_types import ContentType
from .errors import LookervaultError

__all__ = ["ContentType", "LookervaultError"]
