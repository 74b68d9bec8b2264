"""Snapshot: a live Looker instance written as a LookerVault backup, complete.

LookerVault's extraction leaves out what a restore into another instance
needs (backup-format.md): looks without their query, dashboards without tiles,
no merge queries. A snapshot writes the same tables, type codes and blobs
(so LookerVault and `BackupReader` read it) but reads each object the way
that returns it whole:

- looks through `look(id)` (a `LookWithQuery`), dashboards through
  `dashboard(id)` (tiles with `result_maker.filterables[].listen`, filters,
  every layout with its components), boards through `board(id)`;
- a merged-results tile's merge query under the tile's `merge_result`, each
  `source_queries[i].query` the full Query (gzr's export convention, what
  restore reads);
- users from `all_users` (with `role_ids`, `group_ids`, `email` and
  `credentials_email`), roles with nested `permission_set` / `model_set` as
  LookerVault holds them, folders as `FolderBase` (`all_folders`), schedules of every user,
  LookML models and each explore a model lists;
- alerts of every owner (`search_alerts(all_owners=true)`, paged), under
  this project's own type code (content_types.ContentType.ALERT), each with
  its tile's dashboard added as `dashboard_id` (an Alert names only the
  tile). Followers are not in the API, so not in the snapshot.
- what LookerVault does not capture, as types of its own (codes 110-112,
  docs/access-and-attributes.md): each folder's access, user attributes with
  their group values, users' own attribute values.

Listings are paged (`limit`/`offset`) and ask only for the ids when each
object is then read on its own (only `all_folders` and `all_scheduled_plans`,
which LookerVault uses too, take no paging: one call each); objects are written as they arrive, so memory
does not grow with the instance. Blobs are the SDK object's attributes as a
plain dict, nested objects with every field, datetimes as datetimes, enums as
their values — what LookerVault writes (the SDK's cattrs `unstructure` would
drop nested nulls and turn datetimes into strings, unlike LookerVault's files).
Trashed (soft-deleted) looks and dashboards are not part of a snapshot.
"""

from __future__ import annotations

import enum
import functools
import os
import time
import uuid
from collections import UserList
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import attr
from looker_sdk.sdk.api40.methods import Looker40SDK
from looker_sdk.sdk.api40.models import DelimSequence

from ._backup_writer import BackupWriter
from .content_types import ContentType as CT
from .errors import NotFound

if TYPE_CHECKING:
    from .looker import LookerClient

__all__ = ["SNAPSHOT_ORDER", "Progress", "SnapshotProgress", "SnapshotSummary", "plain", "take_snapshot"]

T = TypeVar("T")
#: UserAttributeWithValue.source of a value set on the user itself. A guess: the API
#: description says only "How user got this value"; the fake answers the same.
_USER_SOURCE = "user"
Obj = dict[str, object]

#: Types in the order they are written: what an object refers to comes first.
SNAPSHOT_ORDER: tuple[CT, ...] = (
    CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER, CT.LOOKML_MODEL, CT.EXPLORE,
    CT.FOLDER, CT.LOOK, CT.DASHBOARD, CT.SCHEDULED_PLAN, CT.BOARD, CT.ALERT,
    CT.FOLDER_ACCESS, CT.USER_ATTRIBUTE, CT.USER_ATTRIBUTE_VALUE,
)


@dataclass(frozen=True)
class SnapshotProgress:
    """How far a snapshot has come: reported after each item and at the end of each type."""

    content_type: CT
    #: Items of this type written so far.
    count: int
    #: Items of every type written so far.
    total: int
    #: Whether every item of this type is written.
    finished: bool


Progress = Callable[[SnapshotProgress], None]


@dataclass(frozen=True)
class SnapshotSummary:
    """What a snapshot wrote."""

    path: Path
    counts: Mapping[CT, int]
    #: Objects listed but gone (404) by the time they were read, as "<type> <id>".
    skipped: tuple[str, ...]
    api_calls: int
    duration_s: float

    @property
    def total(self) -> int:
        """Items written, all types together."""
        return sum(self.counts.values())


def plain(value: object) -> object:
    """An SDK object as plain data: attrs models as dicts of every field, enums as values.

    Datetimes stay datetimes (MessagePack timestamps in the blob), as in LookerVault's files.
    """
    if attr.has(type(value)):
        return {f.name: plain(getattr(value, f.name)) for f in attr.fields(type(value))}  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, UserList)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _obj(value: object) -> Obj:
    data = plain(value)
    if not isinstance(data, dict):
        raise TypeError(f"expected an SDK object, got {type(value).__name__}")
    return data


def take_snapshot(
    client: LookerClient,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    page_size: int = 100,
    progress: Progress | None = None,
) -> SnapshotSummary:
    """Write the instance `client` is connected to as a LookerVault (schema v4) backup at `out`.

    The backup is written under a temporary name beside `out` and renamed only
    when complete, so a failed snapshot never leaves a partial file at `out`.

    Raises:
        FileExistsError: `out` exists and `overwrite` is false.
        LookerApiError: Looker refused or failed a call (after the client's retries).
        BackupError: the file could not be written.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    target = Path(out)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; choose another name or allow overwriting it")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    started, calls = time.monotonic(), client.calls
    reader = _Reader(client, page_size)
    counts: dict[CT, int] = {}
    try:
        with BackupWriter(partial) as writer:
            total = 0
            for ct in SNAPSHOT_ORDER:
                count = 0
                for data in reader.read(ct):
                    writer.add(ct, data)
                    count += 1
                    total += 1
                    if progress is not None:
                        progress(SnapshotProgress(ct, count, total, finished=False))
                counts[ct] = count
                if progress is not None:
                    progress(SnapshotProgress(ct, count, total, finished=True))
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} appeared while the snapshot was taken; it was left as it is")
        os.replace(partial, target)
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
    return SnapshotSummary(path=target, counts=counts, skipped=tuple(reader.skipped),
                           api_calls=client.calls - calls, duration_s=time.monotonic() - started)


@dataclass
class _Reader:
    """Reads each content type from Looker as complete plain objects, page by page."""

    client: LookerClient
    page_size: int
    skipped: list[str] = field(default_factory=list)
    #: (model, explore) names listed by the LookML models, read after the models.
    explores: list[tuple[str, str]] = field(default_factory=list)
    #: The dashboard of each tile read, for the alerts read after the dashboards.
    tile_dashboards: dict[str, str] = field(default_factory=dict)
    #: Reads more than one type needs (the custom user attributes).
    cache: dict[str, list[Obj]] = field(default_factory=dict)

    def read(self, ct: CT) -> Iterator[Obj]:
        readers: dict[CT, Callable[[], Iterator[Obj]]] = {
            CT.PERMISSION_SET: lambda: self._listed(self.sdk.search_permission_sets, sorts="id"),
            CT.MODEL_SET: lambda: self._listed(self.sdk.search_model_sets, sorts="id"),
            # Roles with nested permission_set / model_set, as LookerVault holds them.
            CT.ROLE: lambda: self._listed(self.sdk.search_roles, sorts="id"),
            CT.GROUP: lambda: self._listed(self.sdk.search_groups, sorts="id"),
            # all_users returns whole users: role_ids, group_ids, email, credentials_email.
            CT.USER: lambda: self._listed(self.sdk.all_users, sorts="id"),
            CT.LOOKML_MODEL: self._lookml_models,
            CT.EXPLORE: self._explores,
            CT.FOLDER: self._folders,
            CT.LOOK: lambda: self._each(CT.LOOK, self.sdk.search_looks, self.sdk.look),
            CT.DASHBOARD: self._dashboards,
            CT.SCHEDULED_PLAN: self._scheduled_plans,
            CT.BOARD: lambda: self._each(CT.BOARD, self.sdk.search_boards, self.sdk.board),
            CT.ALERT: self._alerts,
            CT.FOLDER_ACCESS: self._folder_access,
            CT.USER_ATTRIBUTE: self._user_attributes,
            CT.USER_ATTRIBUTE_VALUE: self._user_attribute_values,
        }
        return readers[ct]()

    @property
    def sdk(self) -> Looker40SDK:
        return self.client.sdk

    # --- calls ------------------------------------------------------------------------

    def _pages(self, listing: Callable[..., Sequence[T]], **kwargs: object) -> Iterator[T]:
        """Every object of a paged listing (`limit`/`offset`), one page in memory at a time."""
        offset = 0
        while True:
            page = self.client.call(functools.partial(listing, limit=self.page_size, offset=offset, **kwargs))
            yield from page
            if len(page) < self.page_size:
                return
            offset += len(page)

    def _get(self, what: str, fetch: Callable[[], T]) -> T | None:
        """One object, or None (noted as skipped) when it was deleted after it was listed."""
        try:
            return self.client.call(fetch)
        except NotFound:
            self.skipped.append(what)
            return None

    def _listed(self, listing: Callable[..., Sequence[object]], **kwargs: object) -> Iterator[Obj]:
        for obj in self._pages(listing, **kwargs):
            yield _obj(obj)

    def _each(self, ct: CT, listing: Callable[..., Sequence[object]], get: Callable[[str], object]) -> Iterator[Obj]:
        """List ids only, then read each object whole (a listing returns them incomplete)."""
        for listed in self._pages(listing, fields="id", sorts="id"):
            item_id = str(getattr(listed, "id", None))
            found = self._get(f"{ct.label} {item_id}", functools.partial(get, item_id))
            if found is not None:
                yield _obj(found)

    # --- types read in more than one call ------------------------------------------------

    def _lookml_models(self) -> Iterator[Obj]:
        for model in self._pages(self.sdk.all_lookml_models):
            data = _obj(model)
            for nav in data.get("explores") or []:  # type: ignore[attr-defined]
                if isinstance(nav, Mapping) and nav.get("name") and data.get("name"):
                    self.explores.append((str(data["name"]), str(nav["name"])))
            yield data

    def _explores(self) -> Iterator[Obj]:
        for model, name in self.explores:
            found = self._get(f"explore {model}::{name}",
                              functools.partial(self.sdk.lookml_model_explore, model, name))
            if found is not None:
                yield _obj(found)

    def _folders(self) -> Iterator[Obj]:
        # Not paged: all_folders takes no limit/offset, but it is the listing the API
        # documents to return every personal folder (search_folders says nothing of them),
        # and it returns FolderBase, what LookerVault's folder rows hold.
        for folder in self.client.call(lambda: self.sdk.all_folders()):
            yield _obj(folder)

    def _folder_access(self) -> Iterator[Obj]:
        """Each folder's `inherits` and access records (docs/access-and-attributes.md).

        Personal folders (and folders inside them) and embed folders are left
        out, as lmanage leaves them (capturator/folder_capturation): Looker
        gives their access with the user. The LookML Dashboards folder has no
        content metadata.
        """
        folders = self.client.call(lambda: self.sdk.all_folders(
            fields="id,name,parent_id,content_metadata_id,is_personal,is_personal_descendant,is_embed"))
        for folder in folders:
            cmid = folder.content_metadata_id
            if cmid is None or folder.is_personal or folder.is_personal_descendant or folder.is_embed:
                continue
            meta = self._get(f"content metadata {cmid}", functools.partial(self.sdk.content_metadata, str(cmid)))
            if meta is None:
                continue
            accesses = self.client.call(functools.partial(self.sdk.all_content_metadata_accesses, str(cmid)))
            yield {
                "id": str(folder.id), "folder_id": str(folder.id), "name": folder.name,
                "content_metadata_id": str(cmid), "inherits": bool(meta.inherits),
                "accesses": sorted(({"group_id": a.group_id, "user_id": a.user_id,
                                     "permission_type": plain(a.permission_type)} for a in accesses),
                                   key=lambda a: (str(a["group_id"]), str(a["user_id"]))),
            }

    def _custom_attributes(self) -> list[Obj]:
        """User attribute definitions, system ones left out (lmanage and looker_deployer skip `is_system`)."""
        if "attributes" not in self.cache:
            listed = self.client.call(lambda: self.sdk.all_user_attributes(sorts="id"))
            self.cache["attributes"] = [_obj(a) for a in listed if not a.is_system]
        return self.cache["attributes"]

    def _user_attributes(self) -> Iterator[Obj]:
        for attribute in self._custom_attributes():
            attr_id = str(attribute["id"])
            # In precedence order (API description, all_user_attribute_group_values); a hidden
            # attribute's values come back null: write-only, recorded as hidden.
            values = self.client.call(functools.partial(self.sdk.all_user_attribute_group_values, attr_id))
            yield {**attribute, "group_values": [
                {"group_id": v.group_id, "value": v.value, "rank": v.rank, "value_is_hidden": bool(v.value_is_hidden)}
                for v in values]}

    def _user_attribute_values(self) -> Iterator[Obj]:
        """Each user's own values (not those from groups or defaults), one item per user that has any."""
        names = {str(a["id"]): a.get("name") for a in self._custom_attributes()}
        if not names:
            return
        for listed in self._pages(self.sdk.all_users, fields="id", sorts="id"):
            user_id = str(listed.id)
            found = self._get(f"user {user_id} attribute values", functools.partial(
                self.sdk.user_attribute_user_values, user_id, user_attribute_ids=DelimSequence(list(names))))
            own = [v for v in found or [] if v.source == _USER_SOURCE and str(v.user_attribute_id) in names]
            if own:
                yield {"id": user_id, "user_id": user_id, "values": [
                    {"user_attribute_id": str(v.user_attribute_id), "name": v.name, "value": v.value,
                     "value_is_hidden": bool(v.value_is_hidden)} for v in own]}

    def _scheduled_plans(self) -> Iterator[Obj]:
        # Not paged: the API's all_scheduled_plans takes no limit/offset (LookerVault reads it so).
        for plan in self.client.call(lambda: self.sdk.all_scheduled_plans(all_users=True)):
            yield _obj(plan)

    def _dashboards(self) -> Iterator[Obj]:
        for data in self._each(CT.DASHBOARD, self.sdk.search_dashboards, self.sdk.dashboard):
            merges: dict[str, Obj | None] = {}
            for element in data.get("dashboard_elements") or []:  # type: ignore[attr-defined]
                if isinstance(element, dict) and element.get("id") is not None:
                    self.tile_dashboards[str(element["id"])] = str(data.get("id"))
                merge_id = element.get("merge_result_id") if isinstance(element, dict) else None
                if merge_id is None:
                    continue
                if str(merge_id) not in merges:
                    merges[str(merge_id)] = self._merge_query(str(merge_id))
                if merges[str(merge_id)] is not None:
                    element["merge_result"] = merges[str(merge_id)]
            yield data

    def _alerts(self) -> Iterator[Obj]:
        # all_owners: "(Admin only) Filter for all owners" (API description); without it,
        # only the API user's own alerts. An alert whose tile is gone keeps its
        # dashboard_element_id (looker-cli #113) and gets no dashboard_id here.
        for alert in self._pages(self.sdk.search_alerts, all_owners=True):
            data = _obj(alert)
            dashboard = self.tile_dashboards.get(str(data.get("dashboard_element_id")))
            if dashboard is not None:
                data["dashboard_id"] = dashboard
            yield data

    def _merge_query(self, merge_id: str) -> Obj | None:
        """A merge query with each source query's full Query under `query` (gzr's export form)."""
        found = self._get(f"merge query {merge_id}", functools.partial(self.sdk.merge_query, merge_id))
        if found is None:
            return None
        merge = _obj(found)
        for source in merge.get("source_queries") or []:  # type: ignore[attr-defined]
            if isinstance(source, dict) and source.get("query_id") is not None:
                query_id = str(source["query_id"])
                query = self._get(f"query {query_id}", functools.partial(self.sdk.query, query_id))
                source["query"] = None if query is None else _obj(query)
        return merge
