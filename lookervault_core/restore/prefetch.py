"""Bulk reads of the live objects of one type, so that an unchanged item needs no GET of its own.

Looker offers listings that answer exactly the fields asked for
(`search_looks(fields=, limit=, offset=)`, `all_folders(fields=)`, `all_users`,
`all_roles`, ...; API description: "fields: Requested fields."). A listing is
used for a type only where its model carries every field restore reads of a
live object of that type: the type's writable fields, its identity fields and
`updated_at`, and what its handler reads besides (a user's `group_ids`,
`role_ids` and `credentials_email`; a role's nested sets). The record then
stands in for the object's GET exactly (its `url` too, where the model has
one). Types whose comparison needs nested parts no listing is known to answer
(a dashboard's tiles, filters and tabs; a board's sections and items) are not
listed. An object missing from a listing is read by its own GET as before (it
may have been created since, or be soft-deleted, which search leaves out), so
a listing can only save reads, never hide an object.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import fields_param, spec
from .identity import identity_fields
from .item import as_dict

if TYPE_CHECKING:
    from ..looker import LookerClient

__all__ = ["LISTABLE", "PAGE_SIZE", "listing_fields", "read_listing"]


@dataclass(frozen=True)
class _Listing:
    """One type's listing and what to ask of it."""

    #: The SDK method.
    method: str
    #: The model it answers with (API description, the operation's 200 response).
    model: type
    #: Whether it pages by limit/offset (only where the API description lists both).
    paged: bool
    #: Further arguments of every call.
    args: Mapping[str, object] = field(default_factory=dict)
    #: What the type's handler reads of the live object beyond the compared fields.
    extra: tuple[str, ...] = ()
    #: Compared fields Looker never answers (write-only): not asked for.
    write_only: frozenset[str] = frozenset()


_LISTINGS: dict[CT, _Listing] = {
    CT.LOOK: _Listing("search_looks", m.Look, True),
    # all_folders takes no limit/offset (API description, GET /folders) and is
    # documented to return every folder, personal ones included.
    CT.FOLDER: _Listing("all_folders", m.Folder, False),
    # all_permission_sets / all_model_sets take no limit/offset (API description,
    # GET /permission_sets, GET /model_sets). gzr's `permission set ls` and
    # `model set ls` list them with fields=id,name,permissions,... and
    # fields=id,name,models (gzr lib/gzr/commands/permission/set.rb, model/set.rb,
    # before the Go rewrite fe2ebda).
    CT.PERMISSION_SET: _Listing("all_permission_sets", m.PermissionSet, False),
    CT.MODEL_SET: _Listing("all_model_sets", m.ModelSet, False),
    # all_roles takes no limit/offset (API description, GET /roles). Roles are read
    # with their sets nested; `permission_set_id` / `model_set_id` are write-only
    # (API description, Role), so the sets' ids are asked nested, as gzr's
    # `role ls` asks `permission_set(id,name,permissions),model_set(id,name,models)`
    # of all_roles (gzr lib/gzr/commands/role.rb); looker-sdk-ruby's
    # examples/roles_and_users_with_permission.rb reads `role.permission_set.permissions`
    # and `role.model_set.models` from all_roles.
    CT.ROLE: _Listing("all_roles", m.Role, False, extra=("permission_set(id)", "model_set(id)"),
                      write_only=frozenset({"permission_set_id", "model_set_id"})),
    # all_groups pages by limit/offset (API description, GET /groups); gzr's
    # `group ls` lists them with all_groups(fields=..., sorts="id")
    # (gzr lib/gzr/modules/group.rb).
    CT.GROUP: _Listing("all_groups", m.Group, True),
    # all_users pages by limit/offset (API description, GET /users), as gzr pages it
    # (gzr lib/gzr/modules/user.rb, query_all_users: limit 64, offset += limit).
    # restore_user reads the user's email credentials, groups and roles from the
    # user object itself (no calls of their own), so the listing must carry them:
    # looker-sdk-ruby's examples/users_with_credentials_email.rb reads
    # `credentials_email.email` of all_users(fields: 'id, is_disabled, credentials_email'),
    # examples/roles_and_users_with_permission.rb `role_ids` of all_users, and
    # public audit scripts ask all_users(fields="id,email,display_name,group_ids,role_ids").
    CT.USER: _Listing("all_users", m.User, True,
                      extra=("credentials_email", "group_ids", "role_ids", "roles_externally_managed")),
    # all_scheduled_plans takes no limit/offset; all_users=true lists every user's
    # plans (API description, GET /scheduled_plans). Its plans carry their
    # destinations: gzr's `look cat --plans` / `dashboard cat --plans` export the
    # sibling listings scheduled_plans_for_look/_dashboard and import copies their
    # `scheduled_plan_destination` (gzr lib/gzr/modules/plan.rb, upsert_plan_for_obj),
    # as does sdk-codegen's examples/python/manage_schedules.py; a public sample
    # reads `scheduled_plan_destination[0].address` of all_scheduled_plans(all_users=True).
    CT.SCHEDULED_PLAN: _Listing("all_scheduled_plans", m.ScheduledPlan, False, args={"all_users": True}),
}

PAGE_SIZE = 500


def _names(model: type) -> set[str]:
    return {f.name for f in model.__attrs_attrs__}  # type: ignore[attr-defined]


def _compared(content_type: CT) -> tuple[str, ...]:
    """What restore compares of a live object of this type (as far as its GET answers it)."""
    wanted = ("id", *sorted(spec(content_type).writable), *identity_fields(content_type), "updated_at")
    return tuple(f for f in wanted if f in _names(spec(content_type).read_model))


def _asked(content_type: CT) -> tuple[str, ...]:
    """What a type's listing asks for: the compared fields Looker answers, what the handler reads, `url`."""
    listing = _LISTINGS[content_type]
    compared = [f for f in _compared(content_type) if f not in listing.write_only]
    url = ("url",) if "url" in _names(listing.model) else ()
    return tuple(dict.fromkeys([*compared, *listing.extra, *url]))


def _carries_all(content_type: CT) -> bool:
    listing = _LISTINGS[content_type]
    top_level = {f.partition("(")[0] for f in (*_compared(content_type), *listing.extra)}
    return top_level <= _names(listing.model)


#: The types whose listing carries every compared field.
LISTABLE = frozenset(ct for ct in _LISTINGS if _carries_all(ct))


@functools.cache
def listing_fields(content_type: CT) -> str:
    """The `fields=` of a type's listing: what restore reads plus what the SDK model requires."""
    return fields_param(_LISTINGS[content_type].model, *_asked(content_type))


def read_listing(client: LookerClient, content_type: CT, *, page_size: int = PAGE_SIZE) -> dict[str, Mapping[str, object]]:
    """Every live object of a listable type, by id, with the fields restore reads.

    Raises:
        ValueError: the type has no listing that carries every compared field.
        LookerApiError: Looker refused a page after retries.
    """
    if content_type not in LISTABLE:
        raise ValueError(f"{content_type.label} has no listing that carries every field restore compares")
    spec_ = _LISTINGS[content_type]
    listing = getattr(client.plain_sdk, spec_.method)
    fields = listing_fields(content_type)
    args = dict(spec_.args)
    out: dict[str, Mapping[str, object]] = {}
    offset = 0
    while True:
        if spec_.paged:
            at = offset
            page: Sequence[object] = client.call(
                lambda: listing(fields=fields, sorts="id", limit=page_size, offset=at, **args))
        else:
            page = client.call(lambda: listing(fields=fields, **args))
        for record in map(as_dict, page):
            if record.get("id") is not None:
                out[str(record["id"])] = record
        if not spec_.paged or len(page) < page_size:
            return out
        offset += page_size
