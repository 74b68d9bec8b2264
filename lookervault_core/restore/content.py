"""Restore of folders, queries, looks and scheduled plans."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import writable_fields
from ..errors import UnrestorableItem
from ..graph import Ref
from .item import ItemRun, Payload, as_dict
from .payload import body_from, diff
from .result import Action, RestoreResult

__all__ = ["ensure_query", "restore_folder", "restore_look", "owner_and_folder", "restore_scheduled_plan",
           "titled_in_folder"]

# Looker quirk: a query read back carries client_id/slug, which a create must not send.
_QUERY_FIELDS = writable_fields(m.WriteQuery) - {"client_id"}
_DESTINATION_FIELDS = writable_fields(m.ScheduledPlanDestination) - {
    "id", "scheduled_plan_id", "can", "looker_recipient", "secret_parameters",
}

_ROOT_FLAGS = ("is_shared_root", "is_users_root", "is_embed_shared_root", "is_embed_users_root")


def _system_folder(run: ItemRun) -> RestoreResult | None:
    """Map Shared/Users/embed roots and personal folders; they are never created."""
    data = run.data
    flag = next((f for f in _ROOT_FLAGS if data.get(f)), None)
    dest: str | None = None
    if flag is not None:
        roots = run.restorer.cached("folder-roots", lambda: [
            as_dict(f) for f in run.call(lambda: run.sdk.all_folders(fields="id,name," + ",".join(_ROOT_FLAGS)))
        ])
        assert isinstance(roots, list)
        dest = next((str(r["id"]) for r in roots if r.get(flag)), None)
        what = flag.removeprefix("is_").replace("_", " ")
    elif data.get("is_personal") or data.get("is_embed"):
        what = "personal folder"
        owner = data.get("creator_id")
        if owner is not None:
            user_id = run.require(Ref(CT.USER, str(owner), "creator_id", hard=False))
            if user_id is not None:
                user = run.get(lambda: run.sdk.user(user_id, fields="id,personal_folder_id"))
                dest = None if not user or user.get("personal_folder_id") is None else str(user["personal_folder_id"])
    else:
        return None
    if dest is not None:
        run.remember(CT.FOLDER.label, run.source_id, dest)
    run.note(f"{what}: system folder, mapped{'' if dest else ' (no match in Looker)'}, never created")
    return run.finish(Action.SKIPPED, dest)


def restore_folder(run: ItemRun) -> RestoreResult:
    system = _system_folder(run)
    if system is not None:
        return system
    sdk, data = run.sdk, run.data
    body = body_from(data, run.spec.writable)
    if data.get("parent_id") is not None:
        body["parent_id"] = run.require(Ref(CT.FOLDER, str(data["parent_id"]), "parent_id"))
    dest = run.resolve(CT.FOLDER.label, run.source_id)
    live = None if dest is None else run.get(lambda: sdk.folder(dest))
    if live is None and body.get("parent_id"):
        # A folder of the same name under the same parent is this folder
        # (Looker refuses a second one): update it rather than fail.
        found = run.call(lambda: sdk.search_folders(name=str(body.get("name")), parent_id=str(body["parent_id"])))
        live = as_dict(found[0]) if found else None
    action, dest_id, after = run.upsert(
        None if live is None else str(live["id"]), body, get=sdk.folder,
        create=sdk.create_folder, update=sdk.update_folder, live=live,  # type: ignore[arg-type]
    )
    return run.finish(action, dest_id, after or live)


def ensure_query(run: ItemRun, query: object, query_id: object, field: str) -> str | None:
    """The destination id of a query equal to the backup's, creating it when needed.

    Looker quirk: queries are immutable and a create with identical parameters
    returns the existing query, so reuse is checked first to keep a repeat
    restore free of writes. Returns None only in a dry run that would create it.

    Raises:
        UnrestorableItem: the query is not in Looker and the backup holds only its id.
    """
    wanted = body_from(query, _QUERY_FIELDS) if isinstance(query, Mapping) else None
    if query_id is not None:
        dest = run.resolve("query", str(query_id))
        live = None if dest is None else run.get(lambda: run.sdk.query(dest))
        if live is not None and (wanted is None or not diff(wanted, live)):
            return dest
    if wanted is None and query_id is not None:
        # LookerVault keeps only a look's query_id, but the same query often
        # sits in full in a dashboard tile elsewhere in the backup.
        held = run.restorer.backup_query(str(query_id))
        wanted = None if held is None else body_from(held, _QUERY_FIELDS)
    if wanted is None:
        raise UnrestorableItem(
            run.content_type.label, run.source_id,
            f"{field} {query_id} is not in Looker and the backup holds only its id, not the query, "
            "nowhere else either (LookerVault backs looks up without their query); restore into the "
            "instance that has the query, or back up with the query included",
        )
    run.changed(field)
    created = run.write(lambda: run.sdk.create_query(wanted))  # type: ignore[arg-type]
    if created is None:
        return None
    new_id = str(created["id"])
    if query_id is not None:
        run.remember("query", str(query_id), new_id)
    return new_id


def titled_in_folder(run: ItemRun, search: Callable[[], Sequence[object]]) -> Callable[[], Payload | None]:
    """A lookup of the live object with the backup's exact title (Looker search is fuzzy)."""
    def find() -> Payload | None:
        title = run.data.get("title")
        return next((found for found in map(as_dict, run.call(search)) if found.get("title") == title), None)
    return find


def owner_and_folder(run: ItemRun, body: Payload) -> None:
    """Point `body` at the destination folder (required) and owner (dropped when missing)."""
    data = run.data
    if data.get("folder_id") is not None:
        body["folder_id"] = run.require(Ref(CT.FOLDER, str(data["folder_id"]), "folder_id"))
    body.pop("user_id", None)
    if data.get("user_id") is not None:
        owner = run.require(Ref(CT.USER, str(data["user_id"]), "user_id", hard=False))
        if owner is not None:
            body["user_id"] = owner


def restore_look(run: ItemRun) -> RestoreResult:
    sdk, data = run.sdk, run.data
    body = body_from(data, run.spec.writable)
    owner_and_folder(run, body)
    query_id = ensure_query(run, data.get("query"), data.get("query_id"), "query_id")
    if query_id is not None:
        body["query_id"] = query_id
    dest = run.resolve(CT.LOOK.label, run.source_id)
    find = titled_in_folder(run, lambda: sdk.search_looks(title=str(body.get("title")),
                                                           folder_id=str(body.get("folder_id"))))
    action, dest_id, after = run.upsert(dest, body, get=sdk.look, create=sdk.create_look,  # type: ignore[arg-type]
                                        update=sdk.update_look, find=find)  # type: ignore[arg-type]
    return run.finish(action, dest_id, after)


def restore_scheduled_plan(run: ItemRun) -> RestoreResult:
    """A schedule and its destinations (secrets are never returned by Looker, so never restored)."""
    sdk, data = run.sdk, run.data
    body = body_from(data, run.spec.writable - {"scheduled_plan_destination"})
    body.pop("user_id", None)
    if data.get("user_id") is not None:
        owner = run.require(Ref(CT.USER, str(data["user_id"]), "user_id", hard=False))
        if owner is not None:
            body["user_id"] = owner
    for field, ct in (("look_id", CT.LOOK), ("dashboard_id", CT.DASHBOARD)):
        if data.get(field) is not None:
            body[field] = run.require(Ref(ct, str(data[field]), field))
    if data.get("query_id") is not None and data.get("look_id") is None and data.get("dashboard_id") is None:
        body["query_id"] = ensure_query(run, data.get("query"), data.get("query_id"), "query_id")
    destinations = data.get("scheduled_plan_destination")
    if isinstance(destinations, list):
        body["scheduled_plan_destination"] = [
            body_from(d, _DESTINATION_FIELDS) for d in destinations if isinstance(d, Mapping)
        ]
        if any(isinstance(d, Mapping) and d.get("secret_parameters") for d in destinations):
            run.note("destination secrets are never returned by Looker and were not restored")
    dest = run.resolve(CT.SCHEDULED_PLAN.label, run.source_id)
    live = None if dest is None else run.get(lambda: sdk.scheduled_plan(dest))
    live_destinations = None if live is None else live.get("scheduled_plan_destination")
    if live is not None and isinstance(live_destinations, list):
        live["scheduled_plan_destination"] = [
            body_from(d, _DESTINATION_FIELDS) for d in live_destinations if isinstance(d, Mapping)
        ]
    action, dest_id, after = run.upsert(dest, body, get=sdk.scheduled_plan, live=live,
                                        create=sdk.create_scheduled_plan,  # type: ignore[arg-type]
                                        update=sdk.update_scheduled_plan)  # type: ignore[arg-type]
    return run.finish(action, dest_id, after or live)
