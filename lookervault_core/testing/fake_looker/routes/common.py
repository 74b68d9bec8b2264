"""Helpers the route modules share: listing, patching, soft delete."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ..listing import page, search, sort
from ..render import render_many
from ..router import Call
from ..state import now_iso

__all__ = [
    "Record",
    "SearchParams",
    "apply_patch",
    "deleted_filter",
    "listing",
    "not_deleted",
    "soft_delete",
    "write_nested_folder",
]

Record = dict[str, object]
SearchParams = Mapping[str, str | Callable[[Record, str], bool]]


def listing(
    call: Call,
    collection: str,
    records: Iterable[Record],
    *,
    params: SearchParams | None = None,
    model: type | None = None,
) -> list[Record]:
    """Filter stored records by search parameters, sort, page, then render the page."""
    selected = search(_narrow(call, collection, records, params), call.query, params) if params else list(records)
    selected = sort(selected, call.arg("sorts"))
    selected = page(selected, call.query)
    return render_many(call.store, collection, selected, model)


def _narrow(call: Call, collection: str, records: Iterable[Record], params: SearchParams) -> Iterable[Record]:
    # An exact value of an indexed field picks the candidates without a scan.
    if call.flag("filter_or"):
        return records
    for name, target in params.items():
        expr = (call.query.get(name) or "").strip()
        if (
            isinstance(target, str)
            and expr
            and not set(expr) & set("%_,")
            and expr.upper() not in ("IS NULL", "NOT NULL")
            and call.store.is_indexed(collection, target)
        ):
            ids = set(call.store.ids_by(collection, target, expr))
            return [r for r in records if r.get("id") in ids]
    return records


def not_deleted(records: Iterable[Record]) -> list[Record]:
    """Records that are not in the trash."""
    return [r for r in records if not r.get("deleted")]


def deleted_filter(call: Call, records: Iterable[Record]) -> list[Record]:
    """search_looks / search_dashboards: trash only with `deleted=true`, else live ones."""
    wanted = call.flag("deleted") or False
    return [r for r in records if bool(r.get("deleted")) == wanted]


def apply_patch(record: Record, data: Mapping[str, object]) -> None:
    """Write the checked body's fields over the record (present keys only, nulls included)."""
    for key, value in data.items():
        if key in record:
            record[key] = value


def soft_delete(record: Record, deleted: object, user_id: str) -> None:
    """Looker's trash: `deleted: true` sets deleted_at and deleter_id, `false` restores."""
    if deleted is True and not record.get("deleted"):
        record.update(deleted=True, deleted_at=now_iso(), deleter_id=user_id)
    elif deleted is False and record.get("deleted"):
        record.update(deleted=False, deleted_at=None, deleter_id=None)


def write_nested_folder(call: Call, folder_id: object, nested: object) -> None:
    """A `folder` object in a look or dashboard body renames that folder.

    Looker quirk: the SDK's Write models accept the read object's `folder` as a
    WriteFolderBase, and Looker applies it to the folder, so a client must drop it.
    """
    if not isinstance(nested, Mapping):
        return
    folder = call.store.find("folders", folder_id)
    name = nested.get("name")
    if folder is None or not name or name == folder.get("name"):
        return
    renamed = dict(folder)
    renamed["name"] = name
    call.store.save("folders", renamed)
