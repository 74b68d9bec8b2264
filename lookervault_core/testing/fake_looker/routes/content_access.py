"""Folder access: a folder's content metadata (`inherits`) and its access records (group or user, view/edit).

A folder's content metadata is keyed by the folder's `content_metadata_id`
(API description, Folder.content_metadata_id and GET /content_metadata/{id});
the fake keeps `inherits` on the folder record itself (`_inherits`).
"""

from __future__ import annotations

from looker_sdk.sdk.api40 import models as m

from ..api_errors import HttpError, invalid, not_found
from ..ops import new_record, require
from ..render import render
from ..router import Call, Reply, Router
from ..state import Store
from .common import Record

__all__ = ["inherits", "register"]

_PERMISSIONS = ("view", "edit")


def inherits(folder: Record) -> bool:
    """Whether a folder takes its access from its parent.

    A guess, from Looker's folder UI: a new folder inherits its parent's
    access; a root (Shared, Users: no parent) has nothing to inherit.
    """
    stored = folder.get("_inherits")
    if stored is not None:
        return bool(stored)
    return folder.get("parent_id") is not None


def _folder_of(store: Store, cmid: str) -> Record:
    # Only folders carry content metadata in the fake (looks, dashboards and boards
    # have their own in Looker; restore never writes theirs).
    found = store.by("folders", "content_metadata_id", cmid)
    if not found:
        raise not_found()
    return found[0]


def _inheriting_folder(store: Store, folder: Record) -> Record:
    """The folder whose access records apply: the nearest ancestor (or itself) that does not inherit."""
    current = folder
    for _ in range(256):
        if not inherits(current):
            return current
        parent = store.find("folders", current.get("parent_id"))
        if parent is None:
            return current
        current = parent
    return current


def _render_meta(store: Store, folder: Record) -> Record:
    parent = store.find("folders", folder.get("parent_id"))
    source = _inheriting_folder(store, folder)
    return render(store, "content_metadata", {
        "id": folder.get("content_metadata_id"),
        "name": folder.get("name"),
        "parent_id": None if parent is None else parent.get("content_metadata_id"),
        "folder_id": folder["id"],
        # API description, ContentMeta.content_type: "dashboard", "look", or "folder".
        "content_type": "folder",
        "inherits": inherits(folder),
        "inheriting_id": source.get("content_metadata_id"),
        "can": {"show": True, "update": True},
    }, model=m.ContentMeta)


def _get(call: Call) -> object:
    return _render_meta(call.store, _folder_of(call.store, call.params["content_metadata_id"]))


def _own_accesses(store: Store, cmid: object) -> list[Record]:
    return store.by("content_metadata_accesses", "content_metadata_id", str(cmid))


def _copy_accesses(store: Store, folder: Record, source: Record) -> None:
    # Evidence: lmanage (configurator/folder_configuration/create_and_provision_instance_folders.py,
    # check_folder_ancestors): "when you update folder inheritance you will create a content
    # metadata access" -- breaking inheritance copies the access the folder had from its parent.
    cmid = str(folder["content_metadata_id"])
    for access in _own_accesses(store, source.get("content_metadata_id")):
        copy = new_record("content_metadata_accesses", {
            **{k: access.get(k) for k in ("permission_type", "group_id", "user_id")},
            "id": store.next_id("content_metadata_accesses"), "content_metadata_id": cmid})
        store.save("content_metadata_accesses", copy)


def _update(call: Call) -> object:
    # Evidence: lmanage update_folder_inheritance sends WriteContentMeta(inherits=...)
    # through update_content_metadata; the API description: inherits "Can be false only
    # if the associated content is a folder, an agent or a board".
    store = call.store
    folder = _folder_of(store, call.params["content_metadata_id"])
    data = call.write(m.WriteContentMeta, m.ContentMeta, creating=False)
    wanted = data.get("inherits")
    if wanted is not None and bool(wanted) != inherits(folder):
        if wanted and folder.get("parent_id") is None:
            raise invalid("inherits", "invalid", "a root folder has no parent to inherit from")  # a guess
        if not wanted:
            _copy_accesses(store, folder, _inheriting_folder(store, folder))
        else:
            # A guess: inheriting again drops the folder's own access records (Looker's UI
            # then shows the parent's access only).
            for access in _own_accesses(store, folder["content_metadata_id"]):
                store.delete("content_metadata_accesses", str(access["id"]))
        folder = {**folder, "_inherits": bool(wanted)}
        store.save("folders", folder)
    return _render_meta(store, folder)


def _all(call: Call) -> object:
    # API description: GET /content_metadata_access needs content_metadata_id. A guess:
    # a folder that inherits lists no records of its own (they belong to `inheriting_id`).
    cmid = call.arg("content_metadata_id")
    if not cmid:
        raise HttpError(400, "content_metadata_id is required")
    folder = _folder_of(call.store, cmid)
    records = [] if inherits(folder) else _own_accesses(call.store, cmid)
    return [render(call.store, "content_metadata_accesses", r) for r in sorted(records, key=lambda r: int(str(r["id"])))]


def _principal(store: Store, data: dict[str, object]) -> tuple[str | None, str | None]:
    group_id, user_id = data.get("group_id"), data.get("user_id")
    if (group_id is None) == (user_id is None):
        raise invalid("group_id", "invalid", "exactly one of group_id and user_id is required")  # a guess
    # A reference the instance lacks: 404 (terraform-provider-looker #90, looker-cli #129).
    if group_id is not None:
        require(store, "groups", group_id)
    if user_id is not None:
        require(store, "users", user_id)
    return (None if group_id is None else str(group_id), None if user_id is None else str(user_id))


def _permission(data: dict[str, object]) -> str:
    value = data.get("permission_type")
    if value not in _PERMISSIONS:
        # API description, ContentMetaGroupUser.permission_type: "view" or "edit".
        raise invalid("permission_type", "invalid", "permission_type must be view or edit")
    return str(value)


def _create(call: Call) -> object:
    # Evidence: lmanage create_content_metadata_access sends ContentMetaGroupUser
    # {content_metadata_id, permission_type, group_id}; POST answers 200 with the record
    # (API description lists 200, 404, 409, 422).
    store = call.store
    data = call.write(m.ContentMetaGroupUser, None, creating=True)
    folder = _folder_of(store, str(data.get("content_metadata_id")))
    if inherits(folder):
        # A guess, from lmanage: it always sets inherits false before adding access.
        raise invalid("content_metadata_id", "invalid", "the folder inherits its access; set inherits false first")
    group_id, user_id = _principal(store, data)
    permission = _permission(data)
    cmid = str(folder["content_metadata_id"])
    for existing in _own_accesses(store, cmid):
        if existing.get("group_id") == group_id and existing.get("user_id") == user_id:
            # A guess: the 409 the API description lists for this POST.
            raise HttpError(409, "The resource already exists.")
    record = new_record("content_metadata_accesses", {
        "id": store.next_id("content_metadata_accesses"), "content_metadata_id": cmid,
        "permission_type": permission, "group_id": group_id, "user_id": user_id})
    store.save("content_metadata_accesses", record)
    return render(store, "content_metadata_accesses", record)


def _update_access(call: Call) -> object:
    # Evidence: lmanage update_content_metadata_access sends the whole ContentMetaGroupUser
    # (content_metadata_id, permission_type, group_id) by PUT; only the permission changes.
    store = call.store
    record = require(store, "content_metadata_accesses", call.params["content_metadata_access_id"])
    data = call.write(m.ContentMetaGroupUser, None, creating=False)
    updated = {**record, "permission_type": _permission(data)}
    store.save("content_metadata_accesses", updated)
    return render(store, "content_metadata_accesses", updated)


def _delete(call: Call) -> object:
    # Evidence: lmanage remove_content_access calls delete_content_metadata_access; 204 (API description).
    require(call.store, "content_metadata_accesses", call.params["content_metadata_access_id"])
    call.store.delete("content_metadata_accesses", call.params["content_metadata_access_id"])
    return Reply(204)


def register(router: Router) -> None:
    """Add the content metadata and content metadata access routes."""
    router.add("GET", "/content_metadata/{content_metadata_id}", _get)
    router.add("PATCH", "/content_metadata/{content_metadata_id}", _update)
    router.add("GET", "/content_metadata_access", _all)
    router.add("POST", "/content_metadata_access", _create)
    router.add("PUT", "/content_metadata_access/{content_metadata_access_id}", _update_access)
    router.add("DELETE", "/content_metadata_access/{content_metadata_access_id}", _delete)
