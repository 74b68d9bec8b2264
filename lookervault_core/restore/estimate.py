"""Calls creating an item makes that a dry run cannot walk, for the estimate of a real restore's API calls.

Google Cloud core editions meter administrative API calls per month, so the
preflight says how many a restore will make. A dry run counts its own reads
and the writes it leaves out (`ItemRun.planned_calls`), including the create
of each part of an item it would create (a dashboard's filters, tabs and
tiles, a board's sections and items). What needs the new item's id to be
decided at all is never reached; it is counted here from the backup's blob,
one call per object as restore sends them (dashboards.py `place`, access.py,
boards.py), checked against the fake's request log (tests/integration/
test_cli_estimate.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..content_types import ContentType as CT

__all__ = ["creation_calls"]


def _list(value: object) -> Sequence[Mapping[str, object]]:
    return [x for x in value if isinstance(x, Mapping)] if isinstance(value, list) else []


def _dashboard(data: Mapping[str, object]) -> int:
    layouts = _list(data.get("dashboard_layouts"))
    components = sum(len(_list(x.get("dashboard_layout_components"))) for x in layouts)
    # Placing the new tiles: one read of the dashboard's layouts, one patch per tile position.
    return (1 + components) if components else 0


def _user(data: Mapping[str, object]) -> int:
    groups = data.get("group_ids")
    # The email login, per group a read and the membership, then its roles at once.
    return ((1 if data.get("email") else 0) + 2 * (len(groups) if isinstance(groups, list) else 0)
            + (1 if data.get("role_ids") else 0))


def _board(data: Mapping[str, object]) -> int:
    sections = _list(data.get("board_sections"))
    # Each section's item order, then the board's section order.
    return len(sections) + 1 if sections else 0


def creation_calls(ct: CT, data: Mapping[str, object]) -> int:
    """Calls creating this item makes beyond those a dry run counts (its own reads, the writes it skips)."""
    if ct is CT.DASHBOARD:
        return _dashboard(data)
    if ct is CT.USER:
        return _user(data)
    if ct is CT.BOARD:
        return _board(data)
    return 0
