"""Looker's content validator (`GET /content_validation`), computed from the fake's own state.

Evidence for the shape: spectacles-ci/spectacles `tests/cassettes/test_content_validator/
fixture_validator_fail.yaml` (a recording of a live Looker 7.x, API 3.1; read from that
repo's history before commit c9567de): one `content_with_errors` entry per broken look or
per broken dashboard tile, the other content keys null, `errors` of
`{message, field_name, model_name, explore_name, removable}`, an `id` counting entries
from 0, then `computation_time` and `total_*_validated` counts. API 4.0 adds `alert`,
`lookml_dashboard`, `lookml_dashboard_element` and `total_alerts_validated`
(Looker.4.0.oas.json `ContentValidatorError`, `ContentValidation`), and drops 3.1's `space`.
"""

from __future__ import annotations

import time

from ..router import Call, Router
from ..state import Store
from .common import Record
from .lookml import explore_record

__all__ = ["content_validation", "register"]

_TILE_KEYS = ("body_text", "dashboard_id", "id", "look_id", "note_display", "note_state", "note_text",
              "note_text_as_html", "subtitle_text", "title", "title_hidden", "title_text", "type")


def _error(message: str, model: object, explore: object, field: str | None) -> Record:
    # `removable` is true for an unknown field (the recording); for a missing model or
    # explore nothing can be removed from the query: a guess.
    return {"message": message, "field_name": field, "model_name": model, "explore_name": explore,
            "removable": field is not None}


def _explore_fields(explore: Record) -> list[Record] | None:
    """Every field of an explore, or None when the fake was not told its fields."""
    fields = explore.get("fields")
    if not isinstance(fields, dict):
        return None
    out = [f for kind in ("dimensions", "measures", "filters", "parameters")
           for f in (fields.get(kind) or []) if isinstance(f, dict) and f.get("name")]
    return out or None


def _unknown(used: list[str], known: list[Record]) -> list[str]:
    """The fields of `used` the explore lacks, judged only within views whose fields the fake was given.

    A real explore lists every field of every joined view, each timeframe of a
    dimension group as its own field (`LookmlModelExploreField.dimension_group`
    in the API description). Explores loaded from backups or built by tests may
    list only some: a field of a view they do not list, or another timeframe of
    a listed date field (`orders.created_month` beside `orders.created_date`),
    is taken as known, so the fake reports no error Looker would not (a guess
    on the safe side).
    """
    names = {str(f["name"]) for f in known}
    views = {n.split(".", 1)[0] for n in names}
    groups = {str(f.get("dimension_group") or str(f["name"]).rsplit("_", 1)[0]) for f in known
              if str(f.get("type") or "").startswith("date") or f.get("dimension_group")}
    return [f for f in dict.fromkeys(used) if f not in names and f.split(".", 1)[0] in views
            and f.rsplit("_", 1)[0] not in groups]


def _query_errors(store: Store, model: object, explore_name: object, used: list[str]) -> list[Record]:
    """What the validator says about content on `model`/`explore_name` using the fields `used`."""
    if not model:
        return []  # an opaque query loaded from a backup: nothing known to validate
    lookml_model = store.find("lookml_models", model)
    if lookml_model is None:
        # A guess at the wording, patterned on the recorded 'Unknown field "x".'; the
        # model_name/explore_name keys are the recorded ones.
        return [_error(f'Unknown model "{model}".', model, explore_name, None)]
    if not explore_name or not lookml_model.get("explores"):
        return []  # the fake does not know this model's explores: no finding rather than a false one
    explore = explore_record(store, str(model), str(explore_name))
    if explore is None:
        # A guess at the wording, as above.
        return [_error(f'Unknown explore "{explore_name}".', model, explore_name, None)]
    known = _explore_fields(explore)
    if known is None:
        return []
    # Recorded: 'Unknown field "orders.average_profit".' with field_name, removable true.
    return [_error(f'Unknown field "{f}".', model, explore_name, f) for f in _unknown(used, known)]


def _fields_of(query: Record) -> list[str]:
    fields = query.get("fields")
    used = [f for f in fields if isinstance(f, str)] if isinstance(fields, list) else []
    filters = query.get("filters")
    used += [str(k) for k in filters] if isinstance(filters, dict) else []
    # Table calculations and custom fields have no view prefix; they are not LookML fields.
    return [f for f in used if "." in f]


def _folder(store: Store, folder_id: object) -> Record | None:
    folder = store.find("folders", folder_id)
    return None if folder is None else {"name": folder.get("name"), "id": folder.get("id")}


def _entry(**parts: Record | None) -> Record:
    keys = ("look", "dashboard", "dashboard_element", "dashboard_filter", "scheduled_plan", "alert",
            "lookml_dashboard", "lookml_dashboard_element")
    return {k: parts.get(k) for k in keys}


def content_validation(store: Store) -> Record:
    """The validator's answer for the fake's current looks, tiles and dashboard filters."""
    started = time.perf_counter()
    found: list[Record] = []
    looks = [x for x in store.ordered("looks") if not x.get("deleted")]
    for look in looks:
        query = store.find("queries", look.get("query_id")) or {}
        errors = _query_errors(store, query.get("model"), query.get("view"), _fields_of(query))
        if errors:
            found.append({**_entry(look={"id": look.get("id"), "title": look.get("title"),
                                         "short_url": look.get("short_url"),
                                         "folder": _folder(store, look.get("folder_id"))}), "errors": errors})
    live = {str(d["id"]): d for d in store.ordered("dashboards") if not d.get("deleted")}
    tiles = [e for e in store.ordered("dashboard_elements") if str(e.get("dashboard_id")) in live]
    filters = [f for f in store.ordered("dashboard_filters") if str(f.get("dashboard_id")) in live]

    def dashboard(dashboard_id: object) -> Record:
        d = live[str(dashboard_id)]
        return {"description": d.get("description"), "id": d.get("id"), "title": d.get("title"),
                "folder": _folder(store, d.get("folder_id"))}

    for tile in tiles:
        # A tile showing a look is not reported on its own: the recording lists tiles with
        # `look_id: null` only, and the look itself is validated above.
        tile_query = store.find("queries", tile.get("query_id")) if tile.get("query_id") else None
        if tile_query is None:
            continue
        errors = _query_errors(store, tile_query.get("model"), tile_query.get("view"), _fields_of(tile_query))
        if errors:
            # Recorded: the tile's `query_id` is null in the validator's answer even for a query tile.
            element = {**{k: tile.get(k) for k in _TILE_KEYS}, "query_id": None}
            found.append({**_entry(dashboard=dashboard(tile["dashboard_id"]), dashboard_element=element),
                          "errors": errors})
    for dash_filter in filters:
        if dash_filter.get("type") != "field_filter":
            continue
        # A guess: a field filter is validated like a query on its model, explore and dimension
        # (ContentValidatorError has `dashboard_filter`; the recordings hold none).
        dimension = dash_filter.get("dimension")
        errors = _query_errors(store, dash_filter.get("model"), dash_filter.get("explore"),
                               [str(dimension)] if isinstance(dimension, str) and "." in dimension else [])
        if errors:
            # Shape from the API description (ContentValidationDashboardFilter); no recording shows one.
            keys = ("id", "dashboard_id", "name", "title", "type", "default_value", "model", "explore", "dimension")
            found.append({**_entry(dashboard=dashboard(dash_filter["dashboard_id"]),
                                   dashboard_filter={k: dash_filter.get(k) for k in keys}), "errors": errors})
    return {
        # Recorded: ids count the entries from 0 (integers in API 3.1; strings in 4.0, per the API description).
        "content_with_errors": [{**entry, "id": str(i)} for i, entry in enumerate(found)],
        "computation_time": round(time.perf_counter() - started, 6),
        "total_looks_validated": len(looks),
        "total_dashboard_elements_validated": len(tiles),
        "total_dashboard_filters_validated": len(filters),
        "total_scheduled_plans_validated": 0,  # a guess: the recording validated none either
        "total_alerts_validated": 0,  # the fake keeps no alerts (issue 21 adds them)
        # A guess: the explores the fake holds (recorded: 8 on an instance whose models list more).
        "total_explores_validated": len(store.ordered("explores")),
    }


def _validate(call: Call) -> object:
    # `project_names` and `space_ids` narrow the answer on Looker (API description); the fake
    # validates everything and ignores them: a simplification, no client here sends them.
    return content_validation(call.store)


def register(router: Router) -> None:
    """Add the content validator route."""
    router.add("GET", "/content_validation", _validate)
