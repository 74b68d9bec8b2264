"""Restore of a dashboard and its parts: filters, tabs, tiles with their filter bindings, tile places.

Looker quirks this follows (looker-api.md, and gzr's dashboard import, the
peer tool that writes dashboards through the same API):
- `update_dashboard` cannot change nested parts; each part has its own endpoint.
- Tabs are layouts. `create_dashboard` makes one active default layout; a new
  tile gets a component only on the layout named by its `dashboard_layout_id`
  (the active one when none is given), so layouts are created first and each
  tile on its own tab (gzr #274). Components can only be updated, and a
  component's `dashboard_layout_id` can be patched to move a tile between tabs.
- Which dashboard filter drives which field of a tile lives only in
  `result_maker.filterables[].listen`; it is written on create and update, as
  Looker's own example (sdk-codegen create_dashboard_filter.py) and gzr do.
- A tile names its source by `look_id`, `query_id` or `merge_result_id`, never
  together with `result_maker_id` (Looker answers 422; gzr #62). The result
  maker's `vis_config` is read-only: Looker fills it from the query.
- Merge queries are per instance: a merged-results tile is pointed only at a
  merge query that exists on the destination, re-created from the backup when
  it holds one (gzr exports it as the tile's `merge_result`).
- A backup blob may lack parts (LookerVault captured dashboards through
  `search_dashboards`): restore never deletes a live part because the backup
  lacks it — LookerVault's own restore deleted every tile that way.
- A slug already taken, by a dashboard in the Trash too, is 409 "The resource
  already exists." on create and update (looker-cli #14, #306). As gzr's
  import does (lib/gzr/commands/dashboard/import.rb, `sync_dashboard`), the
  backup's own dashboard found in the Trash with that slug is brought back
  (`deleted: false`, its id, URL and favourites kept); any other holder keeps
  the slug and the dashboard is written without it.
- LookML dashboards (ids `model::name`) are defined by deployed LookML: they
  are reported, never created.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import nested_writable, writable_fields
from ..errors import MissingLookmlModel, NotFound, UnrestorableItem, ValidationFailed
from ..graph import Ref
from .content import ensure_query, owner_and_folder, titled_in_folder
from .identity import same_object
from .item import ItemRun, Payload, as_dict
from .payload import body_from, diff, mappings
from .result import Action, RestoreResult

__all__ = ["restore_dashboard"]

_FILTER_CREATE = writable_fields(m.WriteCreateDashboardFilter)
_FILTER_UPDATE = writable_fields(m.WriteDashboardFilter)
#: A tile's own fields; its source, result maker and tab are resolved separately.
_ELEMENT = writable_fields(m.WriteDashboardElement) - {
    "dashboard_id", "dashboard_layout_id", "filter_id", "look", "look_id", "query", "query_id",
    "merge_result_id", "result_maker", "result_maker_id",
}
#: Objects nested in a tile, cut to their Write models (a certified tile's
#: `certification_metadata.updated_at` and `.user_name` are read-only).
_ELEMENT_NESTED = {k: v for k, v in nested_writable(m.WriteDashboardElement).items() if k in _ELEMENT}
_LAYOUT = writable_fields(m.WriteDashboardLayout) - {"dashboard_id"}
_COMPONENT = writable_fields(m.WriteDashboardLayoutComponent) - {"dashboard_layout_id", "dashboard_element_id"}
_MERGE = writable_fields(m.WriteMergeQuery) - {"source_queries"}
#: What makes two queries the same query (Looker dedupes creates on these).
_QUERY_KEYS = ("model", "view", "fields", "pivots", "filters", "filter_expression", "sorts", "limit")

Binding = tuple[str, str, str, str, str]


def restore_dashboard(item_run: ItemRun) -> RestoreResult:
    """Restore a dashboard, then its filters, tabs, tiles and tile places.

    Raises:
        UnrestorableItem: after restoring everything else, when tiles could not
            be restored (a merged-results tile whose merge query is neither in
            Looker nor in the backup, a tile whose query only the source had).
    """
    sdk, data = item_run.sdk, item_run.data
    if "::" in item_run.source_id:
        return _lookml_dashboard(item_run)
    body = item_run.body()
    owner_and_folder(item_run, body)
    # Check every look a tile shows before writing anything, so a missing one
    # fails the dashboard without leaving half of it behind.
    looks = {str(el.get("id")): item_run.require(Ref(CT.LOOK, str(el["look_id"]), f"dashboard_elements[{el.get('id')}].look_id"))
             for el in mappings(data.get("dashboard_elements")) if el.get("look_id") is not None}
    find = titled_in_folder(item_run, lambda: sdk.search_dashboards(title=str(body.get("title")),
                                                                folder_id=str(body.get("folder_id"))))
    live = item_run.counterpart(sdk.dashboard)
    try:
        action, dest_id, after = item_run.upsert(None, body, get=sdk.dashboard, create=sdk.create_dashboard,  # type: ignore[arg-type]
                                            update=sdk.update_dashboard, find=find,  # type: ignore[arg-type]
                                            live=live)
    except ValidationFailed as exc:
        if not _slug_taken(exc, body):
            raise
        holder = _slug_holder(item_run, str(body["slug"]))
        if holder is None:
            item_run.note(f"slug {body['slug']} is another dashboard's in Looker (409); written without it, "
                     "so Looker gave it a new one")
            body.pop("slug")
        else:
            live = holder
            where = "in Looker's Trash" if holder.get("deleted") else "in Looker"
            item_run.note(f"the backup's own dashboard {holder.get('id')} was {where} with slug {body['slug']}; "
                     f"{'brought back' if holder.get('deleted') else 'updated'}")
        action, dest_id, after = item_run.upsert(None, body, get=sdk.dashboard, create=sdk.create_dashboard,  # type: ignore[arg-type]
                                            update=sdk.update_dashboard, find=find,  # type: ignore[arg-type]
                                            live=live)
    if action is Action.SKIPPED:
        return item_run.finish(action, dest_id, after)
    live = after if after is not None else (item_run.get(lambda: sdk.dashboard(dest_id)) if dest_id else None) or {}
    # The tile queries the live tiles do not answer for (a new dashboard's, a tile pointed elsewhere), at once.
    item_run.read_ahead(first_reads(item_run, live))
    parts = _Parts(item_run, dest_id, live, looks)
    layouts = mappings(data.get("dashboard_layouts"))
    if "dashboard_filters" in data:
        parts.filters(mappings(data["dashboard_filters"]))
    parts.layouts(layouts)  # tabs first: each tile is created on its own
    if "dashboard_elements" in data:
        parts.elements(mappings(data["dashboard_elements"]), _tabs(layouts))
    else:
        item_run.note("backup holds no tiles for this dashboard; live tiles left as they are")
    parts.place(layouts)
    if parts.unrestorable:
        rest = " (everything else of the dashboard was restored)"
        if len(parts.unrestorable) == len(parts.models_lacking):
            raise MissingLookmlModel(CT.DASHBOARD.label, item_run.source_id, sorted(set(parts.models_lacking)),
                                     f" ({'; '.join(parts.unrestorable)}){rest}")
        raise UnrestorableItem(CT.DASHBOARD.label, item_run.source_id, "; ".join(parts.unrestorable) + rest)
    return item_run.finish(action, dest_id, live)


def _slug_taken(exc: ValidationFailed, body: Mapping[str, object]) -> bool:
    """Whether Looker refused the dashboard for its slug.

    Looker quirk: a slug held by another dashboard, one in the Trash too, is
    409 "The resource already exists." with no `errors[]`, on POST and PATCH
    (looker-cli #14, #306); a duplicate title is 422 with `errors[]`.
    """
    return exc.status == 409 and not exc.errors and body.get("slug") is not None


def _slug_holder(item_run: ItemRun, slug: str) -> Payload | None:
    """The backup's own dashboard when Looker has it with this slug, in the Trash or not, else None.

    As gzr's import (`search_dashboards_by_slug`, live ones then trashed ones,
    then `deleted: false`): the holder is found by `search_dashboards(slug=, deleted="true")` (both string
    parameters in the API description); it is this
    backup's dashboard when restore.identity says so (the same `created_at`)
    or the id map maps the backup's dashboard to it.
    """
    for deleted in (None, "true"):  # search_* leaves the Trash out unless asked
        found = item_run.call(lambda: item_run.sdk.search_dashboards(slug=slug, deleted=deleted))
        for holder in map(as_dict, found):
            if holder.get("slug") != slug:
                continue  # search treats `_` and `%` as wildcards
            holder_id = str(holder.get("id"))
            if same_object(CT.DASHBOARD, item_run.data, holder) or \
                    item_run.resolve(CT.DASHBOARD.label, item_run.source_id) == holder_id:
                return item_run.get(lambda: item_run.sdk.dashboard(holder_id))
    return None


def _lookml_dashboard(item_run: ItemRun) -> RestoreResult:
    """A LookML dashboard (`model::name`): reported, never created; Looker has it when its LookML is deployed.

    Raises:
        UnrestorableItem: Looker does not have it.
    """
    model = item_run.source_id.partition("::")[0]
    try:
        live = as_dict(item_run.call(lambda: item_run.sdk.dashboard(item_run.source_id, fields="id")))
    except NotFound as exc:
        raise UnrestorableItem(
            CT.DASHBOARD.label, item_run.source_id,
            f"a LookML dashboard is defined in the LookML of model {model!r} and cannot be created through the "
            "API; deploy the LookML project that has it",
        ) from exc
    item_run.note("LookML dashboard: defined in deployed LookML, which Looker has; never written")
    return item_run.finish(Action.SKIPPED, str(live.get("id") or item_run.source_id))


def _tabs(layouts: Sequence[Mapping[str, object]]) -> dict[str, str]:
    """Source tile id → the source layout (tab) it sits on first."""
    tabs: dict[str, str] = {}
    for lay in layouts:
        for comp in mappings(lay.get("dashboard_layout_components")):
            tabs.setdefault(str(comp.get("dashboard_element_id")), str(lay.get("id")))
    return tabs


def _bindings(maker: object) -> list[Binding]:
    """A result maker's filter bindings: (model, view, filterable, dashboard filter, field)."""
    out: set[Binding] = set()
    for filterable in mappings(maker.get("filterables") if isinstance(maker, Mapping) else None):
        for listen in mappings(filterable.get("listen")):
            out.add(tuple(str(v or "") for v in (  # type: ignore[arg-type]
                filterable.get("model"), filterable.get("view"), filterable.get("name"),
                listen.get("dashboard_filter_name"), listen.get("field"))))
    return sorted(out)


def _maker_body(element: Mapping[str, object]) -> Payload | None:
    """The writable part of a tile's result maker: its filterables with their `listen` bindings.

    None when the backup holds no filterables (gzr sends a result maker only then).
    """
    maker = element.get("result_maker")
    filterables = mappings(maker.get("filterables")) if isinstance(maker, Mapping) else []
    if not filterables:
        return None
    return {"filterables": [
        {**{k: f.get(k) for k in ("model", "view", "name") if f.get(k) is not None},
         "listen": [{k: x.get(k) for k in ("dashboard_filter_name", "field")} for x in mappings(f.get("listen"))]}
        for f in filterables
    ]}


class _Parts:
    """Brings one live dashboard's parts in line with the backup, part by part."""

    def __init__(self, item_run: ItemRun, dashboard_id: str | None, live: Mapping[str, object],
                 looks: Mapping[str, str | None]) -> None:
        self.item_run = item_run
        #: source tile id → destination id of the look it shows (None in a dry run that creates it)
        self.looks = looks
        self.sdk = item_run.sdk
        self.dashboard_id = dashboard_id
        self.live = live
        #: source element id → destination element id
        self.element_ids: dict[str, str] = {}
        #: source layout id → destination layout id
        self.layout_ids: dict[str, str] = {}
        self.parts_created = False
        #: What could not be restored, one line per tile.
        self.unrestorable: list[str] = []
        #: The LookML model each tile lacking one needs (one entry per such tile).
        self.models_lacking: list[str] = []

    # --- filters ---------------------------------------------------------------------

    def filters(self, wanted: Sequence[Mapping[str, object]]) -> None:
        # Filter names are unique within a dashboard (case aside): match on
        # them, so an existing filter is updated and never created twice.
        live_by_name = {_fold(f.get("name")): f for f in mappings(self.live.get("dashboard_filters"))}
        for f in wanted:
            name = str(f.get("name"))
            body = body_from(f, _FILTER_UPDATE)
            create_body = {**body_from(f, _FILTER_CREATE), "dashboard_id": self.dashboard_id}
            self.item_run.upsert_part("dashboard_filters", name, body, live_by_name.get(_fold(name)),
                                 create=self.sdk.create_dashboard_filter,  # type: ignore[arg-type]
                                 update=self.sdk.update_dashboard_filter,  # type: ignore[arg-type]
                                 create_body=create_body, find=functools.partial(self._live_filter, name))

    def _live_filter(self, name: str) -> Payload | None:
        """The dashboard's filter of this name, read afresh (after Looker refused a duplicate)."""
        if self.dashboard_id is None:
            return None
        dashboard_id = self.dashboard_id
        found = self.item_run.call(lambda: self.sdk.dashboard_dashboard_filters(dashboard_id))
        return next((as_dict(f) for f in found if _fold(as_dict(f).get("name")) == _fold(name)), None)

    # --- tabs ------------------------------------------------------------------------

    def layouts(self, wanted: Sequence[Mapping[str, object]]) -> None:
        item_run = self.item_run
        live_layouts = mappings(self.live.get("dashboard_layouts"))
        live_by_id = {str(lay.get("id")): lay for lay in live_layouts}
        used: set[str] = set()
        for lay in wanted:
            src = str(lay.get("id"))
            live = self._live_layout(lay, live_by_id, live_layouts, used)
            body = body_from(lay, _LAYOUT)
            dest = item_run.upsert_part("dashboard_layouts", src, body, live,
                                   create=self.sdk.create_dashboard_layout,  # type: ignore[arg-type]
                                   update=self.sdk.update_dashboard_layout,  # type: ignore[arg-type]
                                   create_body={**body, "dashboard_id": self.dashboard_id},
                                   find=functools.partial(self._new_layout, body, live_layouts))
            if dest is None:
                continue
            used.add(dest)
            self.layout_ids[src] = dest
            if live is None:
                self.parts_created = True
            if live is None or str(live.get("id")) != src:
                item_run.remember("dashboard_layout", src, dest)

    def _new_layout(self, body: Mapping[str, object], known: Sequence[Mapping[str, object]]) -> Payload | None:
        """A layout with this label that the dashboard did not have when this restore read it: one it made."""
        if self.dashboard_id is None:
            return None
        dashboard_id = self.dashboard_id
        seen = {str(x.get("id")) for x in known} | set(self.layout_ids.values())
        found = map(as_dict, self.item_run.call(lambda: self.sdk.dashboard_dashboard_layouts(dashboard_id)))
        return next((x for x in found if str(x.get("id")) not in seen
                     and str(x.get("label") or "") == str(body.get("label") or "")), None)

    def _live_layout(self, lay: Mapping[str, object], live_by_id: Mapping[str, Mapping[str, object]],
                     live_layouts: Sequence[Mapping[str, object]], used: set[str]) -> Mapping[str, object] | None:
        dest = self.item_run.resolve("dashboard_layout", str(lay.get("id")))
        if dest is not None and dest in live_by_id and dest not in used:
            return live_by_id[dest]
        free = [x for x in live_layouts if str(x.get("id")) not in used]
        if lay.get("label"):
            # A tab of the same name on this dashboard is this tab.
            named = next((x for x in free if x.get("label") == lay.get("label")), None)
            if named is not None:
                return named
        if lay.get("active"):
            # The default layout Looker made with the dashboard stands for the backup's active one.
            return next((x for x in free if x.get("active")), None)
        return None

    # --- tiles -----------------------------------------------------------------------

    def elements(self, wanted: Sequence[Mapping[str, object]], tabs: Mapping[str, str]) -> None:
        item_run = self.item_run
        live_by_id = {str(e.get("id")): e for e in mappings(self.live.get("dashboard_elements"))}
        mapped = {str(el.get("id")): item_run.resolve("dashboard_element", str(el.get("id"))) for el in wanted}
        unclaimed = [e for i, e in live_by_id.items() if i not in set(mapped.values())]
        for el in wanted:
            src = str(el.get("id"))
            dest = mapped[src]
            try:
                source = self._source(el, src, unclaimed, None if dest is None else live_by_id.get(dest))
            except UnrestorableItem as exc:
                self.unrestorable.append(f"tile {src} ({el.get('title') or el.get('type')}): {exc.reason}")
                continue
            except MissingLookmlModel as exc:
                # The tile fails alone; the rest of the dashboard is restored.
                self.unrestorable.append(f"tile {src} ({el.get('title') or el.get('type')}) needs LookML model "
                                         f"{', '.join(exc.models)}")
                self.models_lacking.extend(exc.models)
                continue
            body = {**body_from(el, _ELEMENT, _ELEMENT_NESTED), **source}
            maker = _maker_body(el)
            live = None if dest is None else live_by_id.get(dest)
            if live is not None:
                # Compare nested objects by what can be written of them.
                live = {**live, **body_from(live, _ELEMENT_NESTED, _ELEMENT_NESTED)}
            if live is None:
                live = _same_tile(body, unclaimed)
                if live is not None:
                    # A tile created by an earlier run whose id was never recorded
                    # (interrupted), or on a dashboard matched by title: the same
                    # title, kind and source on this dashboard is this tile.
                    unclaimed.remove(live)
                    item_run.remember("dashboard_element", src, str(live["id"]))
            if live is None:
                create_body = {**body, "dashboard_id": self.dashboard_id}
                if maker is not None:
                    create_body["result_maker"] = maker
                layout = self.layout_ids.get(tabs.get(src, ""))
                if layout is not None:
                    create_body["dashboard_layout_id"] = layout
                wanted_body = create_body
            else:
                wanted_body = body
                if maker is not None and _bindings(maker) != _bindings(live.get("result_maker")):
                    # The patch Looker's own example sends to (re)bind a tile's filters.
                    wanted_body = {**body, "result_maker": maker}
            part_id = item_run.upsert_part("dashboard_elements", src, wanted_body, live,
                                      create=self.sdk.create_dashboard_element,  # type: ignore[arg-type]
                                      update=self.sdk.update_dashboard_element,  # type: ignore[arg-type]
                                      find=functools.partial(self._new_tile, body, set(live_by_id)))
            if part_id is None:
                continue
            self.element_ids[src] = part_id
            if live is None:
                self.parts_created = True
                item_run.remember("dashboard_element", src, part_id)

    def _new_tile(self, body: Mapping[str, object], known: set[str]) -> Mapping[str, object] | None:
        """The tile with this title, kind and source that the dashboard did not have when this restore read it.

        Tiles have no unique key in Looker: a create whose answer was lost
        shows only as a new tile. Tiles this restore made or claimed for other
        backup tiles are not it.
        """
        if self.dashboard_id is None:
            return None
        dashboard_id = self.dashboard_id
        seen = known | set(self.element_ids.values())
        found = [as_dict(e) for e in self.item_run.call(lambda: self.sdk.dashboard_dashboard_elements(dashboard_id))]
        return _same_tile(body, [e for e in found if str(e.get("id")) not in seen])

    def _source(self, el: Mapping[str, object], src: str, unclaimed: Sequence[Mapping[str, object]],
                live_tile: Mapping[str, object] | None) -> Payload:
        """What a tile shows, as the one field Looker takes for it: look_id, merge_result_id or query_id.

        `live_tile` is the tile's mapped counterpart on the live dashboard: the
        query it still shows needs no read (see `ensure_query`).

        Raises:
            UnrestorableItem: the tile's query or merge query is neither in Looker nor in the backup.
        """
        item_run = self.item_run
        field = f"dashboard_elements[{src}]"
        if el.get("look_id") is not None:
            return {"look_id": self.looks[src]}
        if el.get("merge_result_id") is not None:
            return {"merge_result_id": self._merge_query(el, src, unclaimed)}
        found = _query_holder(el, field)
        if found is None:
            return {}
        holder, where = found
        return {"query_id": ensure_query(item_run, holder.get("query"), holder.get("query_id"), f"{where}.query_id",
                                         referenced=_live_query(live_tile))}

    def _merge_query(self, el: Mapping[str, object], src: str, unclaimed: Sequence[Mapping[str, object]]) -> str | None:
        """The destination merge query of a merged-results tile, re-created from the backup when needed.

        Returns None only in a dry run that would create it.

        Raises:
            UnrestorableItem: neither Looker nor the backup has the merge query.
        """
        item_run = self.item_run
        source_id = str(el["merge_result_id"])
        dest = item_run.resolve("merge_query", source_id)
        if dest is not None and item_run.read(("merge_query", dest), lambda: self.sdk.merge_query(dest, fields="id")) is not None:
            return dest
        merge = el.get("merge_result")
        if not isinstance(merge, Mapping):
            raise UnrestorableItem(
                CT.DASHBOARD.label, item_run.source_id,
                f"merged results {source_id} are not in Looker and the backup does not hold the merge query "
                "(LookerVault backs up none); the tile was not created rather than pointed at another instance's "
                "merge query",
            )
        for tile in unclaimed:
            # This tile already on the dashboard (an earlier run's id map is
            # not at hand): reuse its merge query when it merges the same queries.
            if tile.get("merge_result_id") is not None and tile.get("title") == el.get("title") and \
                    self._same_merge(str(tile["merge_result_id"]), merge):
                item_run.remember("merge_query", source_id, str(tile["merge_result_id"]))
                return str(tile["merge_result_id"])
        sources: list[Payload] = []
        for i, sq in enumerate(mappings(merge.get("source_queries"))):
            query_id = ensure_query(item_run, sq.get("query"), sq.get("query_id"),
                                    f"dashboard_elements[{src}].merge_result.source_queries[{i}]")
            sources.append({"query_id": query_id, **body_from(sq, ("name", "merge_fields"))})
        item_run.changed(f"dashboard_elements[{src}].merge_result_id")
        body = {**body_from(merge, _MERGE), "source_queries": sources}
        if any(s["query_id"] is None for s in sources):
            return None
        # A merge query has no natural key to look for, and one nothing points
        # at is invisible: a create whose answer was lost is sent again (a guess
        # that Looker keeps such strays harmlessly, as it keeps unused queries).
        created = item_run.write(lambda: self.sdk.create_merge_query(body), repeatable=True)  # type: ignore[arg-type]
        if created is None:
            return None
        new_id = str(created["id"])
        item_run.remember("merge_query", source_id, new_id)
        return new_id

    def _same_merge(self, merge_id: str, backup: Mapping[str, object]) -> bool:
        live = self.item_run.get(lambda: self.sdk.merge_query(merge_id))
        if live is None:
            return False
        live_sources, wanted = mappings(live.get("source_queries")), mappings(backup.get("source_queries"))
        if len(live_sources) != len(wanted):
            return False
        for have, want in zip(live_sources, wanted, strict=True):
            query = self.item_run.get(functools.partial(self.sdk.query, str(have.get("query_id"))))
            if query is None or not isinstance(want.get("query"), Mapping) or \
                    diff(body_from(want["query"], _QUERY_KEYS), query):  # type: ignore[arg-type]
                return False
        return True

    # --- tile places -----------------------------------------------------------------

    def place(self, wanted: Sequence[Mapping[str, object]]) -> None:
        """Put each tile on its tab at the backup's position, moving it between tabs where needed."""
        if self.dashboard_id is None or not wanted:
            return
        dashboard_id = self.dashboard_id
        current: Sequence[Mapping[str, object]]
        if self.parts_created:
            current = [as_dict(x) for x in self.item_run.call(lambda: self.sdk.dashboard_dashboard_layouts(dashboard_id))]
        else:
            current = mappings(self.live.get("dashboard_layouts"))
        # element id → {layout id: component}, over every tab of the live dashboard
        where: dict[str, dict[str, Mapping[str, object]]] = {}
        for lay in current:
            for comp in mappings(lay.get("dashboard_layout_components")):
                where.setdefault(str(comp.get("dashboard_element_id")), {})[str(lay.get("id"))] = comp
        claimed = {(self.layout_ids.get(str(lay.get("id"))), self.element_ids.get(str(c.get("dashboard_element_id"))))
                   for lay in wanted for c in mappings(lay.get("dashboard_layout_components"))}
        for lay in wanted:
            layout = self.layout_ids.get(str(lay.get("id")))
            for comp in mappings(lay.get("dashboard_layout_components")):
                element = self.element_ids.get(str(comp.get("dashboard_element_id")))
                if layout is None or element is None:
                    continue  # a dry run, or a tile that could not be restored (reported as such)
                body = body_from(comp, _COMPONENT)
                target = where.get(element, {}).get(layout)
                if target is None:
                    # The tile sits on another tab that the backup does not put it on: move it here.
                    target = next((c for lid, c in where.get(element, {}).items() if (lid, element) not in claimed),
                                  None)
                    if target is None:
                        self.item_run.note(f"tile {comp.get('dashboard_element_id')} has no place Looker could move to "
                                      f"tab {lay.get('id')}; left where it is")
                        continue
                    body["dashboard_layout_id"] = layout
                    where[element] = {**where[element], layout: target}
                self.item_run.upsert_part("dashboard_layout_components", str(comp.get("id")), body, target,
                                     update=self.sdk.update_dashboard_layout_component)  # type: ignore[arg-type]


def first_reads(item_run: ItemRun, live: Mapping[str, object] | None = None) -> dict[tuple[str, str], Callable[[], object]]:
    """What a dashboard's restore reads before its first write but its own GET: its tiles' sources.

    The reads `_Parts._source` makes of the tiles' mapped queries and merge
    queries, keyed as it makes them; `Restorer._probe_references` makes them
    at once, with the dashboard's references, before the handler runs.

    A tile query the live dashboard answers for needs no read: a mapped tile
    that still shows its mapped query (`ensure_query`'s `referenced`). In a
    batch (`Restorer.eager_reads` off) such reads are left out before the
    dashboard's own GET (`live` None) for every mapped tile of a mapped
    dashboard, and once `live` is read, the queries of the tiles it does not
    answer for are read (a created dashboard's, a tile pointed at another
    query), still before the first tile is written. Restoring one item alone,
    all are read in the first round trip: there its wait is its round trips.
    """
    reads: dict[tuple[str, str], Callable[[], object]] = {}
    live_tiles = None if live is None else {str(e.get("id")): e for e in mappings(live.get("dashboard_elements"))}
    mapped = live is None and not item_run.restorer.eager_reads and \
        item_run.resolve(CT.DASHBOARD.label, item_run.source_id) is not None
    for el in mappings(item_run.data.get("dashboard_elements")):
        if el.get("merge_result_id") is not None:
            merge = item_run.resolve("merge_query", str(el["merge_result_id"]))
            if merge is not None and live is None:
                reads[("merge_query", merge)] = functools.partial(item_run.sdk.merge_query, merge, fields="id")
            continue
        found = None if el.get("look_id") is not None else _query_holder(el, "")
        if found is not None and found[0].get("query_id") is not None:
            dest, _ = item_run.restorer.idmap.lookup("query", str(found[0]["query_id"]))
            if dest is None:
                continue
            tile = item_run.resolve("dashboard_element", str(el.get("id")))
            if live_tiles is None:
                answered = mapped and tile is not None
            else:
                answered = tile is not None and _live_query(live_tiles.get(tile)) == dest
            if not answered:
                reads[("query", dest)] = functools.partial(item_run.sdk.query, dest)
    return reads


def _live_query(live_tile: Mapping[str, object] | None) -> str | None:
    """The query a live tile shows (its `query_id`), or None."""
    query_id = None if live_tile is None else live_tile.get("query_id")
    return None if query_id is None else str(query_id)


def _query_holder(el: Mapping[str, object], field: str) -> tuple[Mapping[str, object], str] | None:
    """Which part of a tile carries its query (the tile, else its result maker), and its field name."""
    for holder, where in ((el, field),
                          (el.get("result_maker"), f"{field}.result_maker")):
        if isinstance(holder, Mapping) and (holder.get("query_id") is not None or isinstance(holder.get("query"),
                                                                                             Mapping)):
            return holder, where
    return None


def _same_tile(body: Mapping[str, object], candidates: Sequence[Mapping[str, object]]) -> Mapping[str, object] | None:
    keys = ("title", "type", "title_text", "body_text", "look_id", "query_id", "merge_result_id")
    return next((c for c in candidates
                 if all(str(body.get(k) or "") == str(c.get(k) or "") for k in keys)), None)


def _fold(name: object) -> str:
    return str(name or "").strip().lower()
