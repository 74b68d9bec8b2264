"""Boards, their sections and the items in them.

A board's `section_order` and a section's `item_order` list child ids; a new
child is appended, a deleted one removed.
"""

from __future__ import annotations

from looker_sdk.sdk.api40 import models as m

from ..api_errors import invalid
from ..ops import delete_board, delete_board_section, new_record, reference, require, stamp
from ..render import render
from ..router import Call, Reply, Router
from ..state import id_list
from .common import Record, apply_patch, listing

__all__ = ["register"]

_SEARCH = {
    "title": "title",
    "created_at": "created_at",
    "creator_id": "user_id",
}


def _check_order(call: Call, record: Record, key: str, children: list[str]) -> None:
    order = record.get(key)
    if order is None:
        return
    if not isinstance(order, list):
        raise invalid(key, "invalid", f"{key} must be a list of ids")
    for child in order:
        if str(child) not in children:
            raise invalid(key, "invalid", f"{key} lists {child!r}, which is not a child of this object")


# --- boards ------------------------------------------------------------------------------


def _get(call: Call) -> object:
    return render(call.store, "boards", require(call.store, "boards", call.params["board_id"]))


def _all(call: Call) -> object:
    boards = [b for b in call.store.ordered("boards") if not b.get("deleted_at")]
    return listing(call, "boards", boards)


def _search(call: Call) -> object:
    boards = [b for b in call.store.ordered("boards") if not b.get("deleted_at")]
    return listing(call, "boards", boards, params=_SEARCH)


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteBoard, m.Board, creating=True)
    if not data.get("title"):
        raise invalid("title", "missing", "title is required")
    if data.get("section_order"):
        raise invalid("section_order", "invalid", "a new board has no sections to order")
    board = new_record(
        "boards",
        {
            "user_id": call.user_id,
            "primary_homepage": False,
            **{k: v for k, v in data.items() if v is not None},
            "section_order": [],
            "id": store.next_id("boards"),
            "content_metadata_id": store.next_id("content_metadata"),
        },
    )
    if board.get("user_id") is not None:
        reference(store, "users", board["user_id"], "user_id")
    stamp(board, created=True)
    store.save("boards", board)
    return render(store, "boards", board)


def _update(call: Call) -> object:
    store = call.store
    board = require(store, "boards", call.params["board_id"])
    data = call.write(m.WriteBoard, m.Board, creating=False)
    if "title" in data and not data["title"]:
        raise invalid("title", "missing", "title is required")
    updated = dict(board)
    apply_patch(updated, data)
    _check_order(call, updated, "section_order", store.ids_by("board_sections", "board_id", board["id"]))
    if updated.get("section_order") is not None:
        updated["section_order"] = id_list(updated["section_order"])
    stamp(updated, created=False)
    store.save("boards", updated)
    return render(store, "boards", updated)


def _delete(call: Call) -> object:
    board = require(call.store, "boards", call.params["board_id"])
    delete_board(call.store, str(board["id"]))
    return Reply(204)


# --- sections ----------------------------------------------------------------------------


def _get_section(call: Call) -> object:
    section = require(call.store, "board_sections", call.params["board_section_id"])
    return render(call.store, "board_sections", section)


def _all_sections(call: Call) -> object:
    return listing(call, "board_sections", call.store.ordered("board_sections"))


def _create_section(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteBoardSection, m.BoardSection, creating=True)
    if not data.get("board_id"):
        raise invalid("board_id", "missing", "board_id is required")
    board = reference(store, "boards", data["board_id"], "board_id")
    if data.get("item_order"):
        raise invalid("item_order", "invalid", "a new section has no items to order")
    section = new_record(
        "board_sections",
        {**{k: v for k, v in data.items() if v is not None}, "item_order": [], "id": store.next_id("board_sections")},
    )
    stamp(section, created=True)
    store.save("board_sections", section)
    board["section_order"] = [*id_list(board.get("section_order")), section["id"]]
    return render(store, "board_sections", section)


def _update_section(call: Call) -> object:
    store = call.store
    section = require(store, "board_sections", call.params["board_section_id"])
    data = call.write(m.WriteBoardSection, m.BoardSection, creating=False)
    if "board_id" in data and data["board_id"] != section.get("board_id"):
        raise invalid("board_id", "invalid", "a section cannot move to another board")
    updated = dict(section)
    apply_patch(updated, data)
    _check_order(call, updated, "item_order", store.ids_by("board_items", "board_section_id", section["id"]))
    if updated.get("item_order") is not None:
        updated["item_order"] = id_list(updated["item_order"])
    stamp(updated, created=False)
    store.save("board_sections", updated)
    return render(store, "board_sections", updated)


def _delete_section(call: Call) -> object:
    store = call.store
    section = require(store, "board_sections", call.params["board_section_id"])
    board = store.find("boards", section.get("board_id"))
    if board is not None:
        board["section_order"] = [s for s in id_list(board.get("section_order")) if s != section["id"]]
    delete_board_section(store, str(section["id"]))
    return Reply(204)


# --- items -------------------------------------------------------------------------------


def _check_item(call: Call, item: Record) -> None:
    store = call.store
    targets = [k for k in ("dashboard_id", "look_id", "lookml_dashboard_id", "custom_url") if item.get(k)]
    if not targets:
        raise invalid(
            "dashboard_id", "missing", "a board item needs a dashboard_id, look_id, lookml_dashboard_id or custom_url"
        )
    if item.get("dashboard_id"):
        reference(store, "dashboards", item["dashboard_id"], "dashboard_id")
    if item.get("look_id"):
        reference(store, "looks", item["look_id"], "look_id")


def _get_item(call: Call) -> object:
    return render(call.store, "board_items", require(call.store, "board_items", call.params["board_item_id"]))


def _all_items(call: Call) -> object:
    items = call.store.ordered("board_items")
    section_id = call.arg("board_section_id")
    if section_id:
        items = [i for i in items if i.get("board_section_id") == section_id]
    return listing(call, "board_items", items)


def _create_item(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteBoardItem, m.BoardItem, creating=True)
    if not data.get("board_section_id"):
        raise invalid("board_section_id", "missing", "board_section_id is required")
    section = reference(store, "board_sections", data["board_section_id"], "board_section_id")
    item = new_record(
        "board_items",
        {
            "use_custom_title": False,
            "use_custom_description": False,
            "use_custom_url": False,
            "use_custom_image": False,
            **{k: v for k, v in data.items() if v is not None},
            "id": store.next_id("board_items"),
        },
    )
    _check_item(call, item)
    store.save("board_items", item)
    section["item_order"] = [*id_list(section.get("item_order")), item["id"]]
    return render(store, "board_items", item)


def _update_item(call: Call) -> object:
    store = call.store
    item = require(store, "board_items", call.params["board_item_id"])
    data = call.write(m.WriteBoardItem, m.BoardItem, creating=False)
    updated = dict(item)
    apply_patch(updated, data)
    new_section = updated.get("board_section_id")
    if new_section != item.get("board_section_id"):
        target = reference(store, "board_sections", new_section, "board_section_id")
        old = store.find("board_sections", item.get("board_section_id"))
        if old is not None:
            old["item_order"] = [i for i in id_list(old.get("item_order")) if i != item["id"]]
        target["item_order"] = [*id_list(target.get("item_order")), item["id"]]
    _check_item(call, updated)
    store.save("board_items", updated)
    return render(store, "board_items", updated)


def _delete_item(call: Call) -> object:
    store = call.store
    item = require(store, "board_items", call.params["board_item_id"])
    section = store.find("board_sections", item.get("board_section_id"))
    if section is not None:
        section["item_order"] = [i for i in id_list(section.get("item_order")) if i != item["id"]]
    store.delete("board_items", str(item["id"]))
    return Reply(204)


def register(router: Router) -> None:
    """Add the board routes."""
    router.add("GET", "/boards/search", _search)
    router.add("GET", "/boards/{board_id}", _get)
    router.add("GET", "/boards", _all)
    router.add("POST", "/boards", _create)
    router.add("PATCH", "/boards/{board_id}", _update)
    router.add("DELETE", "/boards/{board_id}", _delete)
    router.add("GET", "/board_sections/{board_section_id}", _get_section)
    router.add("GET", "/board_sections", _all_sections)
    router.add("POST", "/board_sections", _create_section)
    router.add("PATCH", "/board_sections/{board_section_id}", _update_section)
    router.add("DELETE", "/board_sections/{board_section_id}", _delete_section)
    router.add("GET", "/board_items/{board_item_id}", _get_item)
    router.add("GET", "/board_items", _all_items)
    router.add("POST", "/board_items", _create_item)
    router.add("PATCH", "/board_items/{board_item_id}", _update_item)
    router.add("DELETE", "/board_items/{board_item_id}", _delete_item)
