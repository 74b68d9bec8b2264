"""The state of restoring one item: its API calls, changes, notes and writes."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from looker_sdk.rtl import model as sdk_model
from looker_sdk.rtl.serialize import converter40

from ..content_types import ContentType, TypeSpec, spec
from ..errors import (
    LookerApiError,
    LookervaultError,
    MissingDependency,
    NotFound,
    Unavailable,
    ValidationFailed,
)
from ..graph import TYPE_ORDER, Ref
from .estimate import creation_calls
from .identity import same_object
from .pages import page_url
from .payload import as_datetime, body_from, content_hash, diff
from .result import Action, RestoreResult

if TYPE_CHECKING:
    from looker_sdk.sdk.api40.methods import Looker40SDK

    from .restorer import Restorer

__all__ = ["ItemRun", "as_dict"]

T = TypeVar("T")
Payload = dict[str, object]
#: Looks up, by natural key, what a create would have made (None: not in Looker).
Finder = Callable[[], Mapping[str, object] | None]


def _is_duplicate(exc: ValidationFailed) -> bool:
    # Looker answers a duplicate with 422 `already_exists` (folders, looks,
    # dashboards) or 409 "Resource Already Exists" (documented on the creates
    # of groups, roles, sets, users and content in the API description).
    return exc.status == 409 or any(e.code == "already_exists" for e in exc.errors)


def _is_built_in(exc: LookerApiError) -> bool:
    # Looker quirk: 405 "Resource Can't Be Modified" is its answer to updates of
    # built-in roles and sets (API description, PATCH /roles/{role_id} and others).
    return exc.status == 405


def as_dict(obj: object) -> Payload:
    """An SDK model (or list of them) as plain JSON-like data, None fields dropped."""
    if isinstance(obj, sdk_model.Model):
        data = converter40.unstructure(obj)
        return data if isinstance(data, dict) else {}
    if isinstance(obj, Mapping):
        return dict(obj)
    return {}


class ItemRun:
    """One item being restored.

    Handlers read through `get`, write through `write` (a no-op in a dry run)
    and record what differed with `changed`; `finish` turns that into a
    RestoreResult.
    """

    def __init__(
        self,
        restorer: Restorer,
        content_type: ContentType,
        source_id: str,
        data: Mapping[str, object],
    ) -> None:
        self.restorer = restorer
        self.content_type = content_type
        self.spec: TypeSpec = spec(content_type)
        self.source_id = source_id
        self.data = data
        self.dry_run = restorer.dry_run
        self.api_calls = 0
        #: Calls a dry run left out (writes, reads of what it would create): the preflight's estimate adds them.
        self.planned_calls = 0
        #: References this item required, and whether a real run would restore it again in a second pass.
        self._required = 0
        self._second_pass = False
        self._calls_lock = threading.Lock()  # the references of an item are probed on several threads
        self.changes: list[str] = []
        self.notes: list[str] = []
        self.modified_in_looker = False
        self.deferred: list[Ref] = []
        self.started = time.perf_counter()
        self._read_ahead: dict[tuple[str, str], Payload | None] = {}

    # --- calls ---------------------------------------------------------------------

    @property
    def sdk(self) -> Looker40SDK:
        """The client's `plain_sdk`: answers are plain dicts and lists (restore reads them through `as_dict`)."""
        return self.restorer.client.plain_sdk

    def call(self, fn: Callable[[], T], *, repeatable: bool = False) -> T:
        """Run one SDK call through the client's rate limiter and retries (see `LookerClient.call`)."""
        with self._calls_lock:
            self.api_calls += 1
        return self.restorer.client.call(fn, repeatable=repeatable)

    def get(self, fn: Callable[[], object]) -> Payload | None:
        """A live object as a dict, or None when Looker answers 404."""
        try:
            return as_dict(self.call(fn))
        except NotFound:
            return None

    def in_parallel(self, reads: Sequence[Callable[[], object]]) -> None:
        """Run independent reads at once, for the item's later calls to find them cached.

        For reads an item is sure to make one after another before or between
        its writes: one round trip instead of one each. A read failing here is
        left to the later call to repeat and report.
        """
        if len(reads) < 2:
            return

        def attempt(read: Callable[[], object]) -> None:
            try:
                read()
            except LookervaultError:
                pass

        list(self.restorer.read_pool().map(attempt, reads))

    def read_ahead(self, reads: Mapping[tuple[str, str], Callable[[], object]],
                   also: Sequence[Callable[[], object]] = ()) -> None:
        """`get` these at once (`in_parallel`, with the reads `also`), for `read` to answer each once without a call."""
        def keep(key: tuple[str, str], fn: Callable[[], object]) -> None:
            self._read_ahead[key] = self.get(fn)

        self.in_parallel([*also, *(functools.partial(keep, key, fn) for key, fn in reads.items()
                                   if key not in self._read_ahead)])

    def read(self, key: tuple[str, str], fn: Callable[[], object]) -> Payload | None:
        """`get`, answered once from an earlier `read_ahead` of the same key."""
        if key in self._read_ahead:
            return self._read_ahead.pop(key)
        return self.get(fn)

    def write(self, fn: Callable[[], object], *, repeatable: bool = False) -> Payload | None:
        """Perform a write and return the answer; in a dry run, do nothing and return None.

        A create (POST) whose answer is lost is sent again only when
        `repeatable` (a second one makes nothing new); otherwise the
        `Unavailable` (``write_may_have_happened``) is raised: use `create` for a create that has a
        natural key to look for.
        """
        if self.dry_run:
            self._plan_call()
            return None
        return as_dict(self.call(fn, repeatable=repeatable))

    def _plan_call(self) -> None:
        with self._calls_lock:
            self.planned_calls += 1

    def create(self, send: Callable[[], object], find: Finder | None) -> tuple[Payload | None, bool]:
        """Send a create; when its answer is lost, adopt what it made rather than send it again blind.

        Looker keeps no idempotency key: a POST answered 5xx, cut off or timed
        out may have created the object. `find` looks for it by natural key;
        found, it is the object this create made (the caller restores one item
        at a time, so nothing else writes it meanwhile) and is returned as
        adopted. Not found after an answer that did come (a 5xx, a reset), the
        create is sent again, within the retry policy's tries. After a timeout
        Looker may still be writing: `find` is asked again over the policy's
        waits, and then the error is raised rather than risk a second copy;
        the next run's lookups by natural key find what it made. Without
        `find` (nothing to look for) the error is raised at once.

        Returns:
            The answer (None in a dry run) and whether it was adopted.

        Raises:
            Unavailable: the create's outcome could not be established
                (``write_may_have_happened``), or Looker could not be reached.
        """
        if self.dry_run:
            self._plan_call()
            return None, False
        policy = self.restorer.client.retry_policy
        for attempt in range(1, policy.attempts + 1):
            try:
                return as_dict(self.call(send)), False
            except Unavailable as exc:
                if find is None or not exc.write_may_have_happened:
                    raise
                found = self._look_for(find, exc)
                if found is not None:
                    self.note(f"{exc.method} {exc.path}: the answer was lost ({exc.looker_message}) but Looker "
                              f"already had it as {found.get(self.spec.key_field) or found.get('id')}; "
                              "adopted, not created again")
                    return dict(found), True
                if exc.may_still_happen or attempt == policy.attempts:
                    exc.attempts = attempt  # type: ignore[attr-defined]
                    raise
                policy.sleep(policy.wait_for(attempt, exc))
        raise AssertionError("unreachable")  # pragma: no cover

    def _look_for(self, find: Finder, exc: Unavailable) -> Mapping[str, object] | None:
        """What the create made, asked once, or over the retry policy's waits when Looker may still be writing it."""
        policy = self.restorer.client.retry_policy
        looks = policy.attempts if exc.may_still_happen else 1
        for look in range(1, looks + 1):
            found = find()
            if found is not None or look == looks:
                return found
            policy.sleep(policy.wait_for(look, exc))
        return None

    def write_raw(self, fn: Callable[[], object]) -> None:
        """A write whose answer is not a model (membership lists, role sets)."""
        if not self.dry_run:
            self.call(fn)
        else:
            self._plan_call()

    def body(self, exclude: frozenset[str] = frozenset()) -> Payload:
        """The backup blob's writable fields (nested objects cut to their Write models), minus `exclude`."""
        return body_from(self.data, self.spec.writable - exclude, self.spec.nested)

    # --- ids and references -----------------------------------------------------------

    def resolve(self, kind: str, source_id: str) -> str | None:
        """Destination id of a source id; None when it has no counterpart yet (see IdMap.resolve)."""
        return self.restorer.idmap.resolve(kind, source_id)

    def remember(self, kind: str, source_id: str, destination_id: str, *, created: bool = False,
                 recognisable: bool = True) -> None:
        """Record a destination id (not in a dry run, which must leave no trace); see IdMap.set."""
        if not self.dry_run:
            self.restorer.idmap.set(kind, source_id, destination_id, created=created, recognisable=recognisable)

    def forget(self, kind: str, source_id: str) -> None:
        """Drop a stale mapping (not in a dry run, which must leave no trace)."""
        if not self.dry_run:
            self.restorer.idmap.forget(kind, source_id)

    def _after_stale(self, kind: str, source_id: str, dest: str) -> tuple[str | None, bool]:
        """Where to look once the mapping to `dest` proved stale: the own id on the same instance, else nowhere."""
        self.note(f"the id map said {kind} {source_id} is {dest}, which Looker no longer has; resolved afresh")
        self.forget(kind, source_id)
        return (source_id, True) if self.restorer.idmap.same_instance else (None, False)

    def counterpart(self, get: Callable[[str], object]) -> Payload | None:
        """The live object this item corresponds to, or None when it has none yet.

        By its mapped id; a mapping whose object Looker no longer has is
        dropped and the item resolved afresh. By its own id only on the
        instance the backup came from, and only when the object there is
        provably the backup's own (restore.identity): otherwise nothing is
        written to it, and the item is matched by natural key or created.
        """
        label = self.content_type.label
        dest, assumed = self.restorer.idmap.lookup(label, self.source_id)
        live = None if dest is None else self._read(dest, get)
        if live is None and dest is not None and not assumed:
            dest, assumed = self._after_stale(label, self.source_id, dest)
            live = None if dest is None else self._read(dest, get)
        if live is not None and assumed and not same_object(self.content_type, self.data, live):
            self.note(f"{label} {dest} in Looker is another object than the backup's (its created_at or "
                      "name differs); nothing written to it")
            return None
        return live

    def _read(self, dest: str, get: Callable[[str], object]) -> Payload | None:
        """The live object at `dest`: from the type's listing when it has it, else by its GET."""
        listed = self.restorer.listed(self.content_type, dest)
        if listed is not None:
            return dict(listed)
        # Read ahead with the item's references (Restorer._probe_references) when `get` is the type's getter.
        return self.read((getattr(get, "__name__", ""), dest), lambda: get(dest))

    def require(self, ref: Ref) -> str | None:
        """The destination id of a referenced item, checking that it exists in Looker.

        An id assumed on the same instance counts only when the object there
        is the backup's own; a stale mapping is dropped (see `counterpart`).

        Raises:
            MissingDependency: a hard reference whose target is not in Looker.
        """
        label = ref.content_type.label
        self._required += 1
        dest, assumed = self.restorer.idmap.lookup(label, ref.id)
        in_backup = self.restorer.backup.has(ref.content_type, ref.id)
        if not in_backup and (dest is None or assumed):
            # A dependency that is in Looker but not in the backup is used as it is.
            dest, assumed = ref.id, False
        live = None if dest is None else self.restorer.probe(self, ref.content_type, dest)
        vanished: str | None = None
        if live is None and dest is not None and not assumed and in_backup:
            vanished = dest
            if self.restorer.idmap.same_instance:
                dest, assumed = self._after_stale(label, ref.id, dest)
                live = None if dest is None else self.restorer.probe(self, ref.content_type, dest)
            else:
                # Kept: the mapping says it was restored, and its own restore drops it (`counterpart`).
                dest = None
        if live is not None and (not assumed or self.restorer.is_backup_object(ref.content_type, ref.id, live)):
            return dest
        if self.dry_run and in_backup:
            # This same restore would create it first; its id is not known yet. A real run
            # reads it once it exists (`Restorer.probe`): a call for the estimate.
            if self.restorer.plan_probe(ref.content_type, ref.id):
                self._plan_call()
            if not ref.hard and TYPE_ORDER.index(ref.content_type) > TYPE_ORDER.index(self.content_type):
                # Restored after this item (a user's home folder): the real run defers it and restores
                # this item again in a second pass.
                self._second_pass = True
            self.note(f"{ref.field}: {ref.content_type.label} {ref.id} would be restored first")
            return None
        if not ref.hard:
            if in_backup:
                # Restored later in the order (a user's home folder): a second pass sets it.
                self.deferred.append(ref)
                state = "not restored yet" if vanished is None else f"restored as {vanished}, which no longer exists"
                self.note(f"{ref.field}: {ref.content_type.label} {ref.id} {state}; left unset for now")
            else:
                self.note(f"{ref.field}: {ref.content_type.label} {ref.id} is not in Looker; left unset")
            return None
        if in_backup and vanished is not None:
            detail = (f"but {label} {ref.id} was restored as Looker {label} {vanished}, which no longer exists: "
                      f"restore {label} {ref.id} again first")
        elif in_backup:
            detail = "which is in the backup but not yet restored"
        else:
            detail = "which is neither in the backup nor in Looker"
        raise MissingDependency(
            self.content_type.label, self.source_id, ref.content_type.label, ref.id, detail
        )

    # --- outcome -------------------------------------------------------------------

    def changed(self, *fields: str) -> None:
        self.changes.extend(fields)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def upsert(
        self,
        dest_id: str | None,
        body: Payload,
        *,
        get: Callable[[str], object],
        create: Callable[[Payload], object],
        update: Callable[[str, Payload], object],
        live: Payload | None = None,
        find: Callable[[], Payload | None] | None = None,
    ) -> tuple[Action, str | None, Payload | None]:
        """Create the object, or patch the fields that differ, or leave it be.

        `find` looks the object up by its natural key (title in its folder,
        name, email): after a create whose answer was lost (`create`), and
        when Looker refuses a create as a duplicate (a create whose answer was
        lost in an earlier run meets its own first attempt), which is then
        updated rather than failed or duplicated. Without `find` a lost answer
        fails the item (`Unavailable`, ``write_may_have_happened``).

        Returns the action, the destination id (None for a dry-run create) and
        the live object after the write (None in a dry run).
        """
        if live is None and dest_id is not None:
            live = self.get(lambda: get(dest_id))
        key = self.spec.key_field
        if live is None:
            # The id map answers from memory (IdMap.get); another run writing the same map may have
            # restored this item since: read the store before creating, not to make it twice.
            mapped = self.restorer.idmap.get(self.content_type.label, self.source_id, fresh=True)
            if mapped is not None and mapped != dest_id:
                live = self.get(lambda: get(mapped))
        if live is None:
            try:
                created, adopted = self.create(lambda: create(body), find)
            except ValidationFailed as exc:
                found = find() if find is not None and _is_duplicate(exc) else None
                if found is None:
                    raise
                # Search results may be abridged: read the whole object.
                found_id = str(found[key])
                live = self.get(lambda: get(found_id))
                if live is None:
                    raise
                # Said whatever follows: the diff below makes it updated or unchanged.
                self.note(f"Looker refused a new one as a duplicate: it already had it as "
                          f"{self.content_type.label} {live[key]}, restored in its place")
            else:
                self.changed(*sorted(body))
                if created is None:
                    return Action.WOULD_CREATE, None, None
                new_id = str(created[key])
                if adopted:
                    # What `find` answered may be abridged (a search): read the whole object.
                    created = self.get(lambda: get(new_id)) or created
                self.remember(self.content_type.label, self.source_id, new_id, created=True)
                return Action.CREATED, new_id, created
        dest = str(live[key])
        # Found by its natural key (or already mapped): record it either way,
        # so what refers to it resolves, whatever this call goes on to do.
        self.remember(self.content_type.label, self.source_id, dest,
                      recognisable=same_object(self.content_type, self.data, live))
        if self.restorer.skip_modified and self.modified_since_backup(live):
            self.note("changed in Looker since the backup; skipped (--skip-modified)")
            self.modified_in_looker = True
            return Action.SKIPPED, dest, live
        # Nested live objects carry read-only fields the body never has
        # (certification_metadata.user_name): compare their writable parts only.
        changes = diff(body, {**live, **body_from(live, self.spec.nested.keys(), self.spec.nested)})
        if not changes:
            return Action.UNCHANGED, dest, live
        self.changed(*sorted(changes))
        if not self.dry_run:
            self.restorer.unlist(self.content_type, dest)
        try:
            updated = self.write(lambda: update(dest, changes))
        except LookerApiError as exc:
            if not _is_built_in(exc):
                raise
            self.changes.clear()
            self.note(f"built in on this instance: Looker refuses to modify it (405); mapped, left as it is "
                      f"(differs in {', '.join(sorted(changes))})")
            return Action.SKIPPED, dest, live
        if updated is None:
            return Action.WOULD_UPDATE, dest, None
        return Action.UPDATED, dest, updated

    def upsert_part(
        self,
        kind: str,
        label: str,
        wanted: Payload,
        live: Mapping[str, object] | None,
        *,
        update: Callable[[str, Payload], object],
        create: Callable[[Payload], object] | None = None,
        create_body: Payload | None = None,
        find: Callable[[], Mapping[str, object] | None] | None = None,
    ) -> str | None:
        """Create or patch one sub-resource (a tile, a board section) and return its id.

        `find` reads the live part by its natural key (a filter's name; a tile
        by its title and source among the tiles this run did not know) when
        Looker refuses a create as a duplicate, or when the create's answer
        was lost (`create`): the part is then patched, never made twice.
        Changes are recorded as `kind[label].field`. Returns None when nothing
        exists to return: a dry run, or a part whose parent is not created yet.
        """
        if live is None:
            self.changed(f"{kind}[{label}]")
            body = create_body if create_body is not None else wanted
            if create is None or any(v is None for v in body.values()):
                if self.dry_run and create is not None:
                    self._plan_call()  # a part of a parent a dry run would create: created by the real run
                return None
            try:
                created, adopted = self.create(lambda: create(body), find)
            except ValidationFailed as exc:
                live = find() if find is not None and _is_duplicate(exc) else None
                if live is None:
                    raise
                self.note(f"{kind}[{label}] already existed in Looker; restored in its place")
            else:
                if created is None:
                    return None
                if not adopted:
                    return str(created["id"])
                live = created
        changes = diff(wanted, live)
        if changes:
            self.changed(*(f"{kind}[{label}].{f}" for f in sorted(changes)))
            live_id = str(live["id"])
            self.write(lambda: update(live_id, changes))
        return str(live["id"])

    def modified_since_backup(self, live: Mapping[str, object]) -> bool:
        live_at = as_datetime(live.get("updated_at"))
        backup_at = as_datetime(self.data.get("updated_at"))
        return live_at is not None and backup_at is not None and live_at > backup_at

    def _planned(self, action: Action) -> int:
        """The calls a dry run left out of this item (see `RestoreResult.planned_calls`)."""
        planned = self.planned_calls
        if action is Action.WOULD_CREATE:
            # What a dry run cannot walk without the new item's id: counted from its blob.
            planned += creation_calls(self.content_type, self.data)
        if self._second_pass:
            # The second pass reads the item and its references again, then updates it once
            # (measured on the fake: a user's group, role, home folder, itself, then the update).
            planned += self._required + 2
        return planned

    def finish(self, action: Action, dest_id: str | None, live: Mapping[str, object] | None = None) -> RestoreResult:
        """The result record; an unchanged object whose parts changed counts as updated."""
        if self.changes and action is Action.UNCHANGED:
            action = Action.WOULD_UPDATE if self.dry_run else Action.UPDATED
        url = page_url(self.restorer.client.settings.base_url, self.content_type, dest_id, live)
        return RestoreResult(
            content_type=self.content_type,
            source_id=self.source_id,
            destination_id=dest_id,
            action=action,
            changed_fields=tuple(dict.fromkeys(self.changes)),
            api_calls=self.api_calls,
            planned_calls=self._planned(action),
            duration_s=time.perf_counter() - self.started,
            url=url,
            content_hash=content_hash(self.data),
            message="; ".join(self.notes),
            deferred=tuple(self.deferred),
            modified_in_looker=self.modified_in_looker and action is Action.SKIPPED,
        )
