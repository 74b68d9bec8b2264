"""Looks (a saved query in a folder), queries (immutable, deduplicated, numeric ids and a slug) and merge queries."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from looker_sdk.sdk.api40 import models as m

from ..api_errors import invalid, not_found
from ..ops import ensure_unique, new_record, reference, require, require_model, stamp, upsert_query
from ..render import render
from ..router import Call, Reply, Router
from ..state import Store
from .common import Record, apply_patch, deleted_filter, listing, not_deleted, soft_delete, write_nested_folder

__all__ = ["LOOK_DEFAULTS", "register"]

LOOK_DEFAULTS: dict[str, object] = {
    "deleted": False,
    "public": False,
    "is_run_on_load": False,
    "favorite_count": 0,
    "view_count": 0,
    "is_owner_disabled": False,
}

_SEARCH = {
    "id": "id",
    "title": "title",
    "description": "description",
    "content_favorite_id": "content_favorite_id",
    "folder_id": "folder_id",
    "user_id": "user_id",
    "view_count": "view_count",
    "query_id": "query_id",
    "last_viewed_at": "last_viewed_at",
}


def _get(call: Call) -> object:
    return render(call.store, "looks", require(call.store, "looks", call.params["look_id"]))


def _all(call: Call) -> object:
    return listing(call, "looks", not_deleted(call.store.ordered("looks")), model=m.Look)


def _search(call: Call) -> object:
    looks = deleted_filter(call, call.store.ordered("looks"))
    return listing(call, "looks", looks, params=_SEARCH, model=m.Look)


def _check_look(call: Call, look: Record, *, exclude: str | None, changed: Iterable[str] | None = None) -> None:
    """Required fields, references and the unique title of a look.

    On an update (`changed` given) only the references the PATCH writes are
    checked: Looker never deletes a query, so on a real instance a look's
    query always exists, while a fake loaded from a LookerVault backup may
    know only its id. (A guess at Looker's validation, and the reading of
    PATCH that keeps an unchanged reference from failing a title edit.)
    """
    store = call.store
    check = set(changed) if changed is not None else {"query_id", "folder_id", "user_id"}
    if not look.get("title"):
        raise invalid("title", "missing", "title is required")
    if not look.get("query_id"):
        raise invalid("query_id", "missing", "query_id is required")
    if "query_id" in check:
        reference(store, "queries", look["query_id"], "query_id")
    if not look.get("folder_id"):
        raise invalid("folder_id", "missing", "folder_id is required")
    if "folder_id" in check:
        reference(store, "folders", look["folder_id"], "folder_id")
    if look.get("user_id") is not None and "user_id" in check:
        reference(store, "users", look["user_id"], "user_id")
    ensure_unique(store, "looks", look, exclude=exclude)


def _inline_query(call: Call, data: dict[str, object]) -> None:
    query = data.pop("query", None)
    if isinstance(query, dict):
        require_model(call.store, query.get("model"))
        data["query_id"] = upsert_query(call.store, query)["id"]


def _create(call: Call) -> object:
    store = call.store
    data = call.write(m.WriteLookWithQuery, m.LookWithQuery, creating=True)
    _inline_query(call, data)
    nested_folder = data.pop("folder", None)
    deleted = data.pop("deleted", None)
    look = new_record(
        "looks",
        {
            **LOOK_DEFAULTS,
            "user_id": call.user_id,
            **{k: v for k, v in data.items() if v is not None},
            "id": store.next_id("looks"),
            "content_metadata_id": store.next_id("content_metadata"),
        },
    )
    _check_look(call, look, exclude=None)
    soft_delete(look, deleted, call.user_id)
    write_nested_folder(call, look["folder_id"], nested_folder)
    stamp(look, created=True)
    store.save("looks", look)
    return render(store, "looks", look)


def _update(call: Call) -> object:
    store = call.store
    look = require(store, "looks", call.params["look_id"])
    data = call.write(m.WriteLookWithQuery, m.LookWithQuery, creating=False)
    _inline_query(call, data)
    nested_folder = data.pop("folder", None)
    deleted = data.pop("deleted", None)
    updated = dict(look)
    apply_patch(updated, data)
    soft_delete(updated, deleted, call.user_id)
    _check_look(call, updated, exclude=str(look["id"]), changed=data)
    write_nested_folder(call, updated["folder_id"], nested_folder)
    stamp(updated, created=False, user_id=call.user_id)
    store.save("looks", updated)
    return render(store, "looks", updated)


def _delete(call: Call) -> object:
    look = require(call.store, "looks", call.params["look_id"])
    call.store.delete("looks", str(look["id"]))
    return Reply(204)


def _query(call: Call) -> object:
    return render(call.store, "queries", require(call.store, "queries", call.params["query_id"]))


def _by_slug(store: Store, slug: object) -> Record | None:
    query = store.find("queries", slug)
    if query is None or (query.get("slug") or query["id"]) != slug:
        query = next((q for q in store.tables["queries"].values() if q.get("slug") == slug), None)
    return query


def _query_for_slug(call: Call) -> object:
    query = _by_slug(call.store, call.params["slug"])
    if query is None:
        raise not_found()
    return render(call.store, "queries", query)


def _create_query(call: Call) -> object:
    data = call.write(m.WriteQuery, m.Query, creating=True)
    require_model(call.store, data.get("model"))
    return render(call.store, "queries", upsert_query(call.store, data))


def _merge_query(call: Call) -> object:
    return render(call.store, "merge_queries", require(call.store, "merge_queries", call.params["merge_query_id"]))


def _create_merge_query(call: Call) -> object:
    """POST /merge_queries: the query behind a merged-results tile.

    Evidence: the API description (create_merge_query, MergeQuerySourceQuery
    with query_id or query_slug, merge_fields); mcp-toolbox's Looker tools
    (pull request #3758) and gzr's `create_merge_result` create each source
    query first and pass its id. Looker offers only create and get, and merge
    query ids are opaque strings (looker-cli issue #233 shows one). Unlike
    queries they are not deduplicated here: a guess.
    """
    store = call.store
    data = call.write(m.WriteMergeQuery, m.MergeQuery, creating=True)
    sources = data.get("source_queries")
    if not isinstance(sources, list) or not sources:
        raise invalid("source_queries", "missing", "source_queries is required")
    for i, source in enumerate(sources):
        if not isinstance(source, dict):
            raise invalid(f"source_queries[{i}]", "invalid", "a source query must be an object")
        query_id = source.get("query_id")
        if query_id is None and source.get("query_slug") is not None:
            by_slug = _by_slug(store, source["query_slug"])
            query_id = None if by_slug is None else by_slug["id"]
        if query_id is None:
            raise invalid(f"source_queries[{i}].query_id", "missing", "query_id is required")
        source["query_id"] = reference(store, "queries", query_id, f"source_queries[{i}].query_id")["id"]
    merge_id = secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")[:22]
    record = new_record("merge_queries", {**{k: v for k, v in data.items() if v is not None}, "id": merge_id})
    store.save("merge_queries", record)
    return render(store, "merge_queries", record)


def register(router: Router) -> None:
    """Add the look and query routes."""
    router.add("GET", "/looks/search", _search)
    router.add("GET", "/looks/{look_id}", _get)
    router.add("GET", "/looks", _all)
    router.add("POST", "/looks", _create)
    router.add("PATCH", "/looks/{look_id}", _update)
    router.add("DELETE", "/looks/{look_id}", _delete)
    router.add("GET", "/queries/slug/{slug}", _query_for_slug)
    router.add("GET", "/queries/{query_id}", _query)
    router.add("POST", "/queries", _create_query)
    router.add("GET", "/merge_queries/{merge_query_id}", _merge_query)
    router.add("POST", "/merge_queries", _create_merge_query)
