"""How a person finds a backup item: its title, and the folders it is in.

Partition keys, dead letters and the id map use content ids, which differ
between instances and mean nothing to a Looker admin looking for "Sales
Overview". The backup's `name` column holds each item's title (else its name,
else a placeholder such as `Untitled 5` for users, who have neither: then the
blob's name or email is used), and folder rows give the path of the folders
a dashboard, look or folder sits in.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .backup import BackupItem, BackupReader, BackupRow
from .content_types import ContentType
from .errors import LookervaultError

__all__ = ["ItemTitle", "Titles", "matching_titles"]

#: Folders deeper than this are cut at the top of their path (a parent cycle in a damaged backup ends there too).
_MAX_DEPTH = 32
_FOLDERED = frozenset({ContentType.DASHBOARD, ContentType.LOOK, ContentType.FOLDER})
#: Blob fields naming an item whose row has only a placeholder name (users), in order of preference.
_NAME_FIELDS = ("display_name", "title", "name", "email")


@dataclass(frozen=True)
class ItemTitle:
    """An item's title ("" when the backup has none) and the path of the folders it is in ("" when unknown)."""

    title: str
    folder_path: str = ""

    def describe(self) -> str:
        """`"Sales Overview" in Shared / Sales`, for messages; "" when nothing is known."""
        text = f'"{self.title}"' if self.title else ""
        if self.folder_path:
            text += f"{' ' if text else ''}in {self.folder_path}"
        return text


def _placeholder(row: BackupRow) -> bool:
    # LookerVault writes `Untitled N` (parallel extractor) or the bare id (sequential) when an object
    # has neither title nor name: users (backup-format.md, "What real files look like").
    return not row.name.strip() or row.name in (row.id, row.raw_id, f"Untitled {row.id}")


def _name_in(data: Mapping[str, object]) -> str:
    first, last = data.get("first_name"), data.get("last_name")
    if isinstance(first, str) and isinstance(last, str) and (first or last):
        return f"{first} {last}".strip()
    for field in _NAME_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


class Titles:
    """Titles and folder paths of one backup's items; the folder tree is read once, on first need."""

    def __init__(self, reader: BackupReader) -> None:
        self.reader = reader
        self._folders: dict[str, tuple[str, str | None]] | None = None
        #: Titles read from blobs (placeholder names), by (type, id): each blob is decoded once.
        self._from_blobs: dict[tuple[ContentType, str], str] = {}

    def _folder_tree(self) -> dict[str, tuple[str, str | None]]:
        """Folder id -> (name, parent id), from the folder rows (a corrupt row keeps its name, loses its parent)."""
        if self._folders is None:
            parents = self.reader.folder_parents()
            self._folders = {row.id: (row.name, parents.get(row.id))
                             for row in self.reader.rows(ContentType.FOLDER)}
        return self._folders

    def folder_path(self, folder_id: str | None) -> str:
        """`Sales / Regional Sales`: the names of the folder and its ancestors that the backup holds."""
        tree = self._folder_tree()
        names: list[str] = []
        seen: set[str] = set()
        while folder_id is not None and folder_id in tree and folder_id not in seen and len(names) < _MAX_DEPTH:
            seen.add(folder_id)
            name, folder_id = tree[folder_id]
            names.append(name)
        return " / ".join(reversed(names))

    def title(self, row: BackupRow) -> str:
        """The row's title; for a placeholder name, the name or email its blob holds ("" when unreadable)."""
        if not _placeholder(row):
            return row.name
        key = (row.content_type, row.id)
        if key not in self._from_blobs:
            try:
                item = self.reader.get(row.content_type, row.raw_id)
            except LookervaultError:
                self._from_blobs[key] = "" if row.name.startswith("Untitled") else row.name
            else:
                self._from_blobs[key] = _name_in(item.data) if isinstance(item, BackupItem) else ""
        return self._from_blobs[key]

    def of_row(self, row: BackupRow) -> ItemTitle:
        if row.content_type not in _FOLDERED:
            return ItemTitle(self.title(row))
        if row.content_type is ContentType.FOLDER:
            parent = self._folder_tree().get(row.id, ("", None))[1]
            return ItemTitle(self.title(row), self.folder_path(parent))
        return ItemTitle(self.title(row), self.folder_path(row.folder_id))

    def of(self, content_type: ContentType, ids: Iterable[str]) -> dict[str, ItemTitle]:
        """Titles of these items of one type; an id the backup does not hold is left out.

        Reads the type's rows once (no blobs, but for placeholder names), so
        tens of thousands of keys cost one pass.
        """
        wanted = set(ids)
        return {row.id: self.of_row(row) for row in self.reader.rows(content_type) if row.id in wanted}


def matching_titles(titles: Titles, rows: Sequence[BackupRow], patterns: Sequence[str]) -> list[BackupRow]:
    """The rows whose title matches any of the shell-style `patterns` (`Sales*`), ignoring case."""
    folded = [p.casefold() for p in patterns]
    return [row for row in rows
            if any(fnmatch.fnmatchcase(titles.title(row).casefold(), p) for p in folded)]
