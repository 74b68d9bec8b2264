"""What each item references, and the order that satisfies those references.

Two levels: between types (`TYPE_DEPENDENCIES`, which the Dagster assets encode
as asset dependencies) and between items (`references`, `dependency_graph`),
which restore checks item by item because Dagster does not check that
upstream partitions exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from .content_types import ContentType as CT

__all__ = [
    "break_cycles",
    "TYPE_DEPENDENCIES",
    "TYPE_ORDER",
    "Ref",
    "dependency_graph",
    "query_links",
    "references",
    "restore_order",
]

#: Types each type must wait for. Follows looker-api.md's order: sets → roles →
#: groups → users → LookML models/explores → folders → looks → dashboards →
#: scheduled plans, boards. Some edges carry no reference (groups after roles)
#: but keep the documented order, so one restore of everything is predictable.
TYPE_DEPENDENCIES: Mapping[CT, tuple[CT, ...]] = {
    CT.PERMISSION_SET: (),
    CT.MODEL_SET: (),
    CT.ROLE: (CT.PERMISSION_SET, CT.MODEL_SET),
    CT.GROUP: (CT.ROLE,),
    CT.USER: (CT.GROUP, CT.ROLE),
    CT.LOOKML_MODEL: (CT.USER,),
    CT.EXPLORE: (CT.LOOKML_MODEL,),
    CT.FOLDER: (CT.USER, CT.EXPLORE),
    CT.LOOK: (CT.FOLDER,),
    CT.DASHBOARD: (CT.LOOK,),
    CT.SCHEDULED_PLAN: (CT.DASHBOARD,),
    CT.BOARD: (CT.DASHBOARD,),
    # An alert watches a dashboard tile and runs as its owner.
    CT.ALERT: (CT.DASHBOARD, CT.USER),
    # Access names folders, groups and users; group values name groups; a user's own
    # values name the user and the attribute.
    CT.FOLDER_ACCESS: (CT.FOLDER, CT.GROUP, CT.USER),
    CT.USER_ATTRIBUTE: (CT.GROUP,),
    CT.USER_ATTRIBUTE_VALUE: (CT.USER, CT.USER_ATTRIBUTE),
}

TYPE_ORDER: tuple[CT, ...] = tuple(
    nx.lexicographical_topological_sort(
        nx.DiGraph([(d, t) for t, deps in TYPE_DEPENDENCIES.items() for d in deps]),
        key=lambda t: t.value,
    )
)


@dataclass(frozen=True)
class Ref:
    """A reference from one item to another item that must exist first.

    `hard` references make the item fail when missing; soft ones (an owner
    that was deleted, a home folder) are dropped with a note instead.
    """

    content_type: CT
    id: str
    field: str
    hard: bool = True


def _id(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _nested_id(data: Mapping[str, object], key: str) -> str | None:
    obj = data.get(key)
    return _id(obj.get("id")) if isinstance(obj, Mapping) else None


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple)) else []


def references(content_type: CT, data: Mapping[str, object]) -> list[Ref]:
    """Every item `data` (a backup blob of `content_type`) refers to."""
    refs: list[Ref] = []

    def add(ct: CT, value: object, field: str, hard: bool = True) -> None:
        ref_id = _id(value)
        if ref_id is not None:
            refs.append(Ref(ct, ref_id, field, hard))

    if content_type is CT.ROLE:
        add(CT.PERMISSION_SET, data.get("permission_set_id") or _nested_id(data, "permission_set"), "permission_set")
        add(CT.MODEL_SET, data.get("model_set_id") or _nested_id(data, "model_set"), "model_set")
    elif content_type is CT.USER:
        for gid in _list(data.get("group_ids")):
            add(CT.GROUP, gid, "group_ids")
        for rid in _list(data.get("role_ids")):
            add(CT.ROLE, rid, "role_ids")
        add(CT.FOLDER, data.get("home_folder_id"), "home_folder_id", hard=False)
    elif content_type is CT.FOLDER:
        add(CT.FOLDER, data.get("parent_id"), "parent_id")
        if data.get("is_personal") and not data.get("is_embed"):
            # Looker makes a personal folder with its user: the folder is mapped through the user.
            add(CT.USER, data.get("creator_id"), "creator_id")
    elif content_type is CT.EXPLORE:
        add(CT.LOOKML_MODEL, data.get("model_name"), "model_name")
    elif content_type in (CT.LOOK, CT.DASHBOARD):
        add(CT.FOLDER, data.get("folder_id"), "folder_id")
        add(CT.USER, data.get("user_id"), "user_id", hard=False)
        for el in _list(data.get("dashboard_elements")):
            if isinstance(el, Mapping):
                add(CT.LOOK, el.get("look_id"), f"dashboard_elements[{el.get('id')}].look_id")
    elif content_type is CT.SCHEDULED_PLAN:
        add(CT.LOOK, data.get("look_id"), "look_id")
        add(CT.DASHBOARD, data.get("dashboard_id"), "dashboard_id")
        add(CT.USER, data.get("user_id"), "user_id", hard=False)
    elif content_type is CT.ALERT:
        # `dashboard_id` is the tile's dashboard, added by our snapshot (not an Alert field).
        add(CT.DASHBOARD, data.get("dashboard_id"), f"dashboard_element_id {data.get('dashboard_element_id')}")
        add(CT.USER, data.get("owner_id"), "owner_id")
    elif content_type is CT.BOARD:
        add(CT.USER, data.get("user_id"), "user_id", hard=False)
        for section in _list(data.get("board_sections")):
            if not isinstance(section, Mapping):
                continue
            for item in _list(section.get("board_items")):
                if isinstance(item, Mapping):
                    add(CT.DASHBOARD, item.get("dashboard_id"), f"board_items[{item.get('id')}].dashboard_id")
                    add(CT.LOOK, item.get("look_id"), f"board_items[{item.get('id')}].look_id")
    elif content_type is CT.FOLDER_ACCESS:
        add(CT.FOLDER, data.get("folder_id"), "folder_id")
        for access in _list(data.get("accesses")):
            if isinstance(access, Mapping):
                add(CT.GROUP, access.get("group_id"), "accesses.group_id")
                add(CT.USER, access.get("user_id"), "accesses.user_id")
    elif content_type is CT.USER_ATTRIBUTE:
        for value in _list(data.get("group_values")):
            if isinstance(value, Mapping):
                add(CT.GROUP, value.get("group_id"), "group_values.group_id")
    elif content_type is CT.USER_ATTRIBUTE_VALUE:
        add(CT.USER, data.get("user_id"), "user_id")
        for value in _list(data.get("values")):
            if isinstance(value, Mapping):
                add(CT.USER_ATTRIBUTE, value.get("user_attribute_id"), "values.user_attribute_id")
    return refs


Node = tuple[CT, str]


def query_links(content_type: CT, data: Mapping[str, object]) -> tuple[set[str], set[str]]:
    """Query ids this item carries in full, and query ids it names without the query.

    LookerVault stores looks with only `query_id`; on a fresh instance such a
    look can be restored only after an item holding that query in full (its
    query is then created and mapped), so it must wait for that item.
    """
    provides: set[str] = set()
    needs: set[str] = set()

    def visit(obj: Mapping[str, object]) -> None:
        qid = _id(obj.get("query_id"))
        query = obj.get("query")
        if isinstance(query, Mapping) and _id(query.get("id")):
            provides.add(str(query.get("id")))
        elif qid is not None:
            needs.add(qid)

    if content_type in (CT.LOOK, CT.SCHEDULED_PLAN):
        visit(data)
    elif content_type is CT.DASHBOARD:
        for el in _list(data.get("dashboard_elements")):
            if isinstance(el, Mapping):
                visit(el)
    return provides, needs - provides


def dependency_graph(
    items: Iterable[tuple[CT, str, Sequence[Ref]]],
    queries: Mapping[Node, tuple[set[str], set[str]]] | None = None,
) -> nx.DiGraph[Node]:
    """Graph of the given items, an edge from each dependency to its dependent.

    Only references to items in the selection become edges; a reference to
    something outside it is expected to exist in Looker already. `queries`
    (from `query_links`) adds an edge from an item holding a query in full to
    each item naming that query by id only.
    """
    graph: nx.DiGraph[Node] = nx.DiGraph()
    pending: list[tuple[Node, Sequence[Ref]]] = []
    for ct, item_id, refs in items:
        graph.add_node((ct, item_id))
        pending.append(((ct, item_id), refs))
    for node, refs in pending:
        for ref in refs:
            dep = (ref.content_type, ref.id)
            if dep in graph and dep != node:
                hard = ref.hard or bool(graph.get_edge_data(dep, node, {}).get("hard"))
                graph.add_edge(dep, node, hard=hard)
    if queries:
        providers: dict[str, Node] = {}
        for node, (provides, _) in sorted(queries.items()):
            for qid in provides:
                providers.setdefault(qid, node)
        for node, (_, needs) in queries.items():
            for qid in needs:
                provider = providers.get(qid)
                if provider is not None and provider != node and node in graph:
                    graph.add_edge(provider, node)
    return graph


def break_cycles(graph: nx.DiGraph[Node]) -> list[list[Node]]:
    """Remove edges from `graph` until it has no cycle; the cycles it had.

    A cycle is broken at a soft reference where it has one (a user's home
    folder, set by the second pass), so that what must come first still does
    (the user before the personal folder Looker makes with it).
    """
    cycles = [list(c) for c in nx.simple_cycles(graph)] if not nx.is_directed_acyclic_graph(graph) else []
    for cycle in cycles:
        edges = list(zip(cycle, cycle[1:] + cycle[:1]))
        soft = [e for e in edges if graph.has_edge(*e) and not graph.edges[e].get("hard", True)]
        if soft:
            graph.remove_edge(*soft[0])
        elif graph.has_edge(cycle[-1], cycle[0]):
            graph.remove_edge(cycle[-1], cycle[0])
    while not nx.is_directed_acyclic_graph(graph):
        graph.remove_edge(*nx.find_cycle(graph)[0])
    return cycles


def restore_order(graph: nx.DiGraph[Node]) -> tuple[list[Node], list[list[Node]]]:
    """Items in an order where dependencies come first, and any cycles found.

    Ties follow TYPE_ORDER, then id. Items on a cycle are still returned (after
    their other dependencies) so the caller can restore them and report.
    """
    rank = {t: i for i, t in enumerate(TYPE_ORDER)}
    acyclic = graph.copy()
    cycles = break_cycles(acyclic)

    def key(node: Node) -> tuple[int, int, str]:
        ct, item_id = node
        return (rank[ct], len(item_id), item_id)

    return list(nx.lexicographical_topological_sort(acyclic, key=key)), cycles
