"""Restore of an alert on a dashboard tile.

Looker quirks this follows:
- An alert names only its tile (`dashboard_element_id`); tiles have no key of
  their own, so the tile is mapped through the id map's `dashboard_element`
  entries the dashboard's restore records (on the same instance a tile that
  kept its id is itself: dashboards' tiles are updated in place).
- The tile of an alert cannot be changed (looker_deployer PR #97: "The
  dashboard element id for an alert can't be updated"): an alert whose tile
  differs from the live one's is made anew on the right tile and the old
  one, now watching a tile the backup does not name, is deleted.
- `update_alert` (PUT) replaces the whole alert and requires `owner_id`,
  `field`, `destinations`, `comparison_type`, `threshold` and `cron`;
  `update_alert_field` (PATCH) takes only `AlertPatch`'s fields (API
  description). A change within those is patched, any other is a PUT.
- An alert runs with its owner's access, like a schedule: a missing owner
  fails the alert, never re-owned by the API user.
- `time_series_condition_state` is what the alert last saw when it ran, not
  its configuration: never sent. Followers are not in the API (looker-cli #271).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import writable_fields
from ..errors import MissingDependency
from ..graph import Ref
from .item import ItemRun, Payload, as_dict
from .result import Action, RestoreResult

__all__ = ["restore_alert"]

_PATCHABLE = writable_fields(m.AlertPatch)
#: Resolved separately, or never sent (see the module docstring).
_RESOLVED = frozenset({"owner_id", "dashboard_element_id", "query_id", "investigative_content_id",
                       "time_series_condition_state"})
_TILE_FIELDS = "id,dashboard_id"


def _what(data: Mapping[str, object], source_id: str) -> str:
    title = data.get("custom_title")
    field = data.get("field")
    watched = field.get("title") or field.get("name") if isinstance(field, Mapping) else None
    return f"alert {source_id} ({title or watched or 'untitled'})"


def _owner(item_run: ItemRun) -> str | None:
    """The destination id of the alert's owner.

    Raises:
        MissingDependency: the owner is neither restored nor in Looker.
    """
    owner = item_run.data.get("owner_id")
    if owner is None:
        return None
    try:
        return item_run.require(Ref(CT.USER, str(owner), "owner_id"))
    except MissingDependency as exc:
        raise MissingDependency(
            exc.content_type, exc.item_id, exc.needs_type, exc.needs_id,
            f"its owner (user {owner}), {str(exc).partition(', ')[2]}; an alert runs with its owner's access, "
            "so it is not created under another user",
        ) from exc


def _tile(item_run: ItemRun) -> str | None:
    """The destination id of the alert's tile, shown to exist on the restored dashboard.

    None only in a dry run whose restore would create the dashboard first.

    Raises:
        MissingDependency: the tile's dashboard is not restored, or the
            dashboard in Looker no longer has the tile.
    """
    data, source_id = item_run.data, item_run.source_id
    tile = str(data["dashboard_element_id"])
    dashboard = data.get("dashboard_id")
    where = f" of dashboard {dashboard}" if dashboard is not None else ""
    dest_dashboard = None
    if dashboard is not None:
        dest_dashboard = item_run.require(Ref(CT.DASHBOARD, str(dashboard), f"dashboard_element_id {tile}"))
        if dest_dashboard is None:
            item_run.note(f"dashboard_element_id: tile {tile}{where} would be restored with its dashboard first")
            return None
    dest, _ = item_run.restorer.idmap.lookup("dashboard_element", tile)
    live = None if dest is None else item_run.get(lambda: item_run.sdk.dashboard_element(dest, fields=_TILE_FIELDS))
    if live is not None and (dest_dashboard is None or str(live.get("dashboard_id")) == dest_dashboard):
        return str(live["id"])
    watcher = f"the tile{where} that {_what(data, source_id)} watches, which Looker does not have"
    fix = (f"the tile was deleted since the backup, or dashboard {dashboard} was restored without it: restore "
           f"dashboard {dashboard} first" if dashboard is not None else
           "the backup does not say which dashboard it was on (the tile was gone when the backup was taken)")
    raise MissingDependency(CT.ALERT.label, source_id, "dashboard_element", tile, f"{watcher}; {fix}")


def _mapped(item_run: ItemRun, body: Payload) -> None:
    """Point the alert's query and investigative dashboard at their destination ids, dropping unmapped ones."""
    data = item_run.data
    refs = {"query_id": "query"}
    if data.get("investigative_content_type") == "dashboard":
        refs["investigative_content_id"] = CT.DASHBOARD.label
    elif data.get("investigative_content_id") is not None:
        body["investigative_content_id"] = data["investigative_content_id"]
    for field, kind in refs.items():
        value = data.get(field)
        if value is None:
            continue
        dest = item_run.resolve(kind, str(value))
        if dest is not None:
            body[field] = dest
        else:
            item_run.note(f"{field}: {kind} {value} has no counterpart in Looker; left unset")


def _update(item_run: ItemRun, body: Payload) -> Callable[[str, Payload], object]:
    """The update for `ItemRun.upsert`: a PATCH of AlertPatch's fields, else a PUT of the whole alert."""
    sdk = item_run.sdk

    def update(alert_id: str, changes: Payload) -> object:
        if set(changes) <= _PATCHABLE:
            return sdk.update_alert_field(alert_id, changes)  # type: ignore[arg-type]
        return sdk.update_alert(alert_id, body)  # type: ignore[arg-type]
    return update


def _same_alert(item_run: ItemRun, body: Payload) -> Callable[[], Payload | None]:
    """A lookup of the alert a create made when its answer was lost: same tile, field watched and owner.

    Alerts have no unique key in Looker; these three together make another
    alert's match too unlikely to write over.
    """
    def find() -> Payload | None:
        def key(alert: Mapping[str, object]) -> tuple[str, ...]:
            field = alert.get("field")
            watched = field.get("name") if isinstance(field, Mapping) else None
            return tuple(str(alert.get(k) or "") for k in ("dashboard_element_id", "lookml_link_id", "owner_id")) + (
                str(watched or ""),)
        found = item_run.call(lambda: item_run.sdk.search_alerts(all_owners=True))
        return next((a for a in map(as_dict, found) if key(a) == key(body)), None)
    return find


def restore_alert(item_run: ItemRun) -> RestoreResult:
    """Restore an alert on its (mapped) tile, owned by its (mapped) owner.

    Raises:
        MissingDependency: its owner or its tile is not in Looker.
    """
    sdk, data = item_run.sdk, item_run.data
    body = item_run.body(_RESOLVED)
    owner = _owner(item_run)
    if owner is not None:
        body["owner_id"] = owner
    tile = _tile(item_run) if data.get("dashboard_element_id") is not None else None
    if tile is not None:
        body["dashboard_element_id"] = tile
    _mapped(item_run, body)
    live = item_run.counterpart(sdk.get_alert)
    if live is not None and tile is not None and str(live.get("dashboard_element_id")) != tile:
        old = str(live["id"])
        item_run.note(f"alert {old} in Looker watches tile {live.get('dashboard_element_id')}, not {tile}; "
                      "Looker cannot move an alert to another tile, so it was made anew there and the old one deleted")
        item_run.write_raw(lambda: sdk.delete_alert(old))
        item_run.forget(CT.ALERT.label, item_run.source_id)
        live = None
    if item_run.dry_run and (owner is None and data.get("owner_id") is not None
                             or tile is None and data.get("dashboard_element_id") is not None):
        item_run.changed(*sorted(body))
        return item_run.finish(Action.WOULD_CREATE if live is None else Action.WOULD_UPDATE, None)
    action, dest_id, after = item_run.upsert(None, body, get=sdk.get_alert, live=live,
                                             create=sdk.create_alert,  # type: ignore[arg-type]
                                             update=_update(item_run, body), find=_same_alert(item_run, body))
    return item_run.finish(action, dest_id, after)

