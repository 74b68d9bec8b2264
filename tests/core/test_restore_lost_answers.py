"""A write whose answer is lost may have happened: restore must never leave a second copy.

Looker carried out the POST, then its answer was lost (a 500 from a proxy, a
reset connection, an answer slower than LOOKERSDK_TIMEOUT). Whatever retries
it, in the same run or the next, must find what the first try made and adopt
it. Every test counts the live objects by their natural keys.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.idmap import IdMap
from lookervault_core.looker import LookerClient, RetryPolicy, connect
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.restore.batch import BatchSummary
from lookervault_core.testing.backups import build_backup, every_type_items
from lookervault_core.testing.fake_looker import DropConnection, Fault, FakeLooker, Latency, ServerError

from ..conftest import settings_for
from .test_restore import all_keys

LOST: dict[str, Fault] = {
    "500-after-write": ServerError(500, after_processing=True),
    "reset-after-write": DropConnection(after_processing=True),
}


@pytest.fixture
def backup(tmp_path: Path, fake: FakeLooker) -> Path:
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook",
                               "allowed_db_connection_names": ["thelook_db"],
                               "explores": [{"name": "orders", "label": "Orders", "hidden": False}]})
    return build_backup(tmp_path / "every.sqlite", every_type_items())


@pytest.fixture
def open_restorer(fake: FakeLooker, tmp_path: Path) -> Iterator[Callable[..., Restorer]]:
    """A Restorer into the fake with its own client (`timeout` seconds per answer); one id map for all runs."""
    opened: list[LookerClient | BackupReader | IdMap] = []

    def make(backup: Path, *, timeout: int = 120, backoff: float = 0.0) -> Restorer:
        client = connect(settings_for(fake, timeout=timeout),
                         retry=RetryPolicy(initial_backoff=backoff, max_backoff=4 * backoff, jitter=0.0))
        reader = BackupReader(backup)
        idmap = IdMap(tmp_path / "state" / "idmap.sqlite", "source", client.settings.instance_id)
        opened.extend([client, reader, idmap])
        return Restorer(client, reader, idmap)

    yield make
    for obj in reversed(opened):
        obj.close()


def run(restorer: Restorer) -> BatchSummary:
    return restore_many(restorer, all_keys(restorer.backup), workers=4)


def failures(summary: BatchSummary, *, but_missing: bool = False) -> list[str]:
    """The failures, but (`but_missing`) those of items whose dependencies are not restored yet."""
    return [f"{f.content_type.label} {f.source_id}: {f.error.message}" for f in summary.failures
            if not (but_missing and f.error.type == "MissingDependency")]


def _live(fake: FakeLooker, collection: str) -> list[dict[str, object]]:
    return [o for o in fake.all(collection).values() if not o.get("deleted")]


def _key(obj: Mapping[str, object], *fields: str) -> tuple[str, ...]:
    return tuple(str(obj.get(f)) for f in fields)


#: collection → the fields that tell its objects apart (a natural key).
_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("first_name", "last_name"),
    "folders": ("name", "parent_id"),
    "looks": ("title", "folder_id"),
    "dashboards": ("title", "folder_id"),
    "dashboard_elements": ("dashboard_id", "title", "type", "look_id", "query_id", "body_text"),
    "dashboard_filters": ("dashboard_id", "name"),
    "dashboard_layouts": ("dashboard_id", "label", "active"),
    "scheduled_plans": ("name", "user_id"),
    "boards": ("title", "user_id"),
    "board_sections": ("board_id", "title"),
    "board_items": ("board_section_id", "dashboard_id", "look_id"),
    "groups": ("name",),
    "roles": ("name",),
    "permission_sets": ("name",),
    "model_sets": ("name",),
}


def assert_none_twice(fake: FakeLooker) -> None:
    """No two live objects share a natural key; no user has two personal folders."""
    for collection, fields in _KEYS.items():
        twice = {k: n for k, n in Counter(_key(o, *fields) for o in _live(fake, collection)).items() if n > 1}
        assert not twice, f"{collection} made twice: {twice}"
    personal = Counter(str(f.get("creator_id")) for f in _live(fake, "folders") if f.get("is_personal"))
    assert set(personal.values()) <= {1}, personal


def assert_each_once(fake: FakeLooker, backup: Path) -> None:
    """No object twice, and Looker holds as many of each kind as the backup."""
    assert_none_twice(fake)
    with BackupReader(backup) as reader:
        data = {ct: [reader.get(ct, i).data for i in reader.ids(ct)] for ct in (CT.DASHBOARD, CT.USER, CT.BOARD)}
    # Users (each with one personal folder): the API user and the backup's.
    assert len(_live(fake, "users")) == 1 + len(data[CT.USER])
    tiles = Counter(str(e.get("dashboard_id")) for e in _live(fake, "dashboard_elements"))
    wanted = sorted(len(d.get("dashboard_elements") or []) for d in data[CT.DASHBOARD])  # type: ignore[arg-type]
    assert sorted(tiles.values()) == wanted
    layouts = Counter(str(e.get("dashboard_id")) for e in _live(fake, "dashboard_layouts"))
    assert sorted(layouts.values()) == sorted(len(d.get("dashboard_layouts") or [1])  # type: ignore[arg-type]
                                              for d in data[CT.DASHBOARD])
    assert len(_live(fake, "boards")) == len(data[CT.BOARD])
    assert len(_live(fake, "scheduled_plans")) == 2


_WRITES = ["POST /users", "POST /users/*/credentials_email", "POST /folders", "POST /looks", "POST /dashboards",
           "POST /dashboard_elements", "POST /dashboard_filters",
           "POST /scheduled_plans", "POST /boards", "POST /board_sections", "POST /board_items", "POST /groups"]


@pytest.mark.parametrize("kind", sorted(LOST))
@pytest.mark.parametrize("route", _WRITES)
def test_a_create_whose_answer_is_lost_is_adopted_in_the_same_run(
    fake: FakeLooker, backup: Path, open_restorer: Callable[..., Restorer], route: str, kind: str
) -> None:
    """Looker made the object, the answer was lost: the same run finds it and goes on, no second copy.

    A first run into an empty instance leaves items whose personal folders it
    maps only once their users exist (MissingDependency, healed by the second
    run), so boards and some dashboards are written in the second run: the
    faults wait for them there. No lost answer fails an item.
    """
    fake.inject(route, LOST[kind], times=2)
    first = run(open_restorer(backup))
    assert failures(first, but_missing=True) == []
    assert_none_twice(fake)
    second = run(open_restorer(backup))
    assert failures(second) == []
    lost = [r for r in fake.requests if r.method == "POST" and r.status in (0, 500)]
    assert len(lost) == 2, [f"{r.method} {r.path}" for r in lost]
    assert_each_once(fake, backup)
    third = run(open_restorer(backup))
    assert failures(third) == []
    assert_each_once(fake, backup)


@pytest.mark.parametrize("route", ["POST /dashboard_elements", "POST /users", "POST /dashboards", "POST /folders"])
def test_an_answer_slower_than_the_timeout_leaves_no_second_copy(
    fake: FakeLooker, backup: Path, open_restorer: Callable[..., Restorer], route: str
) -> None:
    """LOOKERSDK_TIMEOUT=1 and Looker answers a create after 2.5 s: the write lands after the client gave up.

    The first run may fail the item (it cannot know yet); it never sends the
    create again blind. The next run finds what the slow write made.
    """
    fake.inject(route, Latency(ms=2500), times=1)
    first = run(open_restorer(backup, timeout=1))
    time.sleep(2.0)  # the slow write lands
    assert_none_twice(fake)
    # The item whose create timed out may fail (dead-lettered, transient): it is not sent again blind.
    unknown = failures(first, but_missing=True)
    assert all("no answer in time" in f for f in unknown), unknown
    for failure in first.failures:
        if failure.error.details.get("write_may_have_happened"):
            assert failure.error.details["may_still_happen"] is True  # the dead letter says so
    second = run(open_restorer(backup, timeout=1))
    assert failures(second, but_missing=True) == []
    assert_none_twice(fake)
    # A user restored only now has its personal folder mapped only now: what
    # sits in that folder follows in the next run (as after any first run).
    third = run(open_restorer(backup, timeout=1))
    assert failures(third) == []
    assert_each_once(fake, backup)


def test_a_slow_create_found_within_the_retry_waits_is_adopted_in_the_same_run(
    fake: FakeLooker, backup: Path, open_restorer: Callable[..., Restorer]
) -> None:
    """Timeout 1 s, the tile's create lands after 1.8 s: the lookups over the backoff (0.5, 1, 2 s) find it."""
    restorer = open_restorer(backup, timeout=1, backoff=0.5)
    fake.inject("POST /dashboard_elements", Latency(ms=1800), times=1)
    first = run(restorer)
    assert failures(first, but_missing=True) == []
    adopted = [r for r in first.results if "already had it" in r.message]
    assert len(adopted) == 1 and "ReadTimeout" in adopted[0].message
    assert_none_twice(fake)
    assert failures(run(restorer)) == []
    assert_each_once(fake, backup)


@pytest.mark.parametrize("kind", sorted(LOST))
def test_a_backup_whose_every_seventh_write_loses_its_answer_ends_with_each_item_once(
    fake: FakeLooker, backup: Path, open_restorer: Callable[..., Restorer], kind: str
) -> None:
    fake.inject("P* *", LOST[kind], times=100_000, every=7)
    first = run(open_restorer(backup))
    lost = [r for r in fake.requests if r.method in ("POST", "PATCH", "PUT") and r.status in (0, 500)]
    assert len(lost) >= 10
    assert_none_twice(fake)
    fake.clear_faults()
    second = run(open_restorer(backup))
    assert failures(second) == []
    assert_each_once(fake, backup)
    del first


@pytest.mark.parametrize("kind", sorted(LOST))
def test_a_tab_whose_answer_is_lost_is_adopted(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer], kind: str
) -> None:
    """The sample dashboard has tabs (layouts): a tab made but unanswered is found on the dashboard, not made again."""
    from .test_restore import assert_all_restored, deploy_lookml, restore_all

    restorer = make_restorer(sample_backup)
    fake.inject("POST /dashboard_layouts", LOST[kind], times=1)
    restore_all(restorer, expected_failures=frozenset({(CT.EXPLORE, "thelook::orders")}))
    assert [r.status for r in fake.requests if (r.method, r.path) == ("POST", "/dashboard_layouts")][0] in (0, 500)
    for row in restorer.backup.rows(CT.DASHBOARD):
        data = restorer.backup.get(CT.DASHBOARD, row.id).data
        dest = restorer.idmap.resolve(CT.DASHBOARD.label, row.id)
        layouts = [x for x in _live(fake, "dashboard_layouts") if str(x.get("dashboard_id")) == dest]
        assert len(layouts) == len(data.get("dashboard_layouts") or [1]), (row.id, layouts)  # type: ignore[arg-type]
    assert_none_twice(fake)
    deploy_lookml(fake)  # explores come from deployed LookML (the one expected failure above)
    assert_all_restored(fake, restorer)
