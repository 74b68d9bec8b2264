"""What a selection needs that the destination lacks: "restore this and everything it needs"."""

from __future__ import annotations

from collections.abc import Iterable

from ..content_types import ContentType
from ..errors import LookervaultError
from ..graph import TYPE_ORDER, references
from .restorer import Restorer

__all__ = ["missing_requirements"]

Key = tuple[ContentType, str]


def missing_requirements(restorer: Restorer, roots: Iterable[Key]) -> list[Key]:
    """Backup items the roots need, transitively, that Looker lacks, in restore order.

    Follows each item's references (a dashboard's folder, owner and the looks
    its tiles show; a user's groups and roles; a role's sets; a folder's
    parent). A dependency Looker already has — at its mapped id, or at its own
    id when it is provably the backup's object — is used as it is and not
    restored, and its own needs are not followed. Queries need no item: a
    look's query is taken from wherever the backup holds it.
    """
    start = list(dict.fromkeys(roots))
    seen: set[Key] = set(start)
    stack = list(start)
    needed: list[Key] = []
    while stack:
        content_type, item_id = stack.pop()
        try:
            data = restorer.backup.get(content_type, item_id).data
        except LookervaultError:
            continue  # the item fails on its own, with its own error
        for ref in references(content_type, data):
            dep = (ref.content_type, ref.id)
            if dep in seen or not restorer.backup.has(*dep):
                continue
            seen.add(dep)
            if not restorer.present(*dep):
                needed.append(dep)
                stack.append(dep)
    rank = {t: i for i, t in enumerate(TYPE_ORDER)}
    return sorted(needed, key=lambda k: (rank[k[0]], len(k[1]), k[1]))
