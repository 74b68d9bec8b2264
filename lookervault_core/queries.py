"""Where a backup holds query objects: the queries behind looks and tiles, found anywhere.

LookerVault backs looks up with only `query_id`, but the same query often sits
in full elsewhere in the backup: inside a dashboard tile (`query`,
`look.query`, `result_maker.query`) or a merged-results tile's source queries.
Looker never deletes a query, so every id a backup names is a query that
existed on the source instance; `query_objects` finds the ones whose content
the backup holds, by their source id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from .backup import BackupItem, BackupReader
from .content_types import ContentType

__all__ = ["build_query_catalog", "models_needed", "query_ids", "query_objects"]

Query = Mapping[str, object]


def _mapping(value: object) -> Mapping[str, object] | None:
    return value if isinstance(value, Mapping) else None


def _list(value: object) -> list[Mapping[str, object]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, (list, tuple)) else []


def _tile_queries(element: Mapping[str, object]) -> Iterator[Query]:
    for holder in (element, _mapping(element.get("look")), _mapping(element.get("result_maker"))):
        query = _mapping(holder.get("query")) if holder is not None else None
        if query is not None:
            yield query
    merge = _mapping(element.get("merge_result"))
    for source in _list(merge.get("source_queries") if merge is not None else None):
        query = _mapping(source.get("query"))
        if query is not None:
            yield query


def query_objects(content_type: ContentType, data: Mapping[str, object]) -> Iterator[Query]:
    """Every query object held in one backup item (a look's, its tiles', a plan's)."""
    if content_type in (ContentType.LOOK, ContentType.SCHEDULED_PLAN):
        query = _mapping(data.get("query"))
        if query is not None:
            yield query
    elif content_type is ContentType.DASHBOARD:
        for element in _list(data.get("dashboard_elements")):
            yield from _tile_queries(element)


def query_ids(content_type: ContentType, data: Mapping[str, object]) -> Iterator[str]:
    """Every query id an item refers to, whether or not it holds the query itself."""
    if data.get("query_id") is not None and content_type in (ContentType.LOOK, ContentType.SCHEDULED_PLAN):
        yield str(data["query_id"])
    for element in _list(data.get("dashboard_elements")) if content_type is ContentType.DASHBOARD else ():
        for holder in (element, _mapping(element.get("look")), _mapping(element.get("result_maker"))):
            if holder is not None and holder.get("query_id") is not None:
                yield str(holder["query_id"])
    for query in query_objects(content_type, data):
        if query.get("id") is not None:
            yield str(query["id"])


def build_query_catalog(reader: BackupReader) -> dict[str, Query]:
    """Source query id → the query object, for every query the backup holds anywhere.

    Reads each look, dashboard and scheduled plan once; corrupt rows are passed
    over (they fail as their own items).
    """
    catalog: dict[str, Query] = {}
    for content_type in (ContentType.LOOK, ContentType.DASHBOARD, ContentType.SCHEDULED_PLAN):
        for item in reader.items(content_type):
            if not isinstance(item, BackupItem):
                continue
            for query in query_objects(content_type, item.data):
                if query.get("id") is not None:
                    catalog.setdefault(str(query["id"]), query)
    return catalog


def _model_of(holder: Mapping[str, object], lookup: Callable[[str], Query | None]) -> str | None:
    query = _mapping(holder.get("query"))
    if query is None and holder.get("query_id") is not None:
        query = lookup(str(holder["query_id"]))
    model = query.get("model") if query is not None else None
    return str(model) if model else None


def models_needed(content_type: ContentType, data: Mapping[str, object],
                  lookup: Callable[[str], Query | None]) -> set[str]:
    """The LookML models whose queries restoring this item may create.

    A look's or plan's own query, a dashboard's tiles that show a query (their
    own, their result maker's, a merge's sources); a tile showing a look needs
    what the look needs, counted with the look. `lookup` finds a query the
    item names by id only (`build_query_catalog`); a look whose query is held
    nowhere still names its model in `model.id`.
    """
    models: set[str] = set()

    def add(model: object) -> None:
        if model:
            models.add(str(model))

    if content_type is ContentType.LOOK or (content_type is ContentType.SCHEDULED_PLAN and data.get("look_id") is None
                                            and data.get("dashboard_id") is None):
        add(_model_of(data, lookup))
        look_model = _mapping(data.get("model")) if content_type is ContentType.LOOK else None
        if not models and look_model is not None:
            add(look_model.get("id"))
    elif content_type is ContentType.DASHBOARD:
        for element in _list(data.get("dashboard_elements")):
            if element.get("look_id") is not None:
                continue
            for holder in (element, _mapping(element.get("result_maker"))):
                if holder is not None and (holder.get("query_id") is not None or _mapping(holder.get("query"))):
                    add(_model_of(holder, lookup))
                    break
            merge = _mapping(element.get("merge_result"))
            for source in _list(merge.get("source_queries") if merge is not None else None):
                add(_model_of(source, lookup))
    return models
