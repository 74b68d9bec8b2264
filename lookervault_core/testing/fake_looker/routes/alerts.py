"""Alerts on dashboard tiles (`/alerts`).

Evidence, per behaviour (API description = Looker.4.0.oas.json, Looker 26.12):
- `POST /alerts` (create_alert) requires `field`, `destinations`,
  `comparison_type`, `threshold`, `cron` (its description); `PUT /alerts/{id}`
  (update_alert) replaces the alert and requires `owner_id` too; `PATCH
  /alerts/{id}` (update_alert_field) takes only `owner_id`, `is_disabled`,
  `disabled_reason`, `is_public`, `threshold`, `enhancements` (AlertPatch).
- `comparison_type` and `destination_type` are enums; the destinations of one
  alert "Must be the same type of destination" (Alert.destinations).
- An alert's `dashboard_element_id` cannot be changed once it is made
  (looker_deployer PR #97: "The dashboard element id for an alert can't be
  updated, even though it is not listed in the docs as a readonly attribute";
  that it is silently kept rather than refused is a guess).
- Deleting the tile leaves the alert in `search_alerts` with no dashboard and,
  "eventually", disabled (looker-cli #113, seen on a live instance after gzr
  re-created a dashboard's tiles). The fake disables it at once (see
  `ops.orphan_alerts`).
- Followers are not exposed: only `followed` (for the caller) and `followable`
  (read-only), and looker-cli #271 asks in vain for a way to read them.
"""

from __future__ import annotations

from collections.abc import Mapping

from looker_sdk.sdk.api40 import models as m

from ..api_errors import HttpError, invalid, not_found
from ..ops import new_record, require
from ..render import render
from ..router import Call, Reply, Router
from ..state import Store
from .common import Record, apply_patch, listing

__all__ = ["ALERT_DEFAULTS", "register"]

#: Defaults of a new alert: `is_disabled`/`is_public` are `nullable: false` in the API
#: description; false for both is a guess (the create example sends both explicitly).
ALERT_DEFAULTS: dict[str, object] = {"is_disabled": False, "is_public": False, "show_custom_url": False}

#: What create_alert's description lists as required.
_REQUIRED_ON_CREATE = ("field", "destinations", "comparison_type", "threshold", "cron")
#: update_alert (PUT) lists owner_id as well.
_REQUIRED_ON_UPDATE = ("owner_id", *_REQUIRED_ON_CREATE)


def _check(store: Store, alert: Record, required: tuple[str, ...]) -> None:
    for key in required:
        if alert.get(key) in (None, [], ""):
            raise invalid(key, "missing", f"{key} is required")
    field = alert.get("field")
    if not isinstance(field, Mapping) or not field.get("name") or not field.get("title"):
        # AlertField requires both title and name (API description).
        raise invalid("field", "missing", "field.title and field.name are required")
    destinations = alert.get("destinations")
    kinds = {d.get("destination_type") for d in destinations if isinstance(d, Mapping)} \
        if isinstance(destinations, list) else set()
    if len(kinds) > 1:
        raise invalid("destinations", "invalid", "destinations must all be of the same destination_type")
    if alert.get("dashboard_element_id") is None and alert.get("lookml_link_id") is None:
        # Guess: the UI makes alerts only on a dashboard tile (a user-defined or a LookML
        # dashboard's); the API description does not say what an alert without one answers.
        raise invalid("dashboard_element_id", "missing", "an alert needs a dashboard_element_id or a lookml_link_id")
    # A create whose reference is unknown: 404, as real instances answer other creates so
    # (terraform-provider-looker #90, looker-cli #129); for alerts that is a guess.
    element = alert.get("dashboard_element_id")
    if element is not None and store.find("dashboard_elements", element) is None:
        raise not_found()
    if store.find("users", alert.get("owner_id")) is None:
        raise not_found()


def _get(call: Call) -> object:
    return render(call.store, "alerts", require(call.store, "alerts", call.params["alert_id"]))


def _search(call: Call) -> object:
    # all_owners is "(Admin only) Filter for all owners" (API description): without it, the
    # caller's own alerts. `disabled` filters on is_disabled.
    alerts = call.store.ordered("alerts")
    if not call.flag("all_owners"):
        alerts = [a for a in alerts if a.get("owner_id") == call.user_id]
    disabled = call.flag("disabled")
    if disabled is not None:
        alerts = [a for a in alerts if bool(a.get("is_disabled")) == disabled]
    return listing(call, "alerts", alerts)


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteAlert, m.Alert, creating=False)
    alert = new_record("alerts", {
        **ALERT_DEFAULTS,
        # owner_id is not among create_alert's required fields: the caller owns it (guess).
        "owner_id": call.user_id,
        **{k: v for k, v in data.items() if v is not None},
        "id": store.next_id("alerts"),
    })
    _check(store, alert, _REQUIRED_ON_CREATE)
    store.save("alerts", alert)
    return render(store, "alerts", alert)


def _replace(call: Call) -> object:
    store = call.store
    alert = require(store, "alerts", call.params["alert_id"])
    data = call.write(m.WriteAlert, m.Alert, creating=False)
    updated = new_record("alerts", {**ALERT_DEFAULTS, **{k: v for k, v in data.items() if v is not None},
                                    "id": alert["id"],
                                    # Cannot be changed (looker_deployer PR #97).
                                    "dashboard_element_id": alert.get("dashboard_element_id")})
    _check(store, updated, _REQUIRED_ON_UPDATE)
    store.save("alerts", updated)
    return render(store, "alerts", updated)


def _patch(call: Call) -> object:
    store = call.store
    alert = require(store, "alerts", call.params["alert_id"])
    data = call.write(m.AlertPatch, m.Alert, creating=False)
    updated = dict(alert)
    apply_patch(updated, data)
    if data.get("owner_id") is not None and store.find("users", data["owner_id"]) is None:
        raise not_found()
    store.save("alerts", updated)
    return render(store, "alerts", updated)


def _delete(call: Call) -> object:
    if call.store.delete("alerts", call.params["alert_id"]) is None:
        raise not_found()
    return Reply(204)


def _follow(call: Call) -> object:
    # 204 on success (API description); the follower list itself is never returned.
    alert = require(call.store, "alerts", call.params["alert_id"])
    if not alert.get("is_public"):
        raise HttpError(400, "Only public alerts can be followed")  # guess: the status for a private alert
    return Reply(204)


def register(router: Router) -> None:
    """Add the alert routes."""
    router.add("GET", "/alerts/search", _search)
    router.add("GET", "/alerts/{alert_id}", _get)
    router.add("POST", "/alerts", _create)
    router.add("PUT", "/alerts/{alert_id}", _replace)
    router.add("PATCH", "/alerts/{alert_id}", _patch)
    router.add("DELETE", "/alerts/{alert_id}", _delete)
    router.add("POST", "/alerts/{alert_id}/follow", _follow)
    router.add("DELETE", "/alerts/{alert_id}/follow", _follow)
