"""Folders: Shared, Users and LookML Dashboards are roots; each user has a personal folder below Users."""

from __future__ import annotations

from looker_sdk.sdk.api40 import models as m

from ..api_errors import invalid, not_found
from ..ops import delete_folder_tree, ensure_unique, new_record, reference, require, stamp
from ..render import render
from ..router import Call, Reply, Router
from .common import Record, apply_patch, listing, not_deleted

__all__ = ["FOLDER_FLAGS", "register"]

FOLDER_FLAGS: dict[str, object] = {
    "is_personal": False,
    "is_embed": False,
    "is_shared_root": False,
    "is_users_root": False,
    "is_embed_shared_root": False,
    "is_embed_users_root": False,
}

_SEARCH = {
    "name": "name",
    "id": "id",
    "parent_id": "parent_id",
    "creator_id": "creator_id",
    "is_shared_root": "is_shared_root",
    "is_users_root": "is_users_root",
}


def _is_root(folder: Record) -> bool:
    return bool(folder.get("is_shared_root") or folder.get("is_users_root") or folder.get("parent_id") is None)


def _get(call: Call) -> object:
    return render(call.store, "folders", require(call.store, "folders", call.params["folder_id"]))


def _all(call: Call) -> object:
    return listing(call, "folders", call.store.ordered("folders"), model=m.FolderBase)


def _search(call: Call) -> object:
    return listing(call, "folders", call.store.ordered("folders"), params=_SEARCH)


def _children(call: Call) -> object:
    folder = require(call.store, "folders", call.params["folder_id"])
    return listing(call, "folders", call.store.by("folders", "parent_id", folder["id"]))


def _looks(call: Call) -> object:
    folder = require(call.store, "folders", call.params["folder_id"])
    looks = not_deleted(call.store.by("looks", "folder_id", folder["id"]))
    return listing(call, "looks", looks, model=m.LookWithQuery)


def _dashboards(call: Call) -> object:
    folder = require(call.store, "folders", call.params["folder_id"])
    dashboards = not_deleted(call.store.by("dashboards", "folder_id", folder["id"]))
    return listing(call, "dashboards", dashboards)


def _create(call: Call) -> object:
    store = call.store
    # Evidence: `POST /folders` without `parent_id` answers 404 "The resource
    # you're looking for could not be found" (terraform-provider-looker #90);
    # an unknown parent answers the same (looker-cli #129: a create naming what
    # the instance lacks is 404), not 422.
    parent = call.json_object().get("parent_id")
    if parent is None or store.find("folders", str(parent)) is None:
        raise not_found()
    data = call.write(m.CreateFolder, m.Folder, creating=True)
    ensure_unique(store, "folders", data)
    folder = new_record(
        "folders",
        {
            **FOLDER_FLAGS,
            **data,
            "id": store.next_id("folders"),
            "creator_id": call.user_id,
            "content_metadata_id": store.next_id("content_metadata"),
        },
    )
    stamp(folder, created=True)
    store.save("folders", folder)
    return render(store, "folders", folder)


def _update(call: Call) -> object:
    store = call.store
    folder = require(store, "folders", call.params["folder_id"])
    data = call.write(m.UpdateFolder, m.Folder, creating=False)
    if "name" in data and not data["name"]:
        raise invalid("name", "missing", "name is required")
    new_parent = data.get("parent_id", folder.get("parent_id"))
    moving = "parent_id" in data and data["parent_id"] != folder.get("parent_id")
    if _is_root(folder) and (moving or data.get("name", folder["name"]) != folder["name"]):
        raise invalid("id", "invalid", "a root folder cannot be renamed or moved")
    if moving:
        if folder.get("is_personal"):
            raise invalid("parent_id", "invalid", "a personal folder cannot be moved")
        parent: Record | None = reference(store, "folders", new_parent, "parent_id")
        for _ in range(256):
            if parent is None:
                break
            if parent["id"] == folder["id"]:
                raise invalid("parent_id", "invalid", "a folder cannot move into itself or its descendants")
            parent = store.find("folders", parent.get("parent_id"))
    updated = dict(folder)
    apply_patch(updated, data)
    ensure_unique(store, "folders", updated, exclude=str(folder["id"]))
    store.save("folders", updated)
    return render(store, "folders", updated)


def _delete(call: Call) -> object:
    folder = require(call.store, "folders", call.params["folder_id"])
    if _is_root(folder) or folder.get("is_personal"):
        raise invalid("id", "invalid", "system and personal folders cannot be deleted")
    delete_folder_tree(call.store, str(folder["id"]), call.user_id)
    return Reply(204)


def register(router: Router) -> None:
    """Add the folder routes."""
    router.add("GET", "/folders/search", _search)
    router.add("GET", "/folders/{folder_id}", _get)
    router.add("GET", "/folders", _all)
    router.add("POST", "/folders", _create)
    router.add("PATCH", "/folders/{folder_id}", _update)
    router.add("DELETE", "/folders/{folder_id}", _delete)
    router.add("GET", "/folders/{folder_id}/children", _children)
    router.add("GET", "/folders/{folder_id}/looks", _looks)
    router.add("GET", "/folders/{folder_id}/dashboards", _dashboards)
