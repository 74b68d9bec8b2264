"""Query parameters of list and search endpoints: filters, `sorts`, paging, `fields=`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

from .api_errors import HttpError
from .shapes import is_id_key
from .state import sort_key

__all__ = ["FieldTree", "apply_fields", "matches", "page", "parse_fields", "parse_ids", "search", "sort"]

FieldTree = dict[str, "FieldTree | None"]
Record = dict[str, object]

#: Parameters of search endpoints that are not filters.
CONTROL_PARAMS = frozenset({"fields", "page", "per_page", "limit", "offset", "sorts", "filter_or"})


# --- fields= -----------------------------------------------------------------------------


@lru_cache(maxsize=256)
def parse_fields(spec: str) -> FieldTree:
    """Parse `id,title,looks(id,title)` into {"id": None, "title": None, "looks": {...}}.

    Raises:
        HttpError: 400 when parentheses do not balance.
    """
    pos = 0

    def parse_list(depth: int) -> FieldTree:
        nonlocal pos
        tree: FieldTree = {}
        name = ""
        while pos < len(spec):
            ch = spec[pos]
            pos += 1
            if ch == ",":
                if name.strip():
                    tree.setdefault(name.strip(), None)
                name = ""
            elif ch == "(":
                tree[name.strip()] = parse_list(depth + 1)
                name = ""
            elif ch == ")":
                if depth == 0:
                    raise HttpError(400, f"Unbalanced parentheses in fields={spec}")
                if name.strip():
                    tree.setdefault(name.strip(), None)
                return tree
            else:
                name += ch
        if depth:
            raise HttpError(400, f"Unbalanced parentheses in fields={spec}")
        if name.strip():
            tree.setdefault(name.strip(), None)
        return tree

    return parse_list(0)


def apply_fields(value: object, tree: FieldTree) -> object:
    """Keep only the requested fields (Looker omits the others, it does not null them).

    A bare nested name answers the nested object whole (looker-sdk-ruby
    examples/users_with_credentials_email.rb reads `credentials_email.email` of
    all_users(fields: 'id, is_disabled, credentials_email')); `name(a,b)` picks
    its fields (gzr's `role ls` asks all_roles for `permission_set(id,name,permissions)`).
    """
    if isinstance(value, list):
        return [apply_fields(v, tree) for v in value]
    if not isinstance(value, Mapping):
        return value
    out: dict[str, object] = {}
    for key, sub in tree.items():
        if key in value:
            out[key] = value[key] if sub is None else apply_fields(value[key], sub)
    return out


# --- search filters ----------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def matches(value: object, expr: str, *, id_like: bool) -> bool:
    """Looker's search semantics for one parameter.

    Strings match case-insensitively with `%` and `_` as SQL LIKE wildcards; ids
    and numbers accept a comma-separated list (any of them); `IS NULL` and
    `NOT NULL` test for absence; booleans take `true`/`false`.
    """
    e = expr.strip()
    upper = e.upper()
    if upper == "IS NULL":
        return value is None or value == "" or value == []
    if upper == "NOT NULL":
        return not (value is None or value == "" or value == [])
    if isinstance(value, list):
        return any(matches(v, e, id_like=True) for v in value)
    if value is None:
        return False
    if isinstance(value, bool):
        return e.lower() == str(value).lower()
    if id_like or isinstance(value, (int, float)):
        wanted = [x.strip() for x in e.split(",")]
        return str(value) in wanted or any(_like(w).fullmatch(str(value)) for w in wanted if "%" in w)
    return _like(e).fullmatch(str(value)) is not None


def search(
    records: Iterable[Record],
    query: Mapping[str, str],
    params: Mapping[str, str | Callable[[Record, str], bool]],
) -> list[Record]:
    """Filter records by the search parameters present in `query`.

    Args:
        records: candidate records (already rendered, so derived fields count).
        query: the request's query parameters.
        params: search parameter name -> record key, or a predicate for special ones.
    """
    active = [(name, params[name], query[name]) for name in params if name in query]
    if not active:
        return list(records)
    any_of = query.get("filter_or", "").lower() == "true"
    out = []
    for rec in records:
        results = (
            target(rec, expr) if callable(target) else matches(rec.get(target), expr, id_like=is_id_key(target))
            for _, target, expr in active
        )
        if any(results) if any_of else all(results):
            out.append(rec)
    return out


def _sort_value(value: object) -> tuple[int, str, float]:
    if value is None:
        return (2, "", 0)
    if isinstance(value, (bool, int, float)):
        return (0, "", float(value))
    text = str(value)
    if text.isdigit():
        return (0, "", float(text))
    return (1, text.lower(), 0)


def sort(records: list[Record], sorts: str | None) -> list[Record]:
    """Order by `sorts` ("title desc, id"); by id when absent."""
    if not sorts:
        return sorted(records, key=lambda r: sort_key(str(r.get("id") or r.get("name") or "")))
    out = list(records)
    for term in reversed([t.strip() for t in sorts.split(",") if t.strip()]):
        name, _, direction = term.partition(" ")

        def value(record: Record, key: str = name) -> tuple[int, str, float]:
            return _sort_value(record.get(key))

        out.sort(key=value, reverse=direction.strip().lower() == "desc")
    return out


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise HttpError(400, f"{name} must be an integer") from None


def page(records: Sequence[Record], query: Mapping[str, str]) -> list[Record]:
    """Apply `limit`/`offset`, or `page`/`per_page`."""
    limit = _int_param(query, "limit")
    offset = _int_param(query, "offset") or 0
    per_page = _int_param(query, "per_page")
    page_no = _int_param(query, "page")
    if per_page is not None and limit is None:
        limit = per_page
        offset = ((page_no or 1) - 1) * per_page
    if offset < 0 or (limit is not None and limit < 0):
        raise HttpError(400, "limit and offset must not be negative")
    end = None if limit is None else offset + limit
    return list(records[offset:end])


def parse_ids(raw: str | None) -> list[str] | None:
    """An `ids` parameter: "1,2,3" (what the SDK sends) or a JSON array."""
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError:
            raise HttpError(400, "ids must be a list of ids") from None
        return [str(v) for v in values]
    return [v.strip() for v in text.split(",") if v.strip()]
