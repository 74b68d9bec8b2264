"""Restore of a dashboard and its parts: filters, elements, layouts, component positions.

Looker quirks this follows (looker-api.md):
- `update_dashboard` cannot change nested parts; each part has its own endpoint.
- `create_dashboard` makes one active default layout; creating an element adds
  a component for it to every layout; components can only be updated.
- A backup blob may lack parts (LookerVault captured dashboards through
  `search_dashboards`): restore never deletes a live part because the backup
  lacks it — LookerVault's own restore deleted every tile that way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from looker_sdk.sdk.api40 import models as m

from ..content_types import ContentType as CT
from ..content_types import writable_fields
from ..graph import Ref
from .content import ensure_query, owner_and_folder, titled_in_folder
from .item import ItemRun, as_dict
from .payload import body_from, mappings
from .result import Action, RestoreResult

__all__ = ["restore_dashboard"]

_FILTER_CREATE = writable_fields(m.WriteCreateDashboardFilter)
_FILTER_UPDATE = writable_fields(m.WriteDashboardFilter)
_ELEMENT = writable_fields(m.WriteDashboardElement) - {
    "look", "query", "result_maker", "dashboard_layout_id", "filter_id",
}
_LAYOUT = writable_fields(m.WriteDashboardLayout) - {"dashboard_id"}
_COMPONENT = writable_fields(m.WriteDashboardLayoutComponent) - {"dashboard_layout_id", "dashboard_element_id"}


def restore_dashboard(run: ItemRun) -> RestoreResult:
    sdk, data = run.sdk, run.data
    body = body_from(data, run.spec.writable)
    owner_and_folder(run, body)
    dest = run.resolve(CT.DASHBOARD.label, run.source_id)
    find = titled_in_folder(run, lambda: sdk.search_dashboards(title=str(body.get("title")),
                                                                folder_id=str(body.get("folder_id"))))
    action, dest_id, after = run.upsert(dest, body, get=sdk.dashboard, create=sdk.create_dashboard,  # type: ignore[arg-type]
                                        update=sdk.update_dashboard, find=find)  # type: ignore[arg-type]
    if action is Action.SKIPPED:
        return run.finish(action, dest_id, after)
    live = after if after is not None else (run.get(lambda: sdk.dashboard(dest_id)) if dest_id else None) or {}
    parts = _Parts(run, dest_id, live)
    if "dashboard_filters" in data:
        parts.filters(mappings(data["dashboard_filters"]))
    if "dashboard_elements" in data:
        parts.elements(mappings(data["dashboard_elements"]))
    else:
        run.note("backup holds no tiles for this dashboard; live tiles left as they are")
    if "dashboard_layouts" in data:
        parts.layouts(mappings(data["dashboard_layouts"]))
    return run.finish(action, dest_id, live)


class _Parts:
    """Brings one live dashboard's parts in line with the backup, part by part."""

    def __init__(self, run: ItemRun, dashboard_id: str | None, live: Mapping[str, object]) -> None:
        self.run = run
        self.sdk = run.sdk
        self.dashboard_id = dashboard_id
        self.live = live
        #: source element id → destination element id
        self.element_ids: dict[str, str] = {}
        self.elements_created = False

    def filters(self, wanted: Sequence[Mapping[str, object]]) -> None:
        # Filter names are unique within a dashboard: match on name.
        live_by_name = {str(f.get("name")): f for f in mappings(self.live.get("dashboard_filters"))}
        for f in wanted:
            name = str(f.get("name"))
            body = body_from(f, _FILTER_UPDATE)
            create_body = {**body_from(f, _FILTER_CREATE), "dashboard_id": self.dashboard_id}
            self.run.upsert_part("dashboard_filters", name, body, live_by_name.get(name),
                                 create=self.sdk.create_dashboard_filter,  # type: ignore[arg-type]
                                 update=self.sdk.update_dashboard_filter,  # type: ignore[arg-type]
                                 create_body=create_body)

    def _match(self, kind: str, source_id: str, live: Mapping[str, Mapping[str, object]]) -> Mapping[str, object] | None:
        dest = self.run.resolve(kind, source_id)
        return None if dest is None else live.get(dest)

    def elements(self, wanted: Sequence[Mapping[str, object]]) -> None:
        run = self.run
        live_by_id = {str(e.get("id")): e for e in mappings(self.live.get("dashboard_elements"))}
        for el in wanted:
            src = str(el.get("id"))
            body = body_from(el, _ELEMENT)
            body["dashboard_id"] = self.dashboard_id
            body.pop("query_id", None)
            body.pop("look_id", None)
            if el.get("look_id") is not None:
                body["look_id"] = run.require(Ref(CT.LOOK, str(el["look_id"]), f"dashboard_elements[{src}].look_id"))
            elif el.get("query_id") is not None or isinstance(el.get("query"), Mapping):
                body["query_id"] = ensure_query(run, el.get("query"), el.get("query_id"),
                                                f"dashboard_elements[{src}].query_id")
            elif isinstance(el.get("result_maker"), Mapping):
                maker = el["result_maker"]
                assert isinstance(maker, Mapping)
                if maker.get("query_id") is not None or isinstance(maker.get("query"), Mapping):
                    body["query_id"] = ensure_query(run, maker.get("query"), maker.get("query_id"),
                                                    f"dashboard_elements[{src}].result_maker.query_id")
            live = self._match("dashboard_element", src, live_by_id)
            dest = run.upsert_part("dashboard_elements", src, body, live,
                                   create=self.sdk.create_dashboard_element,  # type: ignore[arg-type]
                                   update=self.sdk.update_dashboard_element)  # type: ignore[arg-type]
            if dest is not None:
                self.element_ids[src] = dest
                if live is None:
                    self.elements_created = True
                    run.remember("dashboard_element", src, dest)

    def layouts(self, wanted: Sequence[Mapping[str, object]]) -> None:
        run = self.run
        live_layouts = mappings(self.live.get("dashboard_layouts"))
        live_by_id = {str(lay.get("id")): lay for lay in live_layouts}
        used: set[str] = set()
        for lay in wanted:
            src = str(lay.get("id"))
            live = self._match("dashboard_layout", src, live_by_id)
            if live is None and lay.get("active"):
                # The default layout Looker made with the dashboard stands for the backup's active one.
                live = next((x for x in live_layouts if x.get("active") and str(x.get("id")) not in used), None)
            body = body_from(lay, _LAYOUT)
            create_body = {**body, "dashboard_id": self.dashboard_id}
            dest = run.upsert_part("dashboard_layouts", src, body, live,
                                   create=self.sdk.create_dashboard_layout,  # type: ignore[arg-type]
                                   update=self.sdk.update_dashboard_layout,  # type: ignore[arg-type]
                                   create_body=create_body)
            if dest is None:
                continue
            used.add(dest)
            if live is None or str(live.get("id")) != src:
                run.remember("dashboard_layout", src, dest)
            components = None if live is None or self.elements_created else live.get("dashboard_layout_components")
            if components is None:
                fetched = run.call(lambda: self.sdk.dashboard_layout_dashboard_layout_components(dest))
                components = [as_dict(c) for c in fetched]
            self.components(src, mappings(lay.get("dashboard_layout_components")), mappings(components))

    def components(self, layout_src: str, wanted: Sequence[Mapping[str, object]],
                   live: Sequence[Mapping[str, object]]) -> None:
        by_element = {str(c.get("dashboard_element_id")): c for c in live}
        for comp in wanted:
            element_src = str(comp.get("dashboard_element_id"))
            element = self.element_ids.get(element_src)
            target = by_element.get(element) if element else None
            if target is None:
                # Components exist only for elements; one for an element the
                # backup's dashboard did not hold cannot be placed.
                if element_src not in self.element_ids and self.dashboard_id is not None and not self.run.dry_run:
                    self.run.note(f"layout {layout_src}: component for unknown element {element_src} skipped")
                continue
            self.run.upsert_part("dashboard_layout_components", str(comp.get("id")), body_from(comp, _COMPONENT),
                                 target, update=self.sdk.update_dashboard_layout_component)  # type: ignore[arg-type]
