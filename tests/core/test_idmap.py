from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lookervault_core.errors import MappingError
from lookervault_core.idmap import BackupSources, IdMap


def test_mappings_persist_per_source_and_destination(tmp_path: Path) -> None:
    path = tmp_path / "state" / "idmap.sqlite"
    with IdMap(path, "a.looker.com", "b.looker.com") as m:
        m.set("dashboard", "42", "1042")
        m.set("dashboard", "42", "2042")  # a later restore re-created it
        assert m.resolve("look", "7") is None  # across instances, unmapped means "not restored yet"
    with IdMap(path, "a.looker.com", "b.looker.com") as m:
        assert m.get("dashboard", "42") == "2042"
        assert m.source_of("dashboard", "2042") == "42"
        assert list(m.items()) == [("dashboard", "42", "2042")]
    with IdMap(path, "a.looker.com", "c.looker.com") as other:
        assert other.get("dashboard", "42") is None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_writers_lose_nothing(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    where = tmp_path / "m.sqlite" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    m = IdMap(where, "s", f"d-{backend}")

    def write(n: int) -> None:
        for i in range(50):
            m.set("look", f"{n}-{i}", f"x{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(m.items("look"))) == 400
    m.close()


def test_a_map_remembers_absences_and_reads_the_store_when_asked_fresh(tmp_path: Path) -> None:
    """A batch asks the map ~36 times per dashboard: answered from memory, a write by another process is
    seen only where it is asked for fresh (before a create) or at the next `load`."""
    path = tmp_path / "m.sqlite"
    with IdMap(path, "old", "new") as mine, IdMap(path, "old", "new") as other:
        assert mine.get("look", "7") is None
        other.set("look", "7", "507")
        assert mine.get("look", "7") is None  # remembered
        assert mine.get("look", "7", fresh=True) == "507"
        assert mine.get("look", "7") == "507"
        other.set("look", "8", "508")
        assert mine.load() == 2
        assert mine.get("look", "8") == "508" and mine.get("look", "9") is None
        mine.forget("look", "8")
        other.set("look", "9", "509")
        other.set("dashboard_element", "90", "590")
        assert mine.get("look", "8") is None and mine.get("look", "9") is None  # loaded: the rest is absent
        assert mine.get("look", "9", fresh=True) == "509"
        # Another process restored something meanwhile: what it wrote with it (a dashboard's tiles) is seen too.
        assert mine.get("dashboard_element", "90") == "590"
        mine.set("look", "10", "510")
        assert other.get("look", "10") == "510"


def test_on_the_same_instance_unmapped_ids_are_kept(tmp_path: Path) -> None:
    with IdMap(tmp_path / "m.sqlite", "x.looker.com", "x.looker.com") as m:
        assert m.same_instance and m.resolve("look", "7") == "7"
        m.set("look", "7", "7")  # implied, not stored
        m.set("look", "8", "80")  # re-created under a new id
        assert list(m.items()) == [("look", "8", "80")]


def test_a_map_in_postgres_is_shared_by_separate_processes(postgres_url: str, tmp_path: Path) -> None:
    """Runs in separate containers reach one database: what one records, the next one finds."""
    script = (
        "import sys\n"
        "from lookervault_core.idmap import IdMap\n"
        "with IdMap(sys.argv[1], 'prod', 'new.looker.com') as m:\n"
        "    m.set('dashboard', '42', '1042')\n"
        "    m.set('look', '7', '507')\n"
        "    m.forget('look', '7')\n"
    )
    subprocess.run([sys.executable, "-c", script, postgres_url], check=True, timeout=60)
    with IdMap(postgres_url, "prod", "new.looker.com") as m:
        assert m.get("dashboard", "42") == "1042" and m.get("look", "7") is None
        assert m.source_of("dashboard", "1042") == "42"
        assert list(m.items()) == [("dashboard", "42", "1042")]
        m.set("dashboard", "42", "2042")  # a later restore re-created it
    with IdMap(postgres_url, "prod", "new.looker.com") as m:
        assert m.get("dashboard", "42") == "2042"
    with IdMap(postgres_url, "prod", "other.looker.com") as other:
        assert other.get("dashboard", "42") is None


def test_an_unreachable_database_is_a_clear_error_without_its_password() -> None:
    with pytest.raises(MappingError) as exc:
        IdMap("postgresql://restore:s3cret@127.0.0.1:1/nowhere", "s", "d")
    assert "s3cret" not in str(exc.value) and "127.0.0.1:1/nowhere" in str(exc.value)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_source_named_once_holds_for_later_runs_on_the_same_backup(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = str(tmp_path / "m.sqlite") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    dest = f"new-{backend}.looker.com"
    with BackupSources(where) as sources:
        unnamed = sources.choose(dest, fingerprint="aa", backup_path="/b/x.db", given=None, record=True)
        assert unnamed.source == dest and unnamed.same_instance_assumed
        # A dry run names it without keeping it.
        assert sources.choose(dest, fingerprint="aa", backup_path="/b/x.db", given="old", record=False).source == "old"
        assert sources.choose(dest, fingerprint="aa", backup_path="/b/x.db", given=None, record=True).source == dest
        sources.choose(dest, fingerprint="aa", backup_path="/b/x.db", given="old", record=True)
    with BackupSources(where) as sources:
        again = sources.choose(dest, fingerprint="aa", backup_path="/b/x.db", given=None, record=True)
        assert (again.source, again.origin) == ("old", BackupSources.RECORDED)
        # The file at that path after the next LookerVault sync: new content, same origin.
        synced = sources.choose(dest, fingerprint="bb", backup_path="/b/x.db", given=None, record=True)
        assert (synced.source, synced.origin) == ("old", BackupSources.RECORDED_AT_PATH)
        # Another destination knows nothing of it.
        assert sources.choose("other", fingerprint="aa", backup_path="/b/x.db", given=None, record=True).source == "other"
        with pytest.raises(MappingError, match="coming from source instance 'old', and this run names 'typo'"):
            sources.choose(dest, fingerprint="aa", backup_path="/b/x.db", given="typo", record=True)
        with pytest.raises(MappingError, match="'old'"):
            sources.choose(dest, fingerprint="aa", backup_path="/b/x.db", given="typo", record=False)
        # The refused name was not kept for the path either.
        assert sources.choose(dest, fingerprint="cc", backup_path="/b/x.db", given=None, record=True).source == "old"
