"""Issue 16, parts 4 and 5: `lookervault restore` WITHOUT `--source-instance`, into an empty instance.

The restore then assumes the destination may be the backup's own instance and
checks each assumed id's identity before using it. An empty destination gives
out the same small ids to other objects (its own Shared folder is 1, the
personal folders of the users restore creates get whatever comes next), so
every item must still be created once, in the right place, and recorded in
the id map; a second run must write nothing. The CLI runs in this process
(as `lookervault` does, Dagster runs in-process against DAGSTER_HOME) to keep
ten runs fast.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.backups import build_backup, every_type_items
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.cli.commands import main

from ..core.test_restore import writes

pytestmark = pytest.mark.integration

Obj = Mapping[str, object]
_NAMES = {CT.FOLDER: "name", CT.LOOK: "title", CT.DASHBOARD: "title", CT.BOARD: "title", CT.GROUP: "name",
          CT.ROLE: "name", CT.MODEL_SET: "name", CT.SCHEDULED_PLAN: "name", CT.USER: "email"}


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    return build_backup(tmp_path / "old.sqlite", every_type_items())


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("LOOKERVAULT_STATE_DIR", "LOOKERVAULT_IDMAP_URL", "LOOKERVAULT_BACKUP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOOKERVAULT_BACKUP", "")  # restore_backup sets it; restored after the test
    yield monkeypatch


def _empty_destination() -> FakeLooker:
    fake = FakeLooker(strict=True).start()
    # The new instance has the LookML project deployed (Looker answers 404 to a query on a model it lacks).
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook",
                               "allowed_db_connection_names": ["thelook_db"],
                               "explores": [{"name": "orders", "label": "Orders", "hidden": False}]})
    return fake


def _point_at(env: pytest.MonkeyPatch, fake: FakeLooker, home: Path) -> None:
    env.setenv("DAGSTER_HOME", str(home))
    env.setenv("LOOKERSDK_BASE_URL", fake.base_url)
    env.setenv("LOOKERSDK_CLIENT_ID", fake.client_id)
    env.setenv("LOOKERSDK_CLIENT_SECRET", fake.client_secret)


def lookervault(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _restore(backup: Path) -> tuple[int, dict[str, object]]:
    result = lookervault("restore", "--backup", str(backup), "--json")
    return result.exit_code, json.loads(result.stdout)


# --- the backup's content as places and names, compared with the fake's --------------------


class Places:
    """Where each folder is, written the same way for the backup and for Looker.

    Shared and Users are `Shared` and `~`, a user's personal folder `~email`,
    any other folder its parent's place and its name: ids differ between the two.
    """

    def __init__(self, folders: Mapping[str, Obj], users: Mapping[str, Obj]) -> None:
        self.folders = folders
        self.owner = {str(u.get("personal_folder_id")): u for u in users.values()}

    def of(self, folder_id: object) -> str:
        folder = self.folders.get(str(folder_id))
        if folder is None:
            return f"?{folder_id}"
        if folder.get("is_shared_root"):
            return "Shared"
        if folder.get("is_users_root"):
            return "~"
        if folder.get("is_personal"):
            return f"~{_email(self.owner.get(str(folder_id), {}))}"
        return f"{self.of(folder.get('parent_id'))}/{folder.get('name')}"


def _email(user: Obj) -> str:
    creds = user.get("credentials_email")
    if isinstance(creds, Mapping) and creds.get("email"):
        return str(creds["email"])
    return str(user.get("email"))


def _tiles(elements: object) -> list[tuple[str, str]]:
    out = []
    for el in elements if isinstance(elements, list) else []:
        out.append((str(el.get("type")), str(el.get("title") or el.get("title_text"))))
    return sorted(out)


def _content(folders: Mapping[str, Obj], users: Mapping[str, Obj], looks: Mapping[str, Obj],
             dashboards: Mapping[str, Obj], tiles_of: Mapping[str, object]) -> dict[str, object]:
    places = Places(folders, users)
    by_id = {str(u["id"]): _email(u) for u in users.values()}
    return {
        "folders": sorted(places.of(f) for f, d in folders.items() if not d.get("is_users_root")),
        "homes": sorted((_email(u), places.of(u.get("home_folder_id"))) for u in users.values() if _email(u) != "None"),
        "looks": sorted((places.of(lk.get("folder_id")), str(lk["title"]), by_id.get(str(lk.get("user_id")), "?"))
                        for lk in looks.values()),
        "dashboards": sorted((places.of(d.get("folder_id")), str(d["title"]), by_id.get(str(d.get("user_id")), "?"),
                              repr(_tiles(tiles_of[i]))) for i, d in dashboards.items()),
    }


def _backup_content(backup: Path) -> dict[str, object]:
    with BackupReader(backup) as reader:
        def of(ct: CT) -> dict[str, Obj]:
            return {i.row.id: i.data for i in reader.items(ct)}  # type: ignore[misc]
        dashboards = of(CT.DASHBOARD)
        return _content(of(CT.FOLDER), of(CT.USER), of(CT.LOOK), dashboards,
                        {i: d.get("dashboard_elements") for i, d in dashboards.items()})


def _live_content(fake: FakeLooker, backup: Path) -> dict[str, object]:
    users = {i: u for i, u in fake.all("users").items() if _email(u) != "None"}  # not the API user
    with BackupReader(backup) as reader:  # personal folders the backup holds (not Dana's)
        held = {i.row.id for i in reader.items(CT.FOLDER) if i.data.get("is_personal")}  # type: ignore[union-attr]
        owners = {_email(i.data) for i in reader.items(CT.USER)  # type: ignore[arg-type]
                  if str(i.data.get("personal_folder_id")) in held}  # type: ignore[union-attr]
    personal = {str(u.get("personal_folder_id")) for u in users.values() if _email(u) in owners}
    # Every instance lists the LookML Dashboards system folder (id "lookml"); this backup does not hold it.
    folders = {i: f for i, f in fake.all("folders").items()
               if i != "lookml" and (not f.get("is_personal") or i in personal)}
    looks = {i: lk for i, lk in fake.all("looks").items() if not lk.get("deleted")}
    dashboards = {i: d for i, d in fake.all("dashboards").items() if not d.get("deleted")}
    elements = fake.all("dashboard_elements").values()
    tiles = {i: [e for e in elements if str(e.get("dashboard_id")) == i] for i in dashboards}
    return _content(folders, users, looks, dashboards, tiles)


def _assert_each_item_once(fake: FakeLooker, backup: Path) -> None:
    with BackupReader(backup) as reader:
        for ct, field in _NAMES.items():
            live = Counter(_email(o) if ct is CT.USER else str(o.get(field))
                           for o in fake.all(ct.plural).values() if not o.get("deleted"))
            for item in reader.items(ct):
                key = _email(item.data) if ct is CT.USER else str(item.data.get(field))  # type: ignore[arg-type]
                assert live[key] == 1, f"{ct.label} {item.row.id} {key!r}: {live[key]} in Looker"


# --- the tests -----------------------------------------------------------------------


def test_default_restore_into_an_empty_instance_five_times(backup: Path, tmp_path: Path,
                                                           cli_env: pytest.MonkeyPatch) -> None:
    expected = _backup_content(backup)
    for attempt in range(5):
        with _empty_destination() as fake:
            _point_at(cli_env, fake, tmp_path / f"dagster_home_{attempt}")
            code, report = _restore(backup)
            assert code == 0, json.dumps(report, indent=1)[-4000:]
            # Each item counted once (users restored twice, the second time to set their home folders): all
            # created but the 5 system folders and the built-in Admin set (mapped), and the LookML model and
            # explore the destination has.
            assert {k: v for k, v in report["totals"].items() if v} == {  # type: ignore[union-attr]
                "created": 46, "skipped": 6, "unchanged": 2}, report["totals"]
            _assert_each_item_once(fake, backup)
            live = _live_content(fake, backup)
            for part, wanted in expected.items():
                assert live[part] == wanted, f"attempt {attempt}: {part}"

            fake.clear_requests()
            code, again = _restore(backup)
            assert code == 0, json.dumps(again, indent=1)[-4000:]
            assert writes(fake) == [], f"attempt {attempt}"
            assert again["totals"]["created"] == 0, again["totals"]  # type: ignore[index]
            assert [r["content_type"] for r in again["runs"] if r["counts"]["created"]] == []  # type: ignore[index,union-attr]
            _assert_each_item_once(fake, backup)


def test_ids_the_backup_lacks_are_refused(backup: Path, tmp_path: Path, cli_env: pytest.MonkeyPatch) -> None:
    with _empty_destination() as fake:
        _point_at(cli_env, fake, tmp_path / "dagster_home")
        fake.clear_requests()
        alone = lookervault("restore", "--backup", str(backup), "--types", "dashboards", "--ids", "42")
        assert alone.exit_code != 0 and "dashboard 42" in alone.output, alone.output
        mixed = lookervault("restore", "--backup", str(backup), "--ids", "3,42,77")
        assert mixed.exit_code != 0 and "42, 77" in mixed.output and "Traceback" not in mixed.output, mixed.output
        assert writes(fake) == []


def test_a_dry_run_with_unrestorable_items_ends_with_them(tmp_path: Path, cli_env: pytest.MonkeyPatch) -> None:
    items = every_type_items()
    for ct, data in items:
        if ct is CT.LOOK and data["id"] == "4":  # as LookerVault keeps a look: only the query's id
            data.pop("query")
            data["query_id"] = "999"
    backup = build_backup(tmp_path / "old.sqlite", items)
    with _empty_destination() as fake:
        _point_at(cli_env, fake, tmp_path / "dagster_home")
        fake.clear_requests()
        dry = lookervault("restore", "--backup", str(backup), "--dry-run")
        assert dry.exit_code == 1
        tail = dry.output.strip().splitlines()
        assert "Traceback" not in dry.output and "Stack Trace" not in dry.output, dry.output[-3000:]
        assert tail[-2].startswith("cannot be restored (1):"), tail[-4:]
        assert tail[-1].startswith("  look 4 \"") and "UnrestorableItem: look 4 cannot be restored: query_id 999" in tail[-1], \
            tail[-4:]
        assert writes(fake) == []
        # Nothing was tried: no dead letters (a failed dry-run range run would make all its partitions FAILED).
        assert json.loads(lookervault("dead-letters", "--json").stdout) == []


def test_retry_failed_after_an_outage_also_sets_what_the_first_pass_could_not(
    backup: Path, tmp_path: Path, cli_env: pytest.MonkeyPatch
) -> None:
    """Looker refuses every write; `retry-failed` then restores it all, users' home folders included.

    Users are restored before folders, so a new user's home folder is set by a second pass once the
    folders exist: retry-failed makes that pass too (issue 18: it left every home folder unset).
    """
    from lookervault_core.testing.fake_looker import ServerError

    expected = _backup_content(backup)
    with _empty_destination() as fake:
        _point_at(cli_env, fake, tmp_path / "dagster_home")
        for route in ("POST /users", "POST /folders", "POST /groups", "POST /roles", "POST /model_sets"):
            fake.inject(route, ServerError(503), times=100_000)
        code, _ = _restore(backup)
        assert code == 1
        fake.clear_faults()
        result = lookervault("retry-failed", "--backup", str(backup), "--json")
        assert result.exit_code == 0, result.stdout[-4000:]
        _assert_each_item_once(fake, backup)
        assert _live_content(fake, backup) == expected
