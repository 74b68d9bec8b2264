"""Encoding of LookerVault blobs and ids, shared by the backup reader and writer."""

from __future__ import annotations

import sqlite3
from collections import UserList
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import attr
import msgspec

from lookervault_core.content_types import ContentType
from lookervault_core.errors import BackupUnreadable

__all__ = ["decode_blob", "encode_blob", "item_key", "normalize_id"]

UNKNOWN_ID = "unknown"


def normalize_id(content_type: ContentType, raw_id: str) -> str:
    """Strip the `<type>::` prefix the sequential extractor writes.

    Explore ids are `model::explore` themselves, so for explores the prefix is
    only stripped when what remains still has the `model::` part.
    """
    prefix = content_type.label + "::"
    if raw_id.startswith(prefix):
        rest = raw_id[len(prefix):]
        if content_type is not ContentType.EXPLORE or "::" in rest:
            return rest
    return raw_id


def item_key(content_type: ContentType, data: Mapping[str, object]) -> str:
    """The id LookerVault keys an object by: `name` for models, `model::explore` for explores.

    Returns `"unknown"` when the object has no identifier, as LookerVault does.
    """
    if content_type is ContentType.LOOKML_MODEL:
        key = data.get("name")
    elif content_type is ContentType.EXPLORE:
        explore_id, model, name = data.get("id"), data.get("model_name"), data.get("name")
        if isinstance(explore_id, str) and "::" in explore_id:
            key = explore_id
        else:
            key = f"{model}::{name}" if model and name else None
    else:
        key = data.get("id")
    return UNKNOWN_ID if key is None or key == "" else str(key)


def _enc_hook(obj: object) -> object:
    # SDK objects nested in a plain dict: keep every field, None included.
    if attr.has(type(obj)):
        return {f.name: getattr(obj, f.name) for f in attr.fields(type(obj))}  # type: ignore[arg-type]
    if isinstance(obj, UserList):  # looker_sdk's DelimSequence
        return list(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def encode_blob(data: Mapping[str, object]) -> bytes:
    """Encode an object as LookerVault does.

    Top-level `None` values and private keys (leading underscore) are dropped;
    nested values are kept as they are. Aware datetimes become MessagePack
    timestamps, enums their values.
    """
    clean = {str(k): v for k, v in data.items() if v is not None and not str(k).startswith("_")}
    return msgspec.msgpack.encode(clean, enc_hook=_enc_hook)


def decode_blob(blob: bytes) -> dict[str, object]:
    """Decode a `content_data` blob to a dict.

    Raises:
        ValueError: the blob is not MessagePack, or not a map.
    """
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise ValueError(f"content_data is {type(blob).__name__}, not a blob")
    try:
        value = msgspec.msgpack.decode(blob)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not MessagePack: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"decodes to {type(value).__name__}, not a map")
    return value


@contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    # The one place sqlite3 errors become library errors.
    try:
        yield
    except sqlite3.Error as exc:
        raise BackupUnreadable(f"{path}: {exc}") from exc


def as_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def as_str(value: object) -> str | None:
    return None if value is None else str(value)
