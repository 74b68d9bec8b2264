"""Scheduled plans and their destinations (secrets are stored, never returned)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from looker_sdk.sdk.api40 import models as m

from ..api_errors import invalid
from ..ops import delete_scheduled_plan, new_record, reference, require, stamp
from ..render import render
from ..router import Call, Reply, Router
from ..state import Store
from .common import Record, apply_patch, listing

__all__ = ["PLAN_DEFAULTS", "register", "replace_destinations"]

PLAN_DEFAULTS: dict[str, object] = {
    "enabled": True,
    "run_as_recipient": False,
    "require_results": False,
    "require_no_results": False,
    "require_change": False,
    "send_all_results": False,
    "run_once": False,
    "include_links": False,
}

_TARGETS = (
    ("look_id", "looks"),
    ("dashboard_id", "dashboards"),
    ("lookml_dashboard_id", None),
    ("query_id", "queries"),
)


def replace_destinations(store: Store, plan_id: str, destinations: object, *, keep_ids: bool = False) -> None:
    """Replace a plan's destinations: new ids, or the given ones with `keep_ids`."""
    for dest_id in store.ids_by("scheduled_plan_destinations", "scheduled_plan_id", plan_id):
        store.delete("scheduled_plan_destinations", dest_id)
    for dest in destinations if isinstance(destinations, list) else []:
        if isinstance(dest, Mapping):
            given = dest.get("id")
            dest_id = str(given) if keep_ids and given is not None else store.next_id("scheduled_plan_destinations")
            # The record keeps secret_parameters; rendering never shows them.
            record = new_record("scheduled_plan_destinations", {**dest, "id": dest_id, "scheduled_plan_id": plan_id})
            store.save("scheduled_plan_destinations", record)


def _check_plan(call: Call, plan: Record, destinations: object) -> None:
    store = call.store
    if not plan.get("name"):
        raise invalid("name", "missing", "name is required")
    targets = [(k, c) for k, c in _TARGETS if plan.get(k) is not None]
    if not targets:
        raise invalid(
            "look_id", "missing", "a scheduled plan needs a look_id, dashboard_id, lookml_dashboard_id or query_id"
        )
    for key, collection in targets:
        if collection is not None:
            reference(store, collection, plan[key], key)
    if not (plan.get("crontab") or plan.get("datagroup") or plan.get("run_once")):
        raise invalid("crontab", "missing", "a scheduled plan needs a crontab or a datagroup")
    if not isinstance(destinations, list) or not destinations:
        raise invalid("scheduled_plan_destination", "missing", "a scheduled plan needs at least one destination")
    if plan.get("user_id") is not None:
        reference(store, "users", plan["user_id"], "user_id")


def _get(call: Call) -> object:
    plan = require(call.store, "scheduled_plans", call.params["scheduled_plan_id"])
    return render(call.store, "scheduled_plans", plan)


def _owned(call: Call, plans: list[Record]) -> list[Record]:
    # The API description (all_scheduled_plans, scheduled_plans_for_dashboard,
    # scheduled_plans_for_look): the caller's plans, or the given user's; every
    # user's with all_users=true.
    if call.flag("all_users"):
        return plans
    owner = call.arg("user_id") or call.user_id
    return [p for p in plans if p.get("user_id") == owner]


def _all(call: Call) -> object:
    # Plans with their destinations, as GET /scheduled_plans/{id} (API description: 200 is
    # ScheduledPlan[]; gzr's look/dashboard `cat --plans` export the sibling listings and
    # import their scheduled_plan_destination, lib/gzr/modules/plan.rb).
    return listing(call, "scheduled_plans", _owned(call, call.store.ordered("scheduled_plans")))


def _for(field: str, param: str) -> Callable[[Call], object]:
    def handler(call: Call) -> object:
        target = call.params[param]
        plans = [p for p in call.store.ordered("scheduled_plans") if p.get(field) == target]
        return listing(call, "scheduled_plans", _owned(call, plans))

    return handler


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteScheduledPlan, m.ScheduledPlan, creating=True)
    destinations = data.pop("scheduled_plan_destination", None)
    plan = new_record(
        "scheduled_plans",
        {
            **PLAN_DEFAULTS,
            "user_id": call.user_id,
            **{k: v for k, v in data.items() if v is not None},
            "id": store.next_id("scheduled_plans"),
        },
    )
    _check_plan(call, plan, destinations)
    stamp(plan, created=True)
    store.save("scheduled_plans", plan)
    replace_destinations(store, str(plan["id"]), destinations)
    return render(store, "scheduled_plans", plan)


def _update(call: Call) -> object:
    store = call.store
    plan = require(store, "scheduled_plans", call.params["scheduled_plan_id"])
    data = call.write(m.WriteScheduledPlan, m.ScheduledPlan, creating=False)
    destinations = data.pop("scheduled_plan_destination", None)
    updated = dict(plan)
    apply_patch(updated, data)
    current = store.by("scheduled_plan_destinations", "scheduled_plan_id", plan["id"])
    _check_plan(call, updated, destinations if destinations is not None else current)
    stamp(updated, created=False)
    store.save("scheduled_plans", updated)
    # Looker quirk: destinations sent with an update replace all existing ones.
    if destinations is not None:
        replace_destinations(store, str(plan["id"]), destinations)
    return render(store, "scheduled_plans", updated)


def _delete(call: Call) -> object:
    plan = require(call.store, "scheduled_plans", call.params["scheduled_plan_id"])
    delete_scheduled_plan(call.store, str(plan["id"]))
    return Reply(204)


def register(router: Router) -> None:
    """Add the scheduled plan routes."""
    router.add("GET", "/scheduled_plans/{scheduled_plan_id}", _get)
    router.add("GET", "/scheduled_plans", _all)
    router.add("GET", "/scheduled_plans/dashboard/{dashboard_id}", _for("dashboard_id", "dashboard_id"))
    router.add("GET", "/scheduled_plans/look/{look_id}", _for("look_id", "look_id"))
    router.add("POST", "/scheduled_plans", _create)
    router.add("PATCH", "/scheduled_plans/{scheduled_plan_id}", _update)
    router.add("DELETE", "/scheduled_plans/{scheduled_plan_id}", _delete)
