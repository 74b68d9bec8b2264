"""Restore one backup item into Looker: the entry point and its shared state."""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from looker_sdk.sdk.api40.methods import Looker40SDK

from ..backup import BackupReader
from ..content_types import ContentType as CT
from ..content_types import spec
from ..errors import LookervaultError, NotFound
from ..graph import references
from ..idmap import IdMap
from ..queries import build_query_catalog
from . import access, alerts, boards, content, dashboards, folder_access, lookml, prefetch, user_attributes
from .identity import identity_fields, same_object
from .item import ItemRun, as_dict
from .result import RestoreResult

if TYPE_CHECKING:
    from ..looker import LookerClient

__all__ = ["Restorer"]

Handler = Callable[[ItemRun], RestoreResult]

#: Reads of one item in flight at once, per thread the client serves (`Restorer.read_pool`).
_READS_PER_ITEM = 8

_HANDLERS: dict[CT, Handler] = {
    CT.PERMISSION_SET: access.restore_permission_set,
    CT.MODEL_SET: access.restore_model_set,
    CT.ROLE: access.restore_role,
    CT.GROUP: access.restore_group,
    CT.USER: access.restore_user,
    CT.LOOKML_MODEL: lookml.restore_lookml_model,
    CT.EXPLORE: lookml.verify_explore,
    CT.FOLDER: content.restore_folder,
    CT.LOOK: content.restore_look,
    CT.DASHBOARD: dashboards.restore_dashboard,
    CT.SCHEDULED_PLAN: content.restore_scheduled_plan,
    CT.BOARD: boards.restore_board,
    CT.ALERT: alerts.restore_alert,
    CT.FOLDER_ACCESS: folder_access.restore_folder_access,
    CT.USER_ATTRIBUTE: user_attributes.restore_user_attribute,
    CT.USER_ATTRIBUTE_VALUE: user_attributes.restore_user_attribute_values,
}


#: Types whose handler reads its live object with `ItemRun.counterpart(sdk.<spec.get>)`.
_COUNTERPART_READ = frozenset(_HANDLERS) - {CT.LOOKML_MODEL, CT.EXPLORE, CT.FOLDER_ACCESS, CT.USER_ATTRIBUTE_VALUE}


#: Reads a type's handler makes before its first write, keyed as it makes them with `ItemRun.read`.
_FIRST_READS: dict[CT, Callable[[ItemRun], dict[tuple[str, str], Callable[[], object]]]] = {
    CT.DASHBOARD: dashboards.first_reads,
}


@functools.cache
def _takes_fields(method: str) -> bool:
    """Whether an SDK getter accepts `fields=` (role() does not)."""
    return "fields" in inspect.signature(getattr(Looker40SDK, method)).parameters


class Restorer:
    """Restores backup items into one Looker instance; safe to share between threads.

    Args:
        client: an authenticated LookerClient.
        backup: the backup to read items from.
        idmap: where source → destination ids are kept.
        dry_run: compute what would change and write nothing.
        skip_modified: leave objects that changed in Looker since the backup.
        exact_access: make users' roles and group memberships exactly the
            backup's, removing ones granted since; off by default, when they
            are only added.
    """

    def __init__(
        self,
        client: LookerClient,
        backup: BackupReader,
        idmap: IdMap,
        *,
        dry_run: bool = False,
        skip_modified: bool = False,
        exact_access: bool = False,
    ) -> None:
        self.client = client
        self.backup = backup
        self.idmap = idmap
        self.dry_run = dry_run
        self.skip_modified = skip_modified
        self.exact_access = exact_access
        self._guard = threading.Lock()
        self._item_locks: dict[tuple[CT, str], threading.Lock] = {}
        #: (type, destination id) → identity fields of objects known to exist (None: restored here)
        self._known: dict[tuple[CT, str], Mapping[str, object] | None] = {}
        self._probe_locks: dict[tuple[CT, str], threading.Lock] = {}
        #: In a dry run, the references a real run would read (probe) once they exist: each counted once.
        self._planned_probes: set[tuple[CT, str]] = set()
        #: (type, source id, live id) → whether the live object is the backup's own (`is_backup_object`)
        self._identities: dict[tuple[CT, str, str], bool] = {}
        self._cache: dict[str, object] = {}
        self._catalog_lock = threading.Lock()
        self._catalog: dict[str, Mapping[str, object]] | None = None
        #: type → destination id → the object as a bulk listing showed it (see `prefetch`)
        self._listed: dict[CT, dict[str, Mapping[str, object]]] = {}
        self._read_pool: ThreadPoolExecutor | None = None
        #: Read ahead, with an item's own GET, what its restore may turn out not to need (a dashboard's
        #: tile queries that its live tiles answer for): the wait of one item alone is its round trips.
        #: `restore_many` turns it off for a batch, where such reads' CPU costs more than their wait.
        self.eager_reads = True

    def restore(self, content_type: CT, item_id: str) -> RestoreResult:
        """Restore one item: create it, update it in place, or leave it unchanged.

        Raises:
            ItemNotFound, CorruptItem, UnrestorableItem: the backup row cannot be used.
            MissingDependency: something the item needs is not in Looker.
            LookerApiError: Looker refused a call after retries.
        """
        item = self.backup.get(content_type, item_id)
        with self._exclusive(content_type, item.row.id):
            item_run = ItemRun(self, content_type, item.row.id, item.data)
            self._probe_references(item_run)
            result = _HANDLERS[content_type](item_run)
        if result.destination_id is not None and not self.dry_run:
            self.mark_exists(content_type, result.destination_id)
        return result

    def _probe_references(self, item_run: ItemRun) -> None:
        """Read the objects an item refers to all at once, before its handler checks them one by one.

        A handler checks each reference (`ItemRun.require`) with one GET, answered
        from the probe cache once read: a dashboard's folder, owner and looks then
        cost one round trip of a one-item restore's wait instead of one each.
        The item's own live object (`ItemRun.counterpart`) and the reads its
        handler makes before its first write (`_FIRST_READS`: a dashboard's tile
        queries and merge queries) are read in the same round trip. Only reads, of the objects
        the handler would read first; a read failing here is left for the
        handler's own call to report.
        """
        wanted: list[tuple[CT, str]] = []
        for ref in references(item_run.content_type, item_run.data):
            dest, _ = self.idmap.lookup(ref.content_type.label, ref.id)
            if dest is None:
                # As `require`: a dependency outside the backup is used where it is. (An assumed
                # id is the source id already, so only an unmapped one needs the backup asked.)
                if self.backup.has(ref.content_type, ref.id):
                    continue
                dest = ref.id
            with self._guard:
                known = (ref.content_type, dest) in self._known or dest in self._listed.get(ref.content_type, {})
            if not known:
                wanted.append((ref.content_type, dest))
        probes = [functools.partial(self.probe, item_run, ct, dest) for ct, dest in dict.fromkeys(wanted)]
        first = _FIRST_READS[item_run.content_type](item_run) if item_run.content_type in _FIRST_READS else {}
        item_run.read_ahead({**self._own_read(item_run), **first}, also=probes)

    def _own_read(self, item_run: ItemRun) -> dict[tuple[str, str], Callable[[], object]]:
        """The GET `ItemRun.counterpart` makes first, keyed as it looks it up: by getter name and id."""
        dest, _ = self.idmap.lookup(item_run.content_type.label, item_run.source_id)
        getter = spec(item_run.content_type).get
        if dest is None or item_run.content_type not in _COUNTERPART_READ or self.listed(item_run.content_type, dest) is not None:
            return {}
        return {(getter, dest): functools.partial(getattr(item_run.sdk, getter), dest)}

    @contextmanager
    def _exclusive(self, content_type: CT, item_id: str) -> Iterator[None]:
        # No item is restored twice at once: two workers creating the same
        # dashboard would both see 404 and create two copies.
        with self._guard:
            lock = self._item_locks.setdefault((content_type, item_id), threading.Lock())
        with lock:
            yield

    # --- shared knowledge of the destination -------------------------------------------

    def prefetch(self, content_type: CT) -> int:
        """Read the live objects of a type in bulk, so unchanged items need no GET each (see restore.prefetch).

        Returns:
            How many objects were listed.

        Raises:
            ValueError: the type has no listing that carries what restore compares.
            LookerApiError: Looker refused the listing after retries.
        """
        records = prefetch.read_listing(self.client, content_type)
        with self._guard:
            self._listed[content_type] = records
        return len(records)

    def listed(self, content_type: CT, dest_id: str) -> Mapping[str, object] | None:
        """The object as the type's listing showed it; None when unlisted or written since."""
        with self._guard:
            return self._listed.get(content_type, {}).get(dest_id)

    def unlist(self, content_type: CT, dest_id: str) -> None:
        """Forget an object's listed state before writing to it: later reads must see the write."""
        with self._guard:
            self._listed.get(content_type, {}).pop(dest_id, None)

    def mark_exists(self, content_type: CT, dest_id: str) -> None:
        """Note that Looker has this object (just restored): references to it need no probe."""
        with self._guard:
            self._known.setdefault((content_type, dest_id), None)

    def plan_probe(self, content_type: CT, source_id: str) -> bool:
        """In a dry run, whether this is the first reference to an item it would create (a real run probes it once)."""
        with self._guard:
            first = (content_type, source_id) not in self._planned_probes
            self._planned_probes.add((content_type, source_id))
        return first

    def probe(self, item_run: ItemRun, content_type: CT, dest_id: str) -> Mapping[str, object] | None:
        """The identity fields of a live object (see restore.identity), or None when Looker lacks it.

        Asks once per object and Restorer, also when several threads need the
        same object at once (they wait for the first); an object this Restorer
        restored answers without a call (its identity is then not needed).
        """
        key = (content_type, dest_id)
        with self._guard:
            lock = self._probe_locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._known:
                    return self._known[key] or {}
                listed = self._listed.get(content_type, {}).get(dest_id)
            if listed is not None:
                return listed
            return self._fetch_identity(item_run, content_type, dest_id)

    def _fetch_identity(self, item_run: ItemRun, content_type: CT, dest_id: str) -> Mapping[str, object] | None:
        if content_type is CT.EXPLORE:
            model, _, explore = dest_id.partition("::")
            fetch: Callable[[], object] = lambda: item_run.sdk.lookml_model_explore(model, explore, fields="name")  # noqa: E731
        else:
            getter = getattr(item_run.sdk, spec(content_type).get)
            if _takes_fields(spec(content_type).get):
                fields = ",".join(dict.fromkeys([*spec(content_type).probe_fields.split(","),
                                                 *identity_fields(content_type)]))
                fetch = lambda: getter(dest_id, fields=fields)  # noqa: E731
            else:
                fetch = lambda: getter(dest_id)  # noqa: E731
        try:
            found = as_dict(item_run.call(fetch))
        except NotFound:
            return None
        with self._guard:
            self._known[(content_type, dest_id)] = found
        return found

    def present(self, content_type: CT, source_id: str) -> bool:
        """Whether Looker has this backup item's object: at its mapped id, or provably at its own."""
        dest, assumed = self.idmap.lookup(content_type.label, source_id)
        if dest is None:
            return False
        live = self.probe(ItemRun(self, content_type, source_id, {}), content_type, dest)
        return live is not None and (not assumed or self.is_backup_object(content_type, source_id, live))

    def is_backup_object(self, content_type: CT, source_id: str, live: Mapping[str, object]) -> bool:
        """Whether a live object (from `probe`) is this backup item's own object.

        An object this Restorer restored itself (probed as `{}`) is. A backup
        row that cannot be read establishes nothing.
        """
        if not live:
            return True
        # Asked of every reference to it (a look shown by many dashboards): the live object comes from the
        # probe cache, so the answer holds for this Restorer, and decoding the backup row each time is not free.
        key = (content_type, source_id, str(live.get(spec(content_type).key_field, "")))
        with self._guard:
            known = self._identities.get(key)
        if known is not None:
            return known
        try:
            data = self.backup.get(content_type, source_id).data
        except LookervaultError:
            return False
        same = same_object(content_type, data, live)
        with self._guard:
            self._identities[key] = same
        return same

    def backup_query(self, query_id: str) -> Mapping[str, object] | None:
        """The query object with this source id held anywhere in the backup (see `queries`), or None.

        The catalog is read once per Restorer, on first need.
        """
        with self._catalog_lock:
            if self._catalog is None:
                self._catalog = build_query_catalog(self.backup)
            return self._catalog.get(query_id)

    def read_pool(self) -> ThreadPoolExecutor:
        """The threads every item's independent reads run on (`ItemRun.in_parallel`), started on first need.

        One pool for the Restorer instead of one per item: starting and
        joining threads for each item cost more CPU than its reads' waits.
        Its threads end when the Restorer is collected.
        """
        with self._guard:
            if self._read_pool is None:
                pool = ThreadPoolExecutor(max_workers=_READS_PER_ITEM * max(1, self.client.settings.workers),
                                          thread_name_prefix="read-ahead")
                weakref.finalize(self, pool.shutdown, wait=False)
                self._read_pool = pool
            return self._read_pool

    def cached(self, key: str, compute: Callable[[], object]) -> object:
        """A value computed once per Restorer (e.g. the destination's system folders)."""
        with self._guard:
            if key in self._cache:
                return self._cache[key]
        value = compute()
        with self._guard:
            return self._cache.setdefault(key, value)
