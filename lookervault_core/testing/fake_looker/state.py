"""The fake's state: collections of records, id counters, indexes and tokens.

Records are plain dicts keyed by JSON field name, stored in the shape of the
collection's SDK read model. Fields derived from other records (a dashboard's
elements, a group's user count) are recomputed when a record is rendered.
One re-entrant lock guards everything; callers hold `Store.lock` around a
whole operation.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["COLLECTIONS", "DEFAULT_SYSTEM_IDS", "SYSTEM_ID_NAMES", "UNIQUE_NAMES", "Store", "id_list", "now_iso",
           "sort_key", "unique_name"]

#: Public collections (the contract's names) plus the fake's internal ones.
COLLECTIONS: tuple[str, ...] = (
    "folders",
    "looks",
    "queries",
    "merge_queries",
    "dashboards",
    "dashboard_elements",
    "dashboard_filters",
    "dashboard_layouts",
    "dashboard_layout_components",
    "users",
    "groups",
    "roles",
    "permission_sets",
    "model_sets",
    "scheduled_plans",
    "boards",
    "board_sections",
    "board_items",
    "lookml_models",
    "explores",
    "scheduled_plan_destinations",
    "alerts",
    "content_metadata_accesses",
    "user_attributes",
    "user_attribute_group_values",
)

#: Where an instance keeps its system content: the Shared and Users root folders and the "All Users" group.
#: "1", "2" and "1" are a guess that instances set up alike share; real ids differ per instance
#: (looker-api.md, "Recorded from real instances": Shared 801, Users 709, All Users 49).
SYSTEM_ID_NAMES: tuple[str, ...] = ("shared", "users", "all_users")
DEFAULT_SYSTEM_IDS: dict[str, str] = {"shared": "1", "users": "2", "all_users": "1"}

#: Names Looker keeps unique: (scope field or None, name field, whether trashed objects count).
UNIQUE_NAMES: dict[str, tuple[str | None, str, bool]] = {
    "folders": ("parent_id", "name", True),
    "looks": ("folder_id", "title", False),
    "dashboards": ("folder_id", "title", False),
    "dashboard_filters": ("dashboard_id", "name", True),
    "groups": (None, "name", True),
    "roles": (None, "name", True),
    "permission_sets": (None, "name", True),
    "model_sets": (None, "name", True),
}

# (collection, field) pairs looked up by value; list-valued fields index each element.
# "_unique" holds the scoped, case-folded name of UNIQUE_NAMES.
_INDEXED: dict[str, tuple[str, ...]] = {
    "folders": ("parent_id", "_unique", "content_metadata_id"),
    "looks": ("folder_id", "_unique"),
    "dashboards": ("folder_id", "slug", "_unique"),
    "dashboard_elements": ("dashboard_id", "look_id"),
    "dashboard_filters": ("dashboard_id", "_unique"),
    "dashboard_layouts": ("dashboard_id",),
    "dashboard_layout_components": ("dashboard_layout_id", "dashboard_element_id"),
    # "_email" is the lower-cased address of credentials_email, kept by the user routes.
    "users": ("group_ids", "role_ids", "_email"),
    "groups": ("_unique",),
    "roles": ("_unique",),
    "permission_sets": ("_unique",),
    "model_sets": ("_unique",),
    "board_sections": ("board_id",),
    "board_items": ("board_section_id",),
    "scheduled_plan_destinations": ("scheduled_plan_id",),
    "alerts": ("dashboard_element_id",),
    "content_metadata_accesses": ("content_metadata_id",),
    "user_attribute_group_values": ("user_attribute_id",),
}


def now_iso() -> str:
    """The current time as Looker writes timestamps (UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def id_list(value: object) -> list[str]:
    """A list of ids held in a record field, as strings ([] when absent)."""
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return []


def unique_name(collection: str, record: dict[str, object]) -> str | None:
    """The key under which a record's name must be unique, or None (not constrained)."""
    rule = UNIQUE_NAMES.get(collection)
    if rule is None:
        return None
    scope, field, count_trashed = rule
    name = record.get(field)
    if name is None or (not count_trashed and record.get("deleted")):
        return None
    return f"{record.get(scope) if scope else ''}\x00{str(name).strip().lower()}"


def sort_key(item_id: str) -> tuple[int, int, str]:
    """Order ids numerically when they are numbers, else as text."""
    return (0, int(item_id), "") if item_id.isdigit() else (1, 0, item_id)


@dataclass
class _Session:
    user_id: str
    expires_at: float


class Store:
    """Collections of records with per-collection sequential string ids."""

    def __init__(self, *, token_ttl_s: int = 3600, first_id: int = 1,
                 system_ids: Mapping[str, str] | None = None) -> None:
        self.lock = threading.RLock()
        #: The ids of the system folders and group (see SYSTEM_ID_NAMES); checked by the caller.
        self.system_ids: dict[str, str] = {**DEFAULT_SYSTEM_IDS, **(system_ids or {})}
        self.base_url = ""
        self.token_ttl_s = token_ttl_s
        #: Where every collection's id sequence starts: two fakes with different
        #: starts are two instances whose ids never coincide by chance.
        self.first_id = first_id
        self.tables: dict[str, dict[str, dict[str, object]]] = {c: {} for c in COLLECTIONS}
        self._counters: dict[str, int] = {}
        self._index: dict[tuple[str, str], dict[str, set[str]]] = {(c, f): {} for c, fs in _INDEXED.items() for f in fs}
        self._sessions: dict[str, _Session] = {}
        #: Canonical query parameters -> query id, so identical queries dedupe.
        self.query_keys: dict[str, str] = {}
        #: Whether credentials_email writes are refused, as Looker (Google Cloud core) may.
        self.email_credentials_denied = False

    # --- records ------------------------------------------------------------------------

    def table(self, collection: str) -> dict[str, dict[str, object]]:
        """The records of a collection, by id (raises KeyError for unknown names)."""
        return self.tables[collection]

    def find(self, collection: str, item_id: object) -> dict[str, object] | None:
        """The stored record, or None."""
        if not isinstance(item_id, str):
            return None
        return self.tables[collection].get(item_id)

    def next_id(self, collection: str) -> str:
        """A new id: one more than any id this collection ever had."""
        n = max(self._counters.get(collection, 0) + 1, self.first_id)
        self._counters[collection] = n
        return str(n)

    def note_id(self, collection: str, item_id: str) -> None:
        """Keep the counter above an id that was set from outside."""
        if item_id.isdigit():
            self._counters[collection] = max(self._counters.get(collection, 0), int(item_id))

    def save(self, collection: str, record: dict[str, object], key: str = "id") -> dict[str, object]:
        """Insert or replace a record (its `key` field is its id) and update indexes."""
        item_id = str(record[key])
        if collection in UNIQUE_NAMES:
            record["_unique"] = unique_name(collection, record)
        table = self.tables[collection]
        old = table.get(item_id)
        for field in _INDEXED.get(collection, ()):
            idx = self._index[(collection, field)]
            if old is not None:
                for value in _values(old.get(field)):
                    ids = idx.get(value)
                    if ids is not None:
                        ids.discard(item_id)
            for value in _values(record.get(field)):
                idx.setdefault(value, set()).add(item_id)
        table[item_id] = record
        self.note_id(collection, item_id)
        return record

    def delete(self, collection: str, item_id: str) -> dict[str, object] | None:
        """Remove a record; its id is never handed out again."""
        old = self.tables[collection].pop(item_id, None)
        if old is not None:
            for field in _INDEXED.get(collection, ()):
                idx = self._index[(collection, field)]
                for value in _values(old.get(field)):
                    ids = idx.get(value)
                    if ids is not None:
                        ids.discard(item_id)
        return old

    def is_indexed(self, collection: str, field: str) -> bool:
        """Whether `ids_by` can look up this field."""
        return (collection, field) in self._index

    def ids_by(self, collection: str, field: str, value: object) -> list[str]:
        """Ids of records whose indexed `field` is (or contains) `value`, in id order."""
        if not isinstance(value, str):
            return []
        return sorted(self._index[(collection, field)].get(value, ()), key=sort_key)

    def by(self, collection: str, field: str, value: object) -> list[dict[str, object]]:
        """Records whose indexed `field` is (or contains) `value`, in id order."""
        table = self.tables[collection]
        return [table[i] for i in self.ids_by(collection, field, value)]

    def ordered(self, collection: str) -> list[dict[str, object]]:
        """All records of a collection in id order."""
        table = self.tables[collection]
        return [table[k] for k in sorted(table, key=sort_key)]

    # --- sessions -----------------------------------------------------------------------

    def issue_token(self, user_id: str) -> str:
        """A new access token for a user."""
        token = secrets.token_urlsafe(30)
        self._sessions[token] = _Session(user_id, time.monotonic() + self.token_ttl_s)
        return token

    def token_user(self, token: str) -> str | None:
        """The user of a live token, or None when unknown or expired."""
        session = self._sessions.get(token)
        if session is None:
            return None
        if session.expires_at <= time.monotonic():
            del self._sessions[token]
            return None
        return session.user_id

    def revoke(self, token: str) -> None:
        """Forget one token (logout)."""
        self._sessions.pop(token, None)

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far."""
        self._sessions.clear()


def _values(value: object) -> Iterable[str]:
    if value is None:
        return ()
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return (str(value),)
