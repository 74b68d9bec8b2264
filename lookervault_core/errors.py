"""The error tree of LookerVault Restore.

Every error the library raises derives from `LookervaultError`::

    LookervaultError
    ├── ConfigurationError          settings missing or invalid
    ├── BackupError                 the backup file or one of its rows
    │   ├── BackupUnreadable        not a LookerVault backup, or unreadable
    │   ├── ItemNotFound            no row for (content type, id)
    │   ├── CorruptItem             a row whose blob does not decode
    │   └── UnrestorableItem        a row that can never be restored (id "unknown", ...)
    ├── LookerApiError              an answer from Looker, or no answer
    │   ├── AuthenticationFailed    401/403, bad credentials
    │   ├── NotFound                404
    │   ├── ValidationFailed        400/409/422, with Looker's field errors
    │   ├── RateLimited             429, with Retry-After when Looker sent one
    │   └── Unavailable             5xx, connection refused/reset, timeout
    ├── DependencyError             something an item needs is missing
    │   ├── MissingDependency       names the needed type and id
    │   └── MissingLookmlModel      names the LookML model(s) Looker lacks
    ├── MappingError                source id → destination id cannot be resolved
    └── UnsupportedContent          a type or feature the destination cannot take

Errors are named for the condition. Lower-layer exceptions (SDK, urllib3,
sqlite3, msgspec) are mapped in one place each and re-raised ``from exc``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "AuthenticationFailed",
    "BackupError",
    "BackupUnreadable",
    "ConfigurationError",
    "CorruptItem",
    "DependencyError",
    "FieldError",
    "ItemNotFound",
    "LookerApiError",
    "LookervaultError",
    "MappingError",
    "MissingDependency",
    "MissingLookmlModel",
    "NotFound",
    "RateLimited",
    "Unavailable",
    "UnrestorableItem",
    "UnsupportedContent",
    "ValidationFailed",
]


class LookervaultError(Exception):
    """Root of every error raised by lookervault_core."""

    #: Whether retrying the same call later may succeed.
    transient: bool = False


class ConfigurationError(LookervaultError):
    """Settings are missing or invalid (no base URL, no credentials, ...)."""


# --- backup ---------------------------------------------------------------


class BackupError(LookervaultError):
    """The backup file, or one item in it, cannot be used."""


class BackupUnreadable(BackupError):
    """The file is missing, not SQLite, or has no `content_items` table."""


class ItemNotFound(BackupError):
    """The backup holds no row for this (content type, id)."""

    def __init__(self, content_type: str, item_id: str) -> None:
        super().__init__(f"{content_type} {item_id} is not in the backup")
        self.content_type = content_type
        self.item_id = item_id


class CorruptItem(BackupError):
    """A row exists but its MessagePack blob does not decode to an object."""

    def __init__(self, content_type: str, item_id: str, reason: str) -> None:
        super().__init__(f"{content_type} {item_id}: corrupt backup row: {reason}")
        self.content_type = content_type
        self.item_id = item_id
        self.reason = reason


class UnrestorableItem(BackupError):
    """A row that can never be restored as it is (id "unknown", missing query, ...)."""

    def __init__(self, content_type: str, item_id: str, reason: str) -> None:
        super().__init__(f"{content_type} {item_id} cannot be restored: {reason}")
        self.content_type = content_type
        self.item_id = item_id
        self.reason = reason


# --- Looker API -------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One entry of a 422 answer's `errors` list."""

    field: str
    code: str
    message: str


class LookerApiError(LookervaultError):
    """Looker answered with an error status, or did not answer at all."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        where = f"{method} {path}: " if method else ""
        status_text = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"{where}{status_text}{message}")
        self.looker_message = message
        self.status = status
        self.method = method
        self.path = path


class AuthenticationFailed(LookerApiError):
    """Looker refused the credentials or the token (401/403)."""


class NotFound(LookerApiError):
    """Looker has no object at this path (404)."""


class ValidationFailed(LookerApiError):
    """Looker rejected the request body (400/409/422); `errors` holds its field errors."""

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[FieldError] = (),
        status: int | None = 422,
        method: str = "",
        path: str = "",
    ) -> None:
        detail = "; ".join(f"{e.field}: {e.code} {e.message}".strip() for e in errors)
        super().__init__(
            f"{message} ({detail})" if detail else message,
            status=status,
            method=method,
            path=path,
        )
        self.errors = tuple(errors)


class RateLimited(LookerApiError):
    """Looker answered 429; `retry_after` is its Retry-After in seconds, if sent."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message, status=status, method=method, path=path)
        self.retry_after = retry_after


class Unavailable(LookerApiError):
    """Looker failed (5xx) or could not be reached (refused, reset, timed out).

    `write_may_have_happened` marks a create (POST) that reached Looker but
    whose answer was lost (5xx, reset, timeout): what it creates may exist now.
    Sending it again blind can make a second copy (tiles, users, schedules have
    no unique key in Looker), so it is not retried as it is: restore looks for
    what it would have made first. `may_still_happen` is set when no answer
    came in time (a read timeout, a gateway's 504): Looker may still be
    carrying the write out, so not finding it yet proves nothing.
    """

    transient = True

    def __init__(
        self,
        message: str,
        *,
        write_may_have_happened: bool = False,
        may_still_happen: bool = False,
        status: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message, status=status, method=method, path=path)
        self.write_may_have_happened = write_may_have_happened
        self.may_still_happen = may_still_happen


# --- dependencies and mapping ----------------------------------------------------


class DependencyError(LookervaultError):
    """An item needs something that is neither restored nor present in Looker."""


class MissingDependency(DependencyError):
    """Names the item and the dependency it lacks."""

    def __init__(
        self,
        content_type: str,
        item_id: str,
        needs_type: str,
        needs_id: str,
        detail: str = "which is neither in the backup nor in Looker",
    ) -> None:
        super().__init__(f"{content_type} {item_id} needs {needs_type} {needs_id}, {detail}")
        self.content_type = content_type
        self.item_id = item_id
        self.needs_type = needs_type
        self.needs_id = needs_id


class MissingLookmlModel(DependencyError):
    """An item's queries need LookML models Looker does not have: their project is not deployed there.

    Looker answers `POST /queries` for such a model with a bare 404 (looker-cli
    #36, #268; looker_deployer #100): the commonest failure of a migration,
    content restored before its LookML.
    """

    def __init__(self, content_type: str, item_id: str, models: Sequence[str], detail: str = "") -> None:
        names = ", ".join(repr(x) for x in models)
        plural = "s" if len(models) != 1 else ""
        super().__init__(
            f"{content_type} {item_id} needs LookML model{plural} {names}, which Looker does not have: "
            f"deploy the LookML project{plural} defining {'them' if plural else 'it'} on this instance "
            f"(and configure the model{plural}), then restore again{detail}"
        )
        self.content_type = content_type
        self.item_id = item_id
        self.models = tuple(models)


class MappingError(LookervaultError):
    """A source id cannot be mapped to a destination id."""


class UnsupportedContent(LookervaultError):
    """The destination cannot take this content type or feature."""


@dataclass(frozen=True)
class ErrorInfo:
    """A serialisable summary of an error, for dead-letter records."""

    type: str
    message: str
    transient: bool
    details: Mapping[str, object] = field(default_factory=dict)


def describe(exc: BaseException) -> ErrorInfo:
    """Summarise an exception as type name, message and whether it is transient."""
    details: dict[str, object] = {}
    if isinstance(exc, LookerApiError):
        details["status"] = exc.status
        details["request"] = f"{exc.method} {exc.path}".strip()
    if isinstance(exc, ValidationFailed):
        details["errors"] = [e.__dict__ for e in exc.errors]
    if isinstance(exc, Unavailable) and exc.write_may_have_happened:
        # For the dead letter: the write may have happened (and, if so, the next run adopts it).
        details["write_may_have_happened"] = True
        details["may_still_happen"] = exc.may_still_happen
    if isinstance(exc, MissingDependency):
        details["needs"] = f"{exc.needs_type} {exc.needs_id}"
    if isinstance(exc, MissingLookmlModel):
        details["needs"] = ", ".join(f"lookml_model {x}" for x in exc.models)
    return ErrorInfo(
        type=type(exc).__name__,
        message=str(exc),
        transient=bool(getattr(exc, "transient", False)),
        details=details,
    )
