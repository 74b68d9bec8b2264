from __future__ import annotations

import datetime as dt

from lookervault_core.content_types import ContentType, spec
from lookervault_core.restore.payload import body_from, content_hash, diff, same


def test_same_treats_none_missing_and_id_forms_alike() -> None:
    assert same(None, None) and same({"a": 1, "b": None}, {"a": 1})
    assert same("42", 42) and not same(True, 1)
    when = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert same(when, "2024-05-01T12:00:00.000000+0000".replace("+0000", "+00:00"))
    assert same(when, "2024-05-01T12:00:00Z")
    assert not same([1, 2], [2, 1])


def test_body_keeps_only_writable_fields_and_diff_names_changes() -> None:
    data = {"id": "1", "title": "T", "can": {"x": True}, "folder": {"name": "F"}, "folder_id": "3", "view_count": 9}
    body = body_from(data, spec(ContentType.DASHBOARD).writable)
    assert body == {"title": "T", "folder_id": "3"}
    assert diff(body, {"title": "T", "folder_id": "4", "id": "1"}) == {"folder_id": "3"}


def test_read_only_fields_are_derived_from_the_sdk_models() -> None:
    dash = spec(ContentType.DASHBOARD)
    assert {"id", "can", "dashboard_elements", "view_count", "created_at"} <= dash.read_only
    assert "title" in dash.writable and "folder" not in dash.writable
    assert "email" in spec(ContentType.USER).read_only


def test_content_hash_is_stable_and_sensitive() -> None:
    a = {"b": 1, "a": [1, {"x": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}]}
    assert content_hash(a) == content_hash(dict(reversed(list(a.items()))))
    assert content_hash(a) != content_hash({**a, "b": 2})
