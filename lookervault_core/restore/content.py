"""Restore of folders, queries, looks and scheduled plans."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import fields_param, writable_fields
from ..errors import MissingDependency, MissingLookmlModel, NotFound, UnrestorableItem
from ..graph import Ref
from .item import ItemRun, Payload, as_dict
from .payload import body_from, diff, mappings, same, sequence
from .result import Action, RestoreResult

__all__ = ["ensure_query", "restore_folder", "restore_look", "owner_and_folder", "restore_scheduled_plan",
           "titled_in_folder"]

# Looker quirk: a query read back carries client_id/slug, which a create must not send.
_QUERY_FIELDS = writable_fields(m.WriteQuery) - {"client_id"}
_DESTINATION_FIELDS = writable_fields(m.ScheduledPlanDestination) - {
    "id", "scheduled_plan_id", "can", "looker_recipient", "secret_parameters",
}

# Destination types that hold no write-only secret_parameters (S3, SFTP and
# action hub destinations do: API description, ScheduledPlanDestination.secret_parameters).
_SECRET_FREE_TYPES = frozenset({"email"})
_LAYOUT_FIELDS = fields_param(m.DashboardLayout, "id")

_ROOT_FLAGS = ("is_shared_root", "is_users_root", "is_embed_shared_root", "is_embed_users_root")
_ROOTS_FIELDS = fields_param(m.FolderBase, "id", "name", "parent_id", *_ROOT_FLAGS)
#: Looker quirk: every instance lists a "LookML Dashboards" system folder with
#: the id "lookml" and no parent (looker-api.md, "Recorded from real instances");
#: it holds the LookML dashboards and cannot be created.
LOOKML_FOLDER_ID = "lookml"
_PERSONAL_FIELDS = fields_param(m.User, "id", "personal_folder_id")


def _roots(item_run: ItemRun) -> list[Payload]:
    """The destination's folders as `all_folders` lists them (system ones among them), read once per Restorer."""
    roots = item_run.restorer.cached("folder-roots", lambda: [
        as_dict(f) for f in item_run.call(lambda: item_run.sdk.all_folders(fields=_ROOTS_FIELDS))
    ])
    assert isinstance(roots, list)
    return roots


def _is_lookml_folder(folder: Mapping[str, object]) -> bool:
    return str(folder.get("id")) == LOOKML_FOLDER_ID and folder.get("parent_id") is None


def _system_folder(item_run: ItemRun) -> RestoreResult | None:
    """Map Shared/Users/embed roots, LookML Dashboards and personal folders; they are never created.

    Matched by what they are on the destination (root flags, the `lookml`
    folder), never by their source id: system ids differ per instance
    (Shared is 801 on one real instance).
    """
    data = item_run.data
    flag = next((f for f in _ROOT_FLAGS if data.get(f)), None)
    dest: str | None = None
    if flag is not None:
        dest = next((str(r["id"]) for r in _roots(item_run) if r.get(flag)), None)
        what = flag.removeprefix("is_").replace("_", " ")
    elif _is_lookml_folder({**data, "id": item_run.source_id}):
        dest = next((str(r["id"]) for r in _roots(item_run) if _is_lookml_folder(r)), None)
        what = "LookML Dashboards"
    elif data.get("is_personal") or data.get("is_embed"):
        what = "personal folder"
        owner = data.get("creator_id")
        if owner is not None:
            # Mapped through its user (Looker makes the folder with the user): a user the backup holds must
            # be restored first, or the folder fails and is retried with it, instead of standing as done
            # with nothing mapped and every item inside failing. An embed user's is made at sign-on.
            needed = not data.get("is_embed") and item_run.restorer.backup.has(CT.USER, str(owner))
            user_id = item_run.require(Ref(CT.USER, str(owner), "creator_id", hard=needed))
            if user_id is not None:
                user = item_run.get(lambda: item_run.sdk.user(user_id, fields=_PERSONAL_FIELDS))
                dest = None if not user or user.get("personal_folder_id") is None else str(user["personal_folder_id"])
    else:
        return None
    if dest is not None:
        # Mapped by its role or its user, not by identity: an empty instance's Shared
        # folder has the backup's id by chance, and another created_at.
        item_run.remember(CT.FOLDER.label, item_run.source_id, dest, recognisable=False)
    item_run.note(f"{what}: system folder, mapped{'' if dest else ' (no match in Looker)'}, never created")
    return item_run.finish(Action.SKIPPED, dest)


def _same_name_sibling(item_run: ItemRun, body: Payload) -> Callable[[], Payload | None]:
    """A lookup of the live folder with exactly the backup's name under the same parent.

    Looker quirk: search_folders matches names case-insensitively with `_` and
    `%` as wildcards, so "Q1_2024" also finds its sibling "Q1-2024": only an
    exact name is the same folder.
    """
    def find() -> Payload | None:
        name, parent = body.get("name"), body.get("parent_id")
        if not name or not parent:
            return None
        found = item_run.call(lambda: item_run.sdk.search_folders(name=str(name), parent_id=str(parent)))
        return next((f for f in map(as_dict, found) if f.get("name") == name), None)
    return find


def restore_folder(item_run: ItemRun) -> RestoreResult:
    system = _system_folder(item_run)
    if system is not None:
        return system
    sdk, data = item_run.sdk, item_run.data
    body = item_run.body()
    if data.get("parent_id") is not None:
        body["parent_id"] = item_run.require(Ref(CT.FOLDER, str(data["parent_id"]), "parent_id"))
    live = item_run.counterpart(sdk.folder)
    find = _same_name_sibling(item_run, body)
    if live is None and body.get("parent_id"):
        # A folder of the same name under the same parent is this folder
        # (Looker refuses a second one): update it rather than fail.
        live = find()
    action, dest_id, after = item_run.upsert(
        None if live is None else str(live["id"]), body, get=sdk.folder,
        create=sdk.create_folder, update=sdk.update_folder, live=live, find=find,  # type: ignore[arg-type]
    )
    return item_run.finish(action, dest_id, after or live)


def ensure_query(item_run: ItemRun, query: object, query_id: object, field: str, *,
                 referenced: object = None) -> str | None:
    """The destination id of a query equal to the backup's, creating it when needed.

    Looker quirk: queries are immutable and a create with identical parameters
    returns the existing query, so reuse is checked first to keep a repeat
    restore free of writes. Returns None only in a dry run that would create it.

    Looker quirk: queries are immutable and never deleted (looker-api.md), so
    the query the live object (already shown to be this item's counterpart)
    still references (`referenced`) needs no read when it is the one the id
    map names. Any other mapped query is read: a destination that was reset
    has lost it, and the stale mapping is then dropped.

    Raises:
        UnrestorableItem: the query is not in Looker and the backup holds only its id.
    """
    wanted = body_from(query, _QUERY_FIELDS) if isinstance(query, Mapping) else None
    if query_id is not None:
        dest, assumed = item_run.restorer.idmap.lookup("query", str(query_id))
        if dest is not None and referenced is not None and str(referenced) == dest:
            return dest
        live = None if dest is None else item_run.read(("query", dest), lambda: item_run.sdk.query(dest))
        if live is not None and (wanted is None or not diff(wanted, live)):
            return dest
        if live is None and dest is not None and not assumed:
            item_run.forget("query", str(query_id))
    if wanted is None and query_id is not None:
        # LookerVault keeps only a look's query_id, but the same query often
        # sits in full in a dashboard tile elsewhere in the backup.
        held = item_run.restorer.backup_query(str(query_id))
        wanted = None if held is None else body_from(held, _QUERY_FIELDS)
    if wanted is None:
        raise UnrestorableItem(
            item_run.content_type.label, item_run.source_id,
            f"{field} {query_id} is not in Looker and the backup holds only its id, not the query, "
            "nowhere else either (LookerVault backs looks up without their query); restore into the "
            "instance that has the query, or back up with the query included",
        )
    item_run.changed(field)
    model = str(wanted.get("model") or "")
    if item_run.dry_run and not _has_model(item_run, model):
        raise MissingLookmlModel(item_run.content_type.label, item_run.source_id, [model], f" ({field})")
    try:
        # Looker quirk: an identical create_query returns the existing query
        # (786 recorded creates, 29 distinct bodies: looker-api.md), so one
        # whose answer was lost is simply sent again.
        created = item_run.write(lambda: item_run.sdk.create_query(wanted), repeatable=True)  # type: ignore[arg-type]
    except NotFound as exc:
        # Looker quirk: a query of a model the instance does not have is a bare
        # 404 "The resource you're looking for could not be found" (looker-cli #36, #268).
        raise MissingLookmlModel(item_run.content_type.label, item_run.source_id, [model],
                                 f" ({field}: Looker answered 404 to creating its query, "
                                 f"explore {wanted.get('view')!r})") from exc
    if created is None:
        return None
    new_id = str(created["id"])
    if query_id is not None:
        item_run.remember("query", str(query_id), new_id)
    return new_id


def _has_model(item_run: ItemRun, model: str) -> bool:
    """Whether Looker has this LookML model, or this restore brings its configuration (a dry run's check).

    Asked once per model and Restorer: a dry run writes nothing, so the answer holds.
    """
    if item_run.restorer.backup.has(CT.LOOKML_MODEL, model):
        return True
    found = item_run.restorer.cached(f"lookml-model:{model}", lambda: item_run.get(
        lambda: item_run.sdk.lookml_model(model, fields="name")) is not None)
    return bool(found)


def titled_in_folder(item_run: ItemRun, search: Callable[[], Sequence[object]]) -> Callable[[], Payload | None]:
    """A lookup of the live object with the backup's exact title (Looker search is fuzzy)."""
    def find() -> Payload | None:
        title = item_run.data.get("title")
        return next((found for found in map(as_dict, item_run.call(search)) if found.get("title") == title), None)
    return find


def owner_and_folder(item_run: ItemRun, body: Payload) -> None:
    """Point `body` at the destination folder (required) and owner (dropped when missing)."""
    data = item_run.data
    if data.get("folder_id") is not None:
        body["folder_id"] = item_run.require(Ref(CT.FOLDER, str(data["folder_id"]), "folder_id"))
    body.pop("user_id", None)
    if data.get("user_id") is not None:
        owner = item_run.require(Ref(CT.USER, str(data["user_id"]), "user_id", hard=False))
        if owner is not None:
            body["user_id"] = owner


def restore_look(item_run: ItemRun) -> RestoreResult:
    sdk, data = item_run.sdk, item_run.data
    body = item_run.body()
    owner_and_folder(item_run, body)
    live = item_run.counterpart(sdk.look)
    query_id = ensure_query(item_run, data.get("query"), data.get("query_id"), "query_id",
                            referenced=None if live is None else live.get("query_id"))
    if query_id is not None:
        body["query_id"] = query_id
    find = titled_in_folder(item_run, lambda: sdk.search_looks(title=str(body.get("title")),
                                                           folder_id=str(body.get("folder_id"))))
    action, dest_id, after = item_run.upsert(None, body, get=sdk.look, create=sdk.create_look,  # type: ignore[arg-type]
                                        update=sdk.update_look, find=find,  # type: ignore[arg-type]
                                        live=live)
    return item_run.finish(action, dest_id, after)


def _plan_owner(item_run: ItemRun, owner: str) -> str | None:
    """The destination id of the plan's owner.

    A plan runs with its owner's access: created without one it would run as
    the API user, so a missing owner fails the plan, naming the owner.

    Raises:
        MissingDependency: the owner is neither restored nor in Looker.
    """
    try:
        return item_run.require(Ref(CT.USER, owner, "user_id"))
    except MissingDependency as exc:
        user = item_run.data.get("user")
        name = user.get("display_name") if isinstance(user, Mapping) else None
        who = f"its owner {name!r} (user {owner})" if name else f"its owner (user {owner})"
        raise MissingDependency(
            exc.content_type, exc.item_id, exc.needs_type, exc.needs_id,
            f"{who}, {str(exc).partition(', ')[2]}; a schedule runs with its owner's access, "
            "so it is not created under another user",
        ) from exc


def _plan_tabs(item_run: ItemRun, dashboard_id: object) -> list[str] | None:
    """`tab_ids` mapped to the destination dashboard's layouts (a tab is a layout).

    Raises:
        MissingDependency: a tab has no counterpart among the destination dashboard's layouts.
    """
    tabs = [str(t) for t in sequence(item_run.data.get("tab_ids"))]
    if not tabs or item_run.data.get("dashboard_id") is None:
        return tabs or None
    if dashboard_id is None:
        item_run.note("tab_ids: the dashboard would be restored first; its tabs are mapped then")
        return None
    mapped = {t: item_run.resolve("dashboard_layout", t) for t in tabs}
    did = str(dashboard_id)
    layouts = {str(lo.get("id")) for lo in map(as_dict, item_run.call(
        lambda: item_run.sdk.dashboard_dashboard_layouts(did, fields=_LAYOUT_FIELDS)))}
    missing = [t for t, d in mapped.items() if d is None or d not in layouts]
    if missing:
        raise MissingDependency(
            item_run.content_type.label, item_run.source_id, "dashboard_layout", ",".join(missing),
            f"(tab_ids), which dashboard {did} does not have; restore the dashboard first",
        )
    return [str(mapped[t]) for t in tabs]


def _destinations(value: object) -> list[Payload]:
    return [body_from(d, _DESTINATION_FIELDS) for d in mappings(value)]


def _destination_key(destination: Payload) -> tuple[object, object]:
    return destination.get("type"), destination.get("address")


def _plan_destinations(item_run: ItemRun, live: Payload | None) -> list[Payload] | None:
    """The destination list to send, or None to leave the live one alone.

    Looker quirk: destinations sent with an update replace the whole list, and
    `secret_parameters` (S3 keys, SFTP passwords) are write-only, so Looker never
    returns them and re-sending a destination wipes its secret. The backup's
    destinations are sent with the live ones it lacks, and only when no live
    destination can hold a secret (every one is an email); otherwise the live
    list is left as it is, and the result says so.
    """
    wanted = _destinations(item_run.data.get("scheduled_plan_destination"))
    if live is None:
        if any(d.get("secret_parameters") for d in mappings(item_run.data.get("scheduled_plan_destination"))):
            item_run.note("destination secrets are never returned by Looker and were not restored")
        return wanted or None
    current = _destinations(live.get("scheduled_plan_destination"))
    backed_up = {_destination_key(w) for w in wanted}
    merged = [*wanted, *(d for d in current if _destination_key(d) not in backed_up)]
    if same(sorted(merged, key=str), sorted(current, key=str)):
        return None
    secretive = sorted({str(d.get("type")) for d in current if d.get("type") not in _SECRET_FREE_TYPES})
    if secretive:
        item_run.note(f"destinations left as they are: Looker has {', '.join(secretive)} destination(s) whose "
                 "write-only secrets an update would wipe; compare them by hand")
        return None
    return merged


def _same_plan(item_run: ItemRun, body: Payload) -> Payload | None:
    """A plan restored earlier whose id was never recorded (an interrupted run, a lost answer): same name, target, owner.

    Plans have no unique key in Looker; all three together make another
    plan's match a coincidence too unlikely to write over.
    """
    sdk = item_run.sdk
    if body.get("dashboard_id") is not None:
        dashboard_id = str(body["dashboard_id"])
        found = item_run.call(lambda: sdk.scheduled_plans_for_dashboard(dashboard_id, all_users=True))
    elif body.get("look_id") is not None:
        look_id = str(body["look_id"])
        found = item_run.call(lambda: sdk.scheduled_plans_for_look(look_id, all_users=True))
    else:
        owner = None if body.get("user_id") is None else str(body["user_id"])
        found = item_run.call(lambda: sdk.all_scheduled_plans(user_id=owner, all_users=owner is None))
    target = ("dashboard_id", "look_id", "lookml_dashboard_id", "query_id")
    for plan in map(as_dict, found):
        if any(str(plan.get(f) or "") != str(body.get(f) or "") for f in target):
            continue
        if plan.get("name") == body.get("name") and str(plan.get("user_id")) == str(body.get("user_id")):
            item_run.remember(CT.SCHEDULED_PLAN.label, item_run.source_id, str(plan["id"]))
            return plan
    return None


def restore_scheduled_plan(item_run: ItemRun) -> RestoreResult:
    """A schedule, its tabs and its destinations; live destination secrets are never wiped."""
    sdk, data = item_run.sdk, item_run.data
    body = item_run.body(frozenset({"scheduled_plan_destination", "tab_ids", "user_id"}))
    if data.get("user_id") is not None:
        body["user_id"] = _plan_owner(item_run, str(data["user_id"]))
    for field, ct in (("look_id", CT.LOOK), ("dashboard_id", CT.DASHBOARD)):
        if data.get(field) is not None:
            body[field] = item_run.require(Ref(ct, str(data[field]), field))
    if data.get("query_id") is not None and data.get("look_id") is None and data.get("dashboard_id") is None:
        body["query_id"] = ensure_query(item_run, data.get("query"), data.get("query_id"), "query_id")
    tabs = _plan_tabs(item_run, body.get("dashboard_id"))
    if tabs is not None:
        body["tab_ids"] = tabs
    live = item_run.counterpart(sdk.scheduled_plan) or _same_plan(item_run, body)
    destinations = _plan_destinations(item_run, live)
    if destinations is not None:
        body["scheduled_plan_destination"] = destinations
    if live is not None:
        live = {**live, "scheduled_plan_destination": _destinations(live.get("scheduled_plan_destination"))}
    action, dest_id, after = item_run.upsert(None, body, get=sdk.scheduled_plan, live=live,
                                        create=sdk.create_scheduled_plan,  # type: ignore[arg-type]
                                        update=sdk.update_scheduled_plan,  # type: ignore[arg-type]
                                        find=lambda: _same_plan(item_run, body))
    return item_run.finish(action, dest_id, after or live)
