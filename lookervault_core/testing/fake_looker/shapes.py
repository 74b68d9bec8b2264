"""The fields of the SDK's attrs models, computed once per model.

The fake answers with every field the SDK's read model has (missing ones as
null) and checks request bodies against the SDK's Write models. Both need the
models' field lists, their JSON keys and loose types; `shape(model)` derives
them once and caches them, so requests never pay for reflection.
"""

from __future__ import annotations

import collections.abc
import datetime
import enum
import keyword
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import attr
from looker_sdk.rtl import model as sdk_model
from looker_sdk.sdk.api40 import models as m

__all__ = ["FieldInfo", "Problem", "Shape", "check_write", "complete", "is_id_key", "shape"]

_MODELS_NS = vars(m)


@dataclass(frozen=True)
class FieldInfo:
    """One field of a model: its JSON key and a loose type."""

    key: str
    #: "str", "int", "float", "bool", "datetime", "map", "any", "model" or "enum".
    kind: str
    many: bool
    model: type | None
    choices: frozenset[str] | None
    required: bool


@dataclass(frozen=True)
class Shape:
    """The fields of one SDK model, keyed by JSON key."""

    model: type
    fields: Mapping[str, FieldInfo]
    keys: tuple[str, ...]
    required: tuple[str, ...]

    @property
    def name(self) -> str:
        """The model's class name."""
        return self.model.__name__


@dataclass(frozen=True)
class Problem:
    """One field error of a request body, as Looker's 422 `errors[]` lists them."""

    field: str
    code: str
    message: str


def is_id_key(key: str) -> bool:
    """Whether a key holds an id (Looker ids are strings in API 4.0)."""
    return key == "id" or key.endswith("_id")


def _json_key(name: str) -> str:
    # The SDK renames JSON keys that are Python keywords ("from" -> "from_").
    if name.endswith("_") and keyword.iskeyword(name[:-1]):
        return name[:-1]
    return name


def _analyse(tp: object) -> tuple[str, bool, type | None, frozenset[str] | None]:
    many = False
    for _ in range(4):
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Union:
            tp = next(a for a in args if a is not type(None))
            continue
        if origin in (collections.abc.Sequence, list, tuple) or (
            isinstance(origin, type) and issubclass(origin, sdk_model.DelimSequence)
        ):
            many = True
            tp = args[0] if args else typing.Any
            continue
        break
    if isinstance(tp, typing.ForwardRef):
        tp = _MODELS_NS[tp.__forward_arg__]
    if isinstance(tp, str):
        tp = _MODELS_NS[tp]
    origin = typing.get_origin(tp)
    if origin in (collections.abc.MutableMapping, collections.abc.Mapping, dict) or tp is dict:
        return "map", many, None, None
    if tp is typing.Any:
        return "any", many, None, None
    if isinstance(tp, type):
        if attr.has(tp):
            return "model", many, tp, None
        if issubclass(tp, enum.Enum):
            return "enum", many, None, frozenset(str(e.value) for e in tp)
        if tp is bool:
            return "bool", many, None, None
        if tp is int:
            return "int", many, None, None
        if tp is float:
            return "float", many, None, None
        if tp is str:
            return "str", many, None, None
        if tp is datetime.datetime:
            return "datetime", many, None, None
    return "any", many, None, None


@cache
def shape(model: type) -> Shape:
    """The Shape of an SDK model class (cached)."""
    hints = typing.get_type_hints(model, globalns=_MODELS_NS)
    fields: dict[str, FieldInfo] = {}
    required: list[str] = []
    for f in attr.fields(model):
        kind, many, nested, choices = _analyse(hints.get(f.name, typing.Any))
        key = _json_key(f.name)
        is_required = f.default is attr.NOTHING
        fields[key] = FieldInfo(key, kind, many, nested, choices, is_required)
        if is_required:
            required.append(key)
    return Shape(model, fields, tuple(fields), tuple(required))


def complete(sh: Shape, data: Mapping[str, object]) -> dict[str, object]:
    """Every field of the model, missing ones as null, nested models completed too."""
    out: dict[str, object] = {}
    for key, fi in sh.fields.items():
        value = data.get(key)
        if value is not None and fi.model is not None:
            sub = shape(fi.model)
            if fi.many and isinstance(value, list):
                value = [complete(sub, v) if isinstance(v, Mapping) else v for v in value]
            elif not fi.many and isinstance(value, Mapping):
                value = complete(sub, value)
        out[key] = value
    return out


def _scalar_ok(fi: FieldInfo, value: object) -> bool:
    kind = fi.kind
    if kind == "str":
        if is_id_key(fi.key):
            return isinstance(value, str)
        # Looker coerces numbers sent for string fields (refresh_interval, limit, ...).
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if kind == "int":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "datetime":
        if not isinstance(value, str):
            return False
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    if kind == "map":
        return isinstance(value, Mapping)
    if kind == "enum":
        return isinstance(value, str) and (fi.choices is None or value in fi.choices)
    if kind == "model":
        return isinstance(value, Mapping)
    return True


def _expected(fi: FieldInfo) -> str:
    base = {"map": "an object", "model": "an object", "any": "a value", "enum": "one of the allowed values"}
    what = base.get(fi.kind, f"a {fi.kind}")
    if fi.kind == "str" and is_id_key(fi.key):
        what = "a string id"
    return f"an array of {fi.kind} values" if fi.many else what


def check_write(
    write: Shape,
    read: Shape | None,
    body: Mapping[str, object],
    *,
    strict: bool,
    creating: bool,
    prefix: str = "",
) -> tuple[dict[str, object], list[Problem]]:
    """Check a request body against a Write model, like Looker does.

    Looker ignores fields it cannot write; in strict mode each one is a
    problem, coded `read_only` when the read model has it and `unknown`
    otherwise. Types are checked loosely; required fields (attrs fields without
    default) are enforced on create.

    Returns:
        The body without the ignored fields, and the problems found.
    """
    clean: dict[str, object] = {}
    problems: list[Problem] = []
    for key, value in body.items():
        name = prefix + key
        fi = write.fields.get(key)
        if fi is None:
            if strict:
                if read is not None and key in read.fields:
                    problems.append(Problem(name, "read_only", f"{name} is read-only"))
                else:
                    problems.append(Problem(name, "unknown", f"{name} is not a field of {write.name}"))
            continue
        if value is None:
            if fi.required:
                problems.append(Problem(name, "missing", f"{name} is required"))
            clean[key] = None
            continue
        if fi.many:
            if not isinstance(value, list) or not all(v is None or _scalar_ok(fi, v) for v in value):
                problems.append(Problem(name, "invalid", f"{name} must be {_expected(fi)}"))
                continue
        elif not _scalar_ok(fi, value):
            problems.append(Problem(name, "invalid", f"{name} must be {_expected(fi)}"))
            continue
        if fi.kind == "str" and not fi.many and not isinstance(value, str):
            value = str(value)
        if fi.model is not None:
            sub_write = shape(fi.model)
            read_fi = read.fields.get(key) if read is not None else None
            sub_read = shape(read_fi.model) if read_fi is not None and read_fi.model else None
            items: list[object] = list(value) if isinstance(value, list) else [value]
            cleaned_items: list[object] = []
            for i, item in enumerate(items):
                if not isinstance(item, Mapping):
                    cleaned_items.append(item)
                    continue
                sub_prefix = f"{name}[{i}]." if fi.many else f"{name}."
                sub_clean, sub_problems = check_write(
                    sub_write, sub_read, item, strict=strict, creating=True, prefix=sub_prefix
                )
                cleaned_items.append(sub_clean)
                problems.extend(sub_problems)
            value = cleaned_items if fi.many else cleaned_items[0]
        clean[key] = value
    if creating:
        for key in write.required:
            if key not in body:
                problems.append(Problem(prefix + key, "missing", f"{prefix + key} is required"))
    return clean, problems
