"""Bulk reads of the live objects of one type, so that an unchanged item needs no GET of its own.

Looker offers paged listings that answer exactly the fields asked for
(`search_looks(fields=, limit=, offset=)`, `all_folders(fields=)`; API
description: "fields: Requested fields."). A listing is used for a type only
where its model carries every field restore compares for that type (the
type's writable fields, its identity fields and `updated_at`): the record
then stands in for the object's GET exactly, but for the object's `url`
(not in `Look` or `Folder`), so a result decided from a listing has none. Types whose comparison
needs nested parts the listings lack (a dashboard's tiles, filters and tabs)
are not listed. An object missing from a listing is read by its own GET as
before (it may have been created since, or be soft-deleted, which search
leaves out), so a listing can only save reads, never hide an object.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import fields_param, spec
from .identity import identity_fields
from .item import as_dict

if TYPE_CHECKING:
    from ..looker import LookerClient

__all__ = ["LISTABLE", "PAGE_SIZE", "listing_fields", "read_listing"]

#: Type → (the SDK listing, the model it answers with, whether it pages by limit/offset).
_LISTINGS: dict[CT, tuple[str, type, bool]] = {
    CT.LOOK: ("search_looks", m.Look, True),
    # all_folders takes no limit/offset (API description, GET /folders) and is
    # documented to return every folder, personal ones included.
    CT.FOLDER: ("all_folders", m.Folder, False),
}

PAGE_SIZE = 500


def _names(model: type) -> set[str]:
    return {f.name for f in model.__attrs_attrs__}  # type: ignore[attr-defined]


def _compared(content_type: CT) -> tuple[str, ...]:
    """What restore reads of a live object of this type (as far as its GET answers it)."""
    wanted = ("id", *sorted(spec(content_type).writable), *identity_fields(content_type), "updated_at")
    return tuple(f for f in wanted if f in _names(spec(content_type).read_model))


def _carries_all(content_type: CT) -> bool:
    return set(_compared(content_type)) <= _names(_LISTINGS[content_type][1])


#: The types whose listing carries every compared field.
LISTABLE = frozenset(ct for ct in _LISTINGS if _carries_all(ct))


@functools.cache
def listing_fields(content_type: CT) -> str:
    """The `fields=` of a type's listing: what restore compares plus what the SDK model requires."""
    _, model, _ = _LISTINGS[content_type]
    return fields_param(model, *_compared(content_type))


def read_listing(client: LookerClient, content_type: CT, *, page_size: int = PAGE_SIZE) -> dict[str, Mapping[str, object]]:
    """Every live object of a listable type, by id, with the fields restore compares.

    Raises:
        ValueError: the type has no listing that carries every compared field.
        LookerApiError: Looker refused a page after retries.
    """
    if content_type not in LISTABLE:
        raise ValueError(f"{content_type.label} has no listing that carries every field restore compares")
    method, _, paged = _LISTINGS[content_type]
    listing = getattr(client.plain_sdk, method)
    fields = listing_fields(content_type)
    out: dict[str, Mapping[str, object]] = {}
    offset = 0
    while True:
        if paged:
            at = offset
            page: Sequence[object] = client.call(lambda: listing(fields=fields, sorts="id", limit=page_size, offset=at))
        else:
            page = client.call(lambda: listing(fields=fields))
        for record in map(as_dict, page):
            if record.get("id") is not None:
                out[str(record["id"])] = record
        if not paged or len(page) < page_size:
            return out
        offset += page_size
