"""Titles and folder paths of backup items, as a person looks for them (issue 19)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.backups import build_backup
from lookervault_core.titles import ItemTitle, Titles, matching_titles


def test_titles_and_folder_paths_of_the_sample(tmp_path: Path) -> None:
    with BackupReader(build_backup(tmp_path / "b.sqlite")) as reader:
        titles = Titles(reader)
        assert titles.of(CT.DASHBOARD, ["101", "999"]) == {"101": ItemTitle("Sales Overview", "Sales")}
        # Look 202 sits in folder 13, "Regional Sales", inside folder 11, "Sales".
        assert titles.of(CT.LOOK, ["202"]) == {"202": ItemTitle("Orders by Status (Regional)",
                                                                 "Sales / Regional Sales")}
        assert titles.of(CT.FOLDER, ["13"]) == {"13": ItemTitle("Regional Sales", "Sales")}
        assert titles.of(CT.GROUP, ["3"]) == {"3": ItemTitle("Sales Team")}
        # LookerVault stores users as `Untitled 5`: their blob names them.
        assert titles.of(CT.USER, ["5"]) == {"5": ItemTitle("Alice Analyst")}
        assert titles.of(CT.LOOK, ["202"])["202"].describe() == '"Orders by Status (Regional)" in Sales / Regional Sales'


def test_a_corrupt_row_keeps_the_title_of_its_name_column(tmp_path: Path) -> None:
    path = build_backup(tmp_path / "b.sqlite")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE content_items SET content_data = x'c1c1c1' WHERE content_type = 5 AND id = '11'")
        conn.execute("UPDATE content_items SET content_data = x'c1c1c1' WHERE content_type = 7 AND id = '5'")
    with BackupReader(path) as reader:
        titles = Titles(reader)
        assert titles.of(CT.DASHBOARD, ["101"]) == {"101": ItemTitle("Sales Overview", "Sales")}
        assert titles.of(CT.USER, ["5"]) == {"5": ItemTitle("")}


def test_titles_select_by_glob_ignoring_case(tmp_path: Path) -> None:
    with BackupReader(build_backup(tmp_path / "b.sqlite")) as reader:
        rows = reader.select()
        picked = matching_titles(Titles(reader), rows, ["sales*", "Bob *"])
        assert {(r.content_type.label, r.id) for r in picked} == {
            ("dashboard", "101"), ("folder", "11"), ("group", "3"), ("role", "7"), ("model_set", "3"),
            ("scheduled_plan", "401"), ("board", "601"), ("user", "6")}
