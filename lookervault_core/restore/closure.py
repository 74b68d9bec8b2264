"""What a selection needs that the destination lacks: "restore this and everything it needs"."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ..content_types import ContentType
from ..errors import LookervaultError
from ..graph import TYPE_ORDER, references
from .restorer import Restorer

__all__ = ["missing_requirements"]

Key = tuple[ContentType, str]


#: Presence checks of one frontier in flight at once: reads only, a handful per selection.
_CONCURRENT_CHECKS = 8


def missing_requirements(restorer: Restorer, roots: Iterable[Key]) -> list[Key]:
    """Backup items the roots need, transitively, that Looker lacks, in restore order.

    Follows each item's references (a dashboard's folder, owner and the looks
    its tiles show; a user's groups and roles; a role's sets; a folder's
    parent). A dependency Looker already has — at its mapped id, or at its own
    id when it is provably the backup's object — is used as it is and not
    restored, and its own needs are not followed. Queries need no item: a
    look's query is taken from wherever the backup holds it.

    The walk goes breadth first and checks a whole frontier's presence at
    once: each check is one GET, so a dashboard's folder, owner and looks cost
    one round trip instead of one each (these reads come before its first
    write, in the wait of a one-item restore).
    """
    start = list(dict.fromkeys(roots))
    seen: set[Key] = set(start)
    frontier = start
    needed: list[Key] = []
    with ThreadPoolExecutor(max_workers=_CONCURRENT_CHECKS, thread_name_prefix="requirements") as pool:
        while frontier:
            deps: list[Key] = []
            for content_type, item_id in frontier:
                try:
                    data = restorer.backup.get(content_type, item_id).data
                except LookervaultError:
                    continue  # the item fails on its own, with its own error
                for ref in references(content_type, data):
                    dep = (ref.content_type, ref.id)
                    if dep not in seen and restorer.backup.has(*dep):
                        seen.add(dep)
                        deps.append(dep)
            present = list(pool.map(lambda key: restorer.present(*key), deps))
            frontier = [dep for dep, here in zip(deps, present) if not here]
            needed.extend(frontier)
    rank = {t: i for i, t in enumerate(TYPE_ORDER)}
    return sorted(needed, key=lambda k: (rank[k[0]], len(k[1]), k[1]))
