from __future__ import annotations

from lookervault_core.content_types import ContentType as CT
from lookervault_core.graph import TYPE_DEPENDENCIES, TYPE_ORDER, Ref, dependency_graph, references, restore_order


def test_type_order_puts_every_dependency_first() -> None:
    pos = {t: i for i, t in enumerate(TYPE_ORDER)}
    assert sorted(TYPE_ORDER) == sorted(CT)
    for t, deps in TYPE_DEPENDENCIES.items():
        assert all(pos[d] < pos[t] for d in deps), t
    assert pos[CT.FOLDER] < pos[CT.LOOK] < pos[CT.DASHBOARD] < pos[CT.BOARD]


def test_references_of_a_dashboard_include_its_tiles_looks_and_a_soft_owner() -> None:
    data = {"folder_id": "7", "user_id": "3", "dashboard_elements": [{"id": "1", "look_id": "42"}, {"id": "2"}]}
    refs = references(CT.DASHBOARD, data)
    assert Ref(CT.FOLDER, "7", "folder_id") in refs
    assert Ref(CT.USER, "3", "user_id", hard=False) in refs
    assert Ref(CT.LOOK, "42", "dashboard_elements[1].look_id") in refs
    assert len(refs) == 3


def test_role_references_come_from_nested_sets() -> None:
    refs = references(CT.ROLE, {"permission_set": {"id": "4"}, "model_set": {"id": "5"}})
    assert {(r.content_type, r.id) for r in refs} == {(CT.PERMISSION_SET, "4"), (CT.MODEL_SET, "5")}


def test_restore_order_parents_first_and_cycles_reported() -> None:
    items = [
        (CT.FOLDER, "12", references(CT.FOLDER, {"parent_id": "11"})),
        (CT.FOLDER, "11", references(CT.FOLDER, {"parent_id": "1"})),
        (CT.LOOK, "5", references(CT.LOOK, {"folder_id": "12"})),
        (CT.FOLDER, "20", references(CT.FOLDER, {"parent_id": "21"})),
        (CT.FOLDER, "21", references(CT.FOLDER, {"parent_id": "20"})),
    ]
    order, cycles = restore_order(dependency_graph(items))
    assert order.index((CT.FOLDER, "11")) < order.index((CT.FOLDER, "12")) < order.index((CT.LOOK, "5"))
    assert len(order) == 5
    assert [sorted(c) for c in cycles] == [[(CT.FOLDER, "20"), (CT.FOLDER, "21")]]


def test_a_look_naming_a_query_waits_for_the_look_that_holds_it() -> None:
    from lookervault_core.graph import query_links

    full = {"query_id": "301", "query": {"id": "301", "model": "m", "view": "v"}}
    bare = {"query_id": "301"}
    queries = {(CT.LOOK, "201"): query_links(CT.LOOK, full), (CT.LOOK, "202"): query_links(CT.LOOK, bare)}
    graph = dependency_graph([(CT.LOOK, "202", []), (CT.LOOK, "201", [])], queries)
    assert list(graph.edges) == [((CT.LOOK, "201"), (CT.LOOK, "202"))]


def test_a_user_and_the_personal_folder_that_is_its_home_are_restored_user_first() -> None:
    """Looker makes the personal folder with its user (hard); the user's home folder is set later (soft)."""
    user = {"id": "5", "home_folder_id": "21", "group_ids": [], "role_ids": []}
    folder = {"id": "21", "parent_id": "2", "is_personal": True, "creator_id": "5"}
    graph = dependency_graph([(CT.FOLDER, "21", references(CT.FOLDER, folder)),
                              (CT.USER, "5", references(CT.USER, user))])
    order, cycles = restore_order(graph)
    assert cycles and order == [(CT.USER, "5"), (CT.FOLDER, "21")]
