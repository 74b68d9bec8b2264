"""Turning backup blobs into request bodies, and comparing them with live objects."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping

import msgspec

from ..content_types import NestedFields

__all__ = ["as_datetime", "body_from", "content_hash", "diff", "json_ready", "mappings", "same", "sequence"]


#: Values json.dumps takes as they are: answered without a call (a dashboard's body has thousands).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def json_ready(value: object) -> object:
    """A copy of `value` that json.dumps accepts: datetimes become ISO-8601 UTC strings."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): v if type(v) in _PLAIN else json_ready(v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else json_ready(v) for v in value]  # type: ignore[attr-defined]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def sequence(value: object) -> list[object]:
    """`value` as a list when it is one (a backup field may be missing or null)."""
    return list(value) if isinstance(value, (list, tuple)) else []


def mappings(value: object) -> list[Mapping[str, object]]:
    """The mappings in a list field (dashboard_elements, board_sections, ...)."""
    return [v for v in sequence(value) if isinstance(v, Mapping)]


def body_from(data: Mapping[str, object], fields: Iterable[str],
              nested: NestedFields | None = None) -> dict[str, object]:
    """The writable part of a backup blob: `fields` that are present and not None.

    With `nested`, objects nested in those fields keep only their own writable
    fields (recursively), so read-only nested fields are never sent.
    """
    body = {f: json_ready(data[f]) for f in fields if data.get(f) is not None}
    for field, (sub_fields, sub_nested) in (nested or {}).items():
        value = body.get(field)
        if isinstance(value, Mapping):
            body[field] = body_from(value, sub_fields, sub_nested)
        elif isinstance(value, list):
            body[field] = [body_from(v, sub_fields, sub_nested) if isinstance(v, Mapping) else v for v in value]
    return body


def as_datetime(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return None


def same(a: object, b: object) -> bool:
    """Whether a backup value and a live value mean the same thing.

    None and a missing key are equal; mappings compare key by key ignoring
    None values; datetimes compare as instants whether given as objects or
    ISO strings; ids compare as strings (older SDKs had integer ids).
    """
    kind = type(a)
    if kind is type(b) and kind in _PLAIN and a == b:
        return True
    if a is None or b is None:
        return (a is None or a == {} or a == []) and (b is None or b == {} or b == [])
    if isinstance(a, (dict, Mapping)) and isinstance(b, (dict, Mapping)):
        keys = {k for k, v in a.items() if v is not None} | {k for k, v in b.items() if v is not None}
        return all(same(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, str)) and isinstance(b, (int, str)) and type(a) is not type(b):
        return str(a) == str(b)
    da, db = as_datetime(a), as_datetime(b)
    if da is not None and db is not None:
        return da == db
    return a == b


def diff(wanted: Mapping[str, object], live: Mapping[str, object]) -> dict[str, object]:
    """The entries of `wanted` whose live value differs."""
    return {k: v for k, v in wanted.items() if not same(v, live.get(k))}


def content_hash(data: Mapping[str, object]) -> str:
    """A stable sha256 of a backup blob, for metadata and change detection."""
    encoded = msgspec.json.encode(json_ready(data), order="sorted")
    return hashlib.sha256(encoded).hexdigest()
