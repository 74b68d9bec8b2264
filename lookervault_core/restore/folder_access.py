"""Restore of who may see and edit a folder: its `inherits` flag and its access records.

Access is only added (or raised from view to edit) unless the Restorer was
asked for `exact_access`: then access the backup does not describe is removed,
edit lowered to view, and a folder the backup shows inheriting inherits again.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..content_types import ContentType as CT
from ..errors import ValidationFailed
from ..graph import Ref
from .item import ItemRun, Payload, as_dict
from .payload import sequence
from .result import Action, RestoreResult

__all__ = ["restore_folder_access"]

#: (kind, destination id): ("group", "7") or ("user", "12").
Principal = tuple[str, str]
_RANK = {"view": 1, "edit": 2}


def _principal(access: Mapping[str, object]) -> Principal | None:
    if access.get("group_id") is not None:
        return ("group", str(access["group_id"]))
    if access.get("user_id") is not None:
        return ("user", str(access["user_id"]))
    return None


def _wanted(item_run: ItemRun) -> dict[Principal, str]:
    """The backup's access records with destination group and user ids."""
    out: dict[Principal, str] = {}
    for access in sequence(item_run.data.get("accesses")):
        if not isinstance(access, Mapping):
            continue
        source = _principal(access)
        if source is None:
            continue
        kind, source_id = source
        ct = CT.GROUP if kind == "group" else CT.USER
        dest = item_run.require(Ref(ct, source_id, f"accesses.{kind}_id"))
        if dest is not None:
            out[(kind, dest)] = str(access.get("permission_type") or "view")
    return out


def _live_accesses(item_run: ItemRun, cmid: str) -> dict[Principal, Payload]:
    found = item_run.call(lambda: item_run.sdk.all_content_metadata_accesses(cmid))
    out: dict[Principal, Payload] = {}
    for record in found if isinstance(found, list) else []:
        access = as_dict(record)
        principal = _principal(access)
        if principal is not None:
            out[principal] = access
    return out


def restore_folder_access(item_run: ItemRun) -> RestoreResult:
    """Make a folder's access what the backup says, adding only unless `exact_access`."""
    sdk, data = item_run.sdk, item_run.data
    folder_id = item_run.require(Ref(CT.FOLDER, str(data.get("folder_id")), "folder_id"))
    wanted = _wanted(item_run)
    if folder_id is None:
        # Dry run: the folder would be created first by this restore.
        item_run.changed("inherits", *(f"accesses[{k} {i}]" for k, i in wanted))
        return item_run.finish(Action.WOULD_CREATE, None)
    folder = item_run.get(lambda: sdk.folder(folder_id, fields="id,name,content_metadata_id"))
    cmid = None if folder is None else folder.get("content_metadata_id")
    if cmid is None:
        item_run.note(f"folder {folder_id} has no content metadata in Looker (a system folder); access not restored")
        return item_run.finish(Action.SKIPPED, folder_id)
    cmid = str(cmid)
    item_run.remember(CT.FOLDER_ACCESS.label, item_run.source_id, folder_id)
    meta = item_run.get(lambda: sdk.content_metadata(cmid)) or {}
    inherits = _sync_inherits(item_run, cmid, bool(meta.get("inherits")), bool(data.get("inherits")))
    if inherits:
        # Its access is its parent's: the backup's records (if any) are the parent's too.
        return item_run.finish(Action.UNCHANGED, folder_id, folder)
    _sync_accesses(item_run, cmid, wanted)
    return item_run.finish(Action.UNCHANGED, folder_id, folder)


def _sync_inherits(item_run: ItemRun, cmid: str, live: bool, backup: bool) -> bool:
    """Set `inherits` as the backup has it where allowed; whether the folder inherits afterwards."""
    if live == backup:
        return live
    if live and not backup:
        # Looker quirk (lmanage, create_and_provision_instance_folders.py): turning inheritance
        # off copies the parent's access into the folder, so nobody loses access by it.
        item_run.changed("inherits")
        item_run.write(lambda: item_run.sdk.update_content_metadata(cmid, {"inherits": False}))  # type: ignore[arg-type]
        return item_run.dry_run
    if not item_run.restorer.exact_access:
        item_run.note("the folder has access of its own in Looker where the backup's inherited its parent's; "
                      "left as it is (--exact-access makes it inherit again)")
        return False
    item_run.changed("inherits")
    item_run.write(lambda: item_run.sdk.update_content_metadata(cmid, {"inherits": True}))  # type: ignore[arg-type]
    return True


def _sync_accesses(item_run: ItemRun, cmid: str, wanted: Mapping[Principal, str]) -> None:
    sdk = item_run.sdk
    live = _live_accesses(item_run, cmid)
    exact = item_run.restorer.exact_access
    for principal, permission in wanted.items():
        kind, dest = principal
        current = live.get(principal)
        body: Payload = {"content_metadata_id": cmid, "permission_type": permission, f"{kind}_id": dest}
        if current is None:
            item_run.changed(f"accesses[{kind} {dest}]")
            _create(item_run, cmid, principal, body)
            continue
        have = str(current.get("permission_type"))
        if have == permission:
            continue
        if _RANK.get(permission, 0) < _RANK.get(have, 0) and not exact:
            item_run.note(f"{kind} {dest} may {have} in Looker, the backup says {permission}: left as it is "
                          "(--exact-access lowers it)")
            continue
        item_run.changed(f"accesses[{kind} {dest}].permission_type")
        access_id = str(current["id"])
        item_run.write(lambda: sdk.update_content_metadata_access(access_id, body))  # type: ignore[arg-type]
    if not exact:
        return
    for principal, current in live.items():
        if principal in wanted:
            continue
        item_run.changed(f"accesses[-{principal[0]} {principal[1]}]")
        access_id = str(current["id"])
        item_run.write_raw(lambda: sdk.delete_content_metadata_access(access_id))


def _create(item_run: ItemRun, cmid: str, principal: Principal, body: Payload) -> None:
    """Add one access record; one that Looker already has (a lost answer, a 409) is adopted."""
    def find() -> Payload | None:
        return _live_accesses(item_run, cmid).get(principal)

    try:
        item_run.create(lambda: item_run.sdk.create_content_metadata_access(body), find)  # type: ignore[arg-type]
    except ValidationFailed as exc:
        # The API description lists 409 for this POST: the record is there already.
        if exc.status != 409 or find() is None:
            raise
