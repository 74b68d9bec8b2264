"""Restore of a board with its sections and items.

Looker quirk: `section_order` on the board and `item_order` on each section
hold ids, so they are written last, after the sections and items they name
exist and their destination ids are known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import writable_fields
from ..graph import Ref
from .item import ItemRun, Payload, as_dict
from .payload import body_from, mappings, sequence
from .result import Action, RestoreResult

__all__ = ["restore_board"]

_SECTION = writable_fields(m.WriteBoardSection) - {"board_id", "item_order"}
_ITEM = writable_fields(m.WriteBoardItem) - {"board_section_id", "dashboard_id", "look_id"}


def _ids(value: object) -> list[str]:
    return [str(v) for v in sequence(value)]


def _same_board(item_run: ItemRun, body: Payload) -> Payload | None:
    """A board restored earlier whose id was never recorded (an interrupted run).

    Boards have no unique key in Looker: the exact title, description and
    owner together are taken as this board.
    """
    title = str(body.get("title") or "")
    if not title:
        return None
    for found in map(as_dict, item_run.call(lambda: item_run.sdk.search_boards(title=title))):
        if all(str(found.get(f) or "") == str(body.get(f) or "") for f in ("title", "description", "user_id")):
            full = item_run.get(lambda: item_run.sdk.board(str(found["id"])))
            if full is not None:
                item_run.remember(CT.BOARD.label, item_run.source_id, str(full["id"]))
            return full
    return None


def _same_section(section: Mapping[str, object], live: Mapping[str, Mapping[str, object]],
                  taken: Iterable[str]) -> Mapping[str, object] | None:
    # A section created by an interrupted run: the same title on this board.
    used = set(taken)
    return next((s for i, s in live.items() if i not in used and s.get("title") == section.get("title")), None)


def _new_part(item_run: ItemRun, board_id: str | None, section_id: str | None, wanted: Mapping[str, object],
              known: set[str]) -> Payload | None:
    """A section (or, given `section_id`, an item of it) this restore made but whose answer was lost.

    Sections and items have no unique key in Looker: one the board did not
    have when this restore read it, with the section's title (the item's
    dashboard or look), is the one made.
    """
    if board_id is None:
        return None
    board = item_run.get(lambda: item_run.sdk.board(board_id)) or {}
    sections = mappings(board.get("board_sections"))
    if section_id is None:
        return next((dict(s) for s in sections if str(s.get("id")) not in known
                     and s.get("title") == wanted.get("title")), None)
    items = [i for s in sections if str(s.get("id")) == section_id for i in mappings(s.get("board_items"))]
    return next((dict(i) for i in items if str(i.get("id")) not in known
                 and all(str(i.get(f) or "") == str(wanted.get(f) or "") for f in ("dashboard_id", "look_id"))), None)


def restore_board(item_run: ItemRun) -> RestoreResult:
    sdk, data = item_run.sdk, item_run.data
    body = item_run.body(frozenset({"section_order", "user_id"}))
    if data.get("user_id") is not None:
        owner = item_run.require(Ref(CT.USER, str(data["user_id"]), "user_id", hard=False))
        if owner is not None:
            body["user_id"] = owner
    # Check every item's target before writing anything, so a missing
    # dashboard fails the board without leaving half of it behind.
    targets: dict[tuple[str, str], str | None] = {}
    for section in mappings(data.get("board_sections")):
        for item in mappings(section.get("board_items")):
            for field, ct in (("dashboard_id", CT.DASHBOARD), ("look_id", CT.LOOK)):
                if item.get(field) is not None:
                    targets[(str(item.get("id")), field)] = item_run.require(
                        Ref(ct, str(item[field]), f"board_items[{item.get('id')}].{field}"))
    live_board = item_run.counterpart(sdk.board) or _same_board(item_run, body)
    action, board_id, after = item_run.upsert(None, body, get=sdk.board, create=sdk.create_board,  # type: ignore[arg-type]
                                         update=sdk.update_board, live=live_board,  # type: ignore[arg-type]
                                         find=lambda: _same_board(item_run, body))
    if action is Action.SKIPPED:
        return item_run.finish(action, board_id, after)
    live = after or {}
    live_sections = {str(s.get("id")): s for s in mappings(live.get("board_sections"))}
    section_ids: dict[str, str] = {}
    for section in mappings(data.get("board_sections")):
        src = str(section.get("id"))
        live_section = live_sections.get(item_run.resolve("board_section", src) or "") or _same_section(
            section, live_sections, section_ids.values())
        sec_id = item_run.upsert_part("board_sections", src, body_from(section, _SECTION), live_section,
                                 create=sdk.create_board_section,  # type: ignore[arg-type]
                                 update=sdk.update_board_section,  # type: ignore[arg-type]
                                 create_body={**body_from(section, _SECTION), "board_id": board_id},
                                 find=lambda: _new_part(item_run, board_id, None, section, {*live_sections,
                                                                                       *section_ids.values()}))
        if sec_id is None:
            continue
        section_ids[src] = sec_id
        if live_section is None:
            item_run.remember("board_section", src, sec_id)
        live_items = {str(i.get("id")): i for i in mappings((live_section or {}).get("board_items"))}
        item_ids: dict[str, str] = {}
        for item in mappings(section.get("board_items")):
            isrc = str(item.get("id"))
            wanted = body_from(item, _ITEM)
            for field in ("dashboard_id", "look_id"):
                if (isrc, field) in targets:
                    # None only in a dry run whose restore would create the target first.
                    wanted[field] = targets[(isrc, field)]
            live_item = live_items.get(item_run.resolve("board_item", isrc) or "") or next(
                (i for i in live_items.values() if str(i["id"]) not in item_ids.values()
                 and all(str(i.get(f) or "") == str(wanted.get(f) or "") for f in ("dashboard_id", "look_id"))),
                None)
            item_id = item_run.upsert_part("board_items", isrc, wanted, live_item,
                                      create=sdk.create_board_item,  # type: ignore[arg-type]
                                      update=sdk.update_board_item,  # type: ignore[arg-type]
                                      create_body={**wanted, "board_section_id": sec_id},
                                      find=lambda: _new_part(item_run, board_id, sec_id, wanted,
                                                             {*live_items, *item_ids.values()}))
            if item_id is not None:
                item_ids[isrc] = item_id
                if live_item is None:
                    item_run.remember("board_item", isrc, item_id)
        order = [item_ids.get(i) or item_run.resolve("board_item", i) or i for i in _ids(section.get("item_order"))]
        item_run.upsert_part("board_sections", src, {"item_order": order}, {**(live_section or {}), "id": sec_id},
                        update=sdk.update_board_section)  # type: ignore[arg-type]
    if board_id is not None and "section_order" in data:
        order = [section_ids.get(s) or item_run.resolve("board_section", s) or s for s in _ids(data.get("section_order"))]
        item_run.upsert_part("board", item_run.source_id, {"section_order": order}, {**live, "id": board_id},
                        update=sdk.update_board)  # type: ignore[arg-type]
    return item_run.finish(action, board_id, live)

