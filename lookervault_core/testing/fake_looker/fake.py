"""`FakeLooker`: a stateful Looker API 4.0 on loopback, for tests, benchmarks and demos."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from . import ingest
from .faults import Fault, FaultPlan, FaultRule
from .render import READ_MODELS, render
from .routes import build_router
from .server import App, FakeHTTPServer, RecordedRequest
from .state import SYSTEM_ID_NAMES, Store, sort_key

__all__ = ["FakeLooker", "check_system_ids", "parse_system_ids"]

# Load order of a backup: what an object refers to comes first, and folders come
# before users so that a user's personal folder keeps its backed-up id.
_BACKUP_ORDER = (
    ("PERMISSION_SET", "permission_sets"),
    ("MODEL_SET", "model_sets"),
    ("ROLE", "roles"),
    ("GROUP", "groups"),
    ("FOLDER", "folders"),
    ("USER", "users"),
    ("LOOKML_MODEL", "lookml_models"),
    ("EXPLORE", "explores"),
    ("LOOK", "looks"),
    ("DASHBOARD", "dashboards"),
    ("SCHEDULED_PLAN", "scheduled_plans"),
    ("BOARD", "boards"),
    ("ALERT", "alerts"),
)


def check_system_ids(system_ids: Mapping[str, str]) -> None:
    """Reject system ids the fake cannot be seeded with.

    Raises:
        ValueError: an unknown name, an id that is not a positive number, or
            the Shared and Users folders at one id.
    """
    unknown = sorted(set(system_ids) - set(SYSTEM_ID_NAMES))
    if unknown:
        raise ValueError(f"unknown system id name(s) {', '.join(unknown)}; known: {', '.join(SYSTEM_ID_NAMES)}")
    for name, value in system_ids.items():
        if not str(value).isdigit() or int(value) < 1:
            raise ValueError(f"system id {name}={value!r} is not a positive number")
    if "shared" in system_ids and str(system_ids["shared"]) == str(system_ids.get("users")):
        raise ValueError("the shared and users folders cannot have the same id")


def parse_system_ids(text: str) -> dict[str, str]:
    """`shared=801,users=709,all_users=49` as a dict, checked (see `check_system_ids`).

    Raises:
        ValueError: text not of that form, or ids `check_system_ids` rejects.
    """
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{part!r} is not NAME=ID (names: {', '.join(SYSTEM_ID_NAMES)})")
        out[name.strip()] = value.strip()
    if not out:
        raise ValueError(f"no NAME=ID pairs given (names: {', '.join(SYSTEM_ID_NAMES)})")
    check_system_ids(out)
    return out


class FakeLooker:
    """A faithful, stateful fake of the Looker API 4.0 over real HTTP.

    It serves the endpoints restore uses, through the official SDK, with
    Looker's behaviour: form login and expiring tokens, string ids, seeded
    system content, deduplicated queries, default dashboard layouts, soft and
    hard deletes, Looker's error bodies, pagination and `fields=`. Faults can
    be injected per route, and every call is recorded.

    Example::

        with FakeLooker() as looker:
            sdk = make_sdk(looker.base_url, looker.client_id, looker.client_secret)
            looker.inject("PATCH /dashboards/*", RateLimit(retry_after=None), times=3)
    """

    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        strict: bool = False,
        latency_ms: float = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl_s: int = 3600,
        first_id: int = 1,
        system_ids: Mapping[str, str] | None = None,
    ) -> None:
        """See the class docstring.

        Args:
            system_ids: where the system content sits, by name ("shared",
                "users", "all_users"), instead of 1, 2 and 1. Real instances
                differ (one has Shared 801, Users 709 and an All Users group 49
                that is `externally_managed`): given, the fake is such an
                instance, All Users externally managed too.

        Raises:
            ValueError: a `system_ids` name that is not one of those, an id
                that is not a positive number, or both folders at one id.
        """
        self.client_id = client_id
        self.client_secret = client_secret
        self._host = host
        self._port = port
        if system_ids is not None:
            check_system_ids(system_ids)
        self._store = Store(token_ttl_s=token_ttl_s, first_id=first_id, system_ids=system_ids)
        ingest.seed(self._store, recorded_all_users=system_ids is not None and "all_users" in system_ids)
        self._faults = FaultPlan()
        self._app = App(
            self._store,
            build_router(),
            self._faults,
            client_id=client_id,
            client_secret=client_secret,
            strict=strict,
            latency_ms=latency_ms,
        )
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeLooker:
        """Bind (port 0 picks a free one) and serve in a background thread."""
        if self._server is not None:
            return self
        server = FakeHTTPServer((self._host, self._port), self._app)
        port = server.server_port
        self._store.base_url = f"http://{self._host}:{port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-looker-{port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeLooker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without a path.

        Raises:
            RuntimeError: before `start()`.
        """
        if not self._store.base_url:
            raise RuntimeError("FakeLooker is not started")
        return self._store.base_url

    @property
    def strict(self) -> bool:
        """Whether writes carrying read-only or unknown fields are rejected (422)."""
        return self._app.strict

    @strict.setter
    def strict(self, value: bool) -> None:
        self._app.strict = value

    @property
    def email_credentials_denied(self) -> bool:
        """Whether credentials_email writes get 403, as on Looker (Google Cloud core)."""
        return self._store.email_credentials_denied

    @email_credentials_denied.setter
    def email_credentials_denied(self, value: bool) -> None:
        self._store.email_credentials_denied = value

    @property
    def latency_ms(self) -> float:
        """Delay added to every call."""
        return self._app.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self._app.latency_ms = value

    @property
    def record_requests(self) -> bool:
        """Whether calls are appended to `requests` (turn off for long benchmark runs)."""
        return self._app.record_requests

    @record_requests.setter
    def record_requests(self, value: bool) -> None:
        self._app.record_requests = value

    # --- state --------------------------------------------------------------------------

    def get(self, collection: str, id: str) -> dict[str, object] | None:  # noqa: A002 - contract name
        """An object as GET returns it, or None.

        Raises:
            KeyError: for an unknown collection.
        """
        with self._store.lock:
            record = self._store.table(collection).get(str(id))
            return render(self._store, collection, record) if record is not None else None

    def all(self, collection: str) -> dict[str, dict[str, object]]:
        """Every object of a collection as GET returns it (trashed ones included), by id."""
        with self._store.lock:
            table = self._store.table(collection)
            return {k: render(self._store, collection, table[k]) for k in sorted(table, key=sort_key)}

    def put(self, collection: str, obj: Mapping[str, object]) -> dict[str, object]:
        """Create or update an object behind the API's back (no validation, ids kept).

        Nested parts (a dashboard's elements, filters and layouts; a board's
        sections and items; a look's query) are stored in their own collections.
        On an existing object only the given keys change.

        Raises:
            KeyError: for an unknown collection.
        """
        with self._store.lock:
            record = ingest.put(self._store, collection, obj)
            return render(self._store, collection, record)

    def secret_parameters(self, plan_id: str) -> list[object]:
        """The write-only secrets of a plan's destinations, which GET never shows (for assertions)."""
        with self._store.lock:
            return [d.get("secret_parameters")
                    for d in self._store.by("scheduled_plan_destinations", "scheduled_plan_id", str(plan_id))]

    def remove(self, collection: str, id: str) -> None:  # noqa: A002 - contract name
        """Delete an object (and the parts it owns) behind the API's back."""
        with self._store.lock:
            ingest.remove(self._store, collection, str(id))

    def load_backup(self, path: str | os.PathLike[str]) -> None:
        """Make a LookerVault backup's content live state, ids preserved.

        Rows the backup marks deleted (gone at a later extraction) are skipped,
        and so are corrupt ones. Every model the backup's queries name exists
        afterwards (its LookML was deployed there, or the queries could not
        exist: `POST /queries` needs the model). Every query the backup names exists afterwards:
        with its content where the backup holds it anywhere (a tile's
        `look.query`, `result_maker.query` or `query`), else as an opaque query
        (Looker never deletes queries; LookerVault keeps only a look's `query_id`).

        Raises:
            BackupUnreadable: when the file is not a LookerVault backup.
        """
        from lookervault_core.backup import BackupItem, BackupReader
        from lookervault_core.content_types import ContentType
        from lookervault_core.queries import build_query_catalog, query_ids

        with BackupReader(path) as reader, self._store.lock:
            for query_id, query in build_query_catalog(reader).items():
                ingest.put(self._store, "queries", {**query, "id": query_id})
                ingest.ensure_model(self._store, query.get("model"))
            for type_name, collection in _BACKUP_ORDER:
                content_type = ContentType[type_name]
                key = "name" if collection == "lookml_models" else "id"
                for item in reader.items(content_type):
                    # Corrupt and unrestorable rows come as errors; deleted ones were gone from Looker.
                    if not isinstance(item, BackupItem) or item.row.deleted_at is not None:
                        continue
                    data = dict(item.data)
                    if data.get(key) is None:
                        data[key] = item.row.id
                    model = data.get("model")
                    model_name = model.get("id") if isinstance(model, dict) else None
                    for query_id in query_ids(content_type, data):
                        ingest.ensure_query(self._store, query_id, model_name)
                    ingest.ensure_model(self._store, model_name)
                    ingest.put(self._store, collection, data)
            for content_type, put in ((ContentType.USER_ATTRIBUTE, ingest.put_user_attribute),
                                      (ContentType.FOLDER_ACCESS, ingest.put_folder_access),
                                      (ContentType.USER_ATTRIBUTE_VALUE, ingest.put_user_attribute_values)):
                for item in reader.items(content_type):
                    if isinstance(item, BackupItem) and item.row.deleted_at is None:
                        put(self._store, item.data)

    @staticmethod
    def collections() -> tuple[str, ...]:
        """The names `get`, `all`, `put` and `remove` accept."""
        return tuple(READ_MODELS)

    # --- requests and faults ------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every call received, oldest first."""
        return self._app.recorded()

    def clear_requests(self) -> None:
        """Forget the calls received so far."""
        self._app.clear_recorded()

    def inject(self, route: str, fault: Fault, times: int | None = 1, every: int = 1) -> None:
        """Make the next `times` calls matching `route` ("PATCH /dashboards/*", "* *") fail with `fault`.

        With `every=n` only each n-th matching call fails (`times` of them in all); `times=None` for good.
        """
        self._faults.add(route, fault, times, every)

    def apply(self, rule: FaultRule) -> None:
        """Inject a parsed `--fault` / `--latency` rule (`parse_fault_rule`, `parse_latency_rule`)."""
        self._faults.add(rule.route, rule.fault, rule.times)

    def throttle(self, per_second: float | None, retry_after: float | None = None) -> None:
        """Answer 429 to calls beyond `per_second` until lifted with None (rate-based, unlike `inject`)."""
        self._faults.throttle(per_second, retry_after)

    def clear_faults(self) -> None:
        """Drop faults not yet used."""
        self._faults.clear()

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (the next call of each client gets 401)."""
        with self._store.lock:
            self._store.expire_tokens()
