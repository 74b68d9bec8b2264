"""LookML models (keyed by name) and their explores (read-only, defined by deployed LookML)."""

from __future__ import annotations

from looker_sdk.sdk.api40 import models as m

from ..api_errors import invalid, not_found
from ..ops import new_record, require
from ..render import render
from ..router import Call, Reply, Router
from ..state import Store
from .common import Record, apply_patch, listing

__all__ = ["explore_record", "register"]


def explore_record(store: Store, model_name: str, explore_name: str) -> Record | None:
    """The explore as stored, or one derived from the model's explore list, or None."""
    stored = store.find("explores", f"{model_name}::{explore_name}")
    if stored is not None:
        return stored
    model = store.find("lookml_models", model_name)
    if model is None:
        return None
    explores = model.get("explores")
    for nav in explores if isinstance(explores, list) else []:
        if isinstance(nav, dict) and nav.get("name") == explore_name:
            return new_record(
                "explores",
                {
                    "id": f"{model_name}::{explore_name}",
                    "name": explore_name,
                    "model_name": model_name,
                    "label": nav.get("label"),
                    "description": nav.get("description"),
                    "hidden": nav.get("hidden", False),
                    "group_label": nav.get("group_label"),
                    "project_name": model.get("project_name"),
                    "view_name": explore_name,
                },
            )
    return None


def _get(call: Call) -> object:
    return render(call.store, "lookml_models", require(call.store, "lookml_models", call.params["lookml_model_name"]))


def _all(call: Call) -> object:
    models = call.store.ordered("lookml_models")
    if call.flag("exclude_empty"):
        models = [x for x in models if x.get("explores")]
    return listing(call, "lookml_models", models)


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteLookmlModel, m.LookmlModel, creating=True)
    for key in ("name", "project_name"):
        if not data.get(key):
            raise invalid(key, "missing", f"{key} is required")
    if store.find("lookml_models", data["name"]) is not None:
        raise invalid("name", "already_exists", f"a LookML model named {data['name']!r} already exists")
    record = new_record(
        "lookml_models",
        {"unlimited_db_connections": False, "allowed_db_connection_names": [], "explores": [], **data},
    )
    store.save("lookml_models", record, key="name")
    return render(store, "lookml_models", record)


def _update(call: Call) -> object:
    store = call.store
    current = require(store, "lookml_models", call.params["lookml_model_name"])
    data = call.write(m.WriteLookmlModel, m.LookmlModel, creating=False)
    new_name = data.get("name") or current["name"]
    if new_name != current["name"] and store.find("lookml_models", new_name) is not None:
        raise invalid("name", "already_exists", f"a LookML model named {new_name!r} already exists")
    updated = dict(current)
    apply_patch(updated, data)
    updated["name"] = new_name
    if new_name != current["name"]:
        store.delete("lookml_models", str(current["name"]))
    store.save("lookml_models", updated, key="name")
    return render(store, "lookml_models", updated)


def _delete(call: Call) -> object:
    current = require(call.store, "lookml_models", call.params["lookml_model_name"])
    call.store.delete("lookml_models", str(current["name"]))
    return Reply(204)


def _explore(call: Call) -> object:
    record = explore_record(call.store, call.params["lookml_model_name"], call.params["explore_name"])
    if record is None:
        raise not_found()
    return render(call.store, "explores", record)


def register(router: Router) -> None:
    """Add the LookML model routes."""
    router.add("GET", "/lookml_models/{lookml_model_name}", _get)
    router.add("GET", "/lookml_models", _all)
    router.add("POST", "/lookml_models", _create)
    router.add("PATCH", "/lookml_models/{lookml_model_name}", _update)
    router.add("DELETE", "/lookml_models/{lookml_model_name}", _delete)
    router.add("GET", "/lookml_models/{lookml_model_name}/explores/{explore_name}", _explore)
