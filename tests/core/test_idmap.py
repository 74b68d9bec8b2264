from __future__ import annotations

import threading
from pathlib import Path

from lookervault_core.idmap import IdMap


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


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    m = IdMap(tmp_path / "m.sqlite", "s", "d")

    def write(n: int) -> None:
        for i in range(100):
            m.set("look", f"{n}-{i}", f"x{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(m.items("look"))) == 800
    m.close()


def test_on_the_same_instance_unmapped_ids_are_kept(tmp_path: Path) -> None:
    with IdMap(tmp_path / "m.sqlite", "x.looker.com", "x.looker.com") as m:
        assert m.same_instance and m.resolve("look", "7") == "7"
        m.set("look", "7", "7")  # implied, not stored
        m.set("look", "8", "80")  # re-created under a new id
        assert list(m.items()) == [("look", "8", "80")]
