"""What a restore result says agrees with what it did (issue 19, part 4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.errors import MissingDependency
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.restore import Action, Restorer, restore_many
from lookervault_core.testing.fake_looker import FakeLooker


def test_an_item_found_after_a_duplicate_create_says_what_was_done_to_it(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """Looker refused the create as a duplicate of a copy at another id: the note matches the action."""
    fake.load_backup(sample_backup)
    for collection, item_id in (("looks", "201"), ("dashboards", "101")):
        live = fake.get(collection, item_id)
        assert live is not None
        fake.remove(collection, item_id)
        fake.put(collection, {**live, "id": f"9{item_id}"})
    restorer = make_restorer(sample_backup, same_instance=True)
    look = restorer.restore(CT.LOOK, "201")
    assert (look.action, look.destination_id) == (Action.UNCHANGED, "9201")
    assert "updated" not in look.message and "look 9201" in look.message
    dashboard = restorer.restore(CT.DASHBOARD, "101")
    # Its look tile now points at look 9201.
    assert (dashboard.action, dashboard.destination_id) == (Action.UPDATED, "9101")
    assert dashboard.changed_fields == ("dashboard_elements[1001].look_id",)


def test_every_success_links_to_the_items_page_in_looker(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    fake.load_backup(sample_backup)
    restorer = make_restorer(sample_backup, same_instance=True)
    keys = [(ct, row.id) for ct in TYPE_ORDER for row in restorer.backup.rows(ct)]
    summary = restore_many(restorer, keys, workers=4)
    assert summary.failures == []
    urls = {(r.content_type, r.source_id): r.url for r in summary.results}
    assert urls[(CT.FOLDER, "11")] == f"{fake.base_url}/folders/11"
    assert urls[(CT.BOARD, "601")] == f"{fake.base_url}/boards/601"
    assert urls[(CT.DASHBOARD, "101")] == f"{fake.base_url}/dashboards/101"
    assert urls[(CT.EXPLORE, "thelook::orders")] == f"{fake.base_url}/explore/thelook/orders"
    for key, url in urls.items():
        # Users', roles' and sets' `url` is the API's link to the object, not a page a person can open.
        assert url is not None and url.startswith(fake.base_url + "/") and "/api/" not in url, key


def test_a_dependency_restored_then_deleted_in_looker_is_said_so(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    """Not "in the backup but not yet restored": the id map knows it was, and where."""
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook",
                               "explores": [{"name": "orders", "label": "Orders"}]})
    first = make_restorer(sample_backup)
    keys = [(ct, row.id) for ct in TYPE_ORDER for row in first.backup.rows(ct)]
    assert restore_many(first, keys, workers=4).failures == []
    folder = first.idmap.get("folder", "11")
    look = first.idmap.get("look", "201")
    assert folder is not None and look is not None
    fake.remove("looks", look)
    fake.remove("folders", folder)
    for _ in range(2):  # the next run says the same: the mapping is kept until folder 11 is restored
        with pytest.raises(MissingDependency) as raised:
            make_restorer(sample_backup).restore(CT.LOOK, "201")
        assert str(raised.value) == (f"look 201 needs folder 11, but folder 11 was restored as Looker folder "
                                     f"{folder}, which no longer exists: restore folder 11 again first")
    assert make_restorer(sample_backup).restore(CT.FOLDER, "11").action is Action.CREATED
    assert make_restorer(sample_backup).restore(CT.LOOK, "201").action is Action.CREATED
