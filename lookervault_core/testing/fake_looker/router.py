"""Routes of the fake API and the call object their handlers receive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .api_errors import HttpError
from .shapes import Problem, check_write, shape
from .state import Store

__all__ = ["Call", "Reply", "Route", "Router"]


@dataclass(frozen=True)
class Reply:
    """An answer with an explicit status (handlers may also return a payload, or None for 204)."""

    status: int
    payload: object = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Call:
    """One authenticated API call as a route handler sees it."""

    store: Store
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: object
    user_id: str
    token: str | None
    strict: bool
    credentials: tuple[str, str] = ("", "")
    extra: dict[str, object] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        """A query parameter, or None."""
        return self.query.get(name)

    def flag(self, name: str) -> bool | None:
        """A boolean query parameter (`true`/`false`), or None when absent."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return None
        return raw.strip().lower() in ("true", "1", "yes")

    def json_object(self) -> Mapping[str, object]:
        """The body, which must be a JSON object (an absent body counts as empty).

        Raises:
            HttpError: 400 when the body is not an object.
        """
        if self.body is None:
            return {}
        if not isinstance(self.body, Mapping):
            raise HttpError(400, "Request body must be a JSON object")
        return self.body

    def json_list(self) -> list[str]:
        """The body, which must be a JSON array of ids.

        Raises:
            HttpError: 400 when the body is not an array; 422 when an id is not a string.
        """
        if not isinstance(self.body, list):
            raise HttpError(400, "Request body must be a JSON array")
        out = []
        for i, value in enumerate(self.body):
            if not isinstance(value, str):
                raise HttpError(422, problems=[Problem(f"[{i}]", "invalid", "ids must be strings")])
            out.append(str(value))
        return out

    def write(self, write_model: type, read_model: type | None, *, creating: bool) -> dict[str, object]:
        """The body checked against an SDK Write model, ignored fields dropped.

        Raises:
            HttpError: 422 listing missing required fields, mistyped ones, and in
                strict mode every read-only or unknown field.
        """
        clean, problems = check_write(
            shape(write_model),
            shape(read_model) if read_model is not None else None,
            self.json_object(),
            strict=self.strict,
            creating=creating,
        )
        if problems:
            raise HttpError(422, problems=problems)
        return clean


Handler = Callable[[Call], object]


@dataclass(frozen=True)
class Route:
    """One method + path template, e.g. `GET /dashboards/{dashboard_id}`."""

    method: str
    template: str
    segments: tuple[str, ...]
    handler: Handler
    auth: bool

    @property
    def literal_count(self) -> int:
        """How many segments are literal (more literal routes win)."""
        return sum(1 for s in self.segments if not s.startswith("{"))

    @property
    def doc_path(self) -> str:
        """The route as Looker's documentation URLs spell it: `get/dashboards/:dashboard_id`."""
        parts = [f":{s[1:-1]}" if s.startswith("{") else s for s in self.segments]
        return "/".join([self.method.lower(), *parts])


class Router:
    """Matches (method, decoded path segments) to a route and its path parameters."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, int], list[Route]] = {}

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        """Register a route; `template` like `/folders/{folder_id}/children`."""
        segments = tuple(s for s in template.strip("/").split("/") if s)
        route = Route(method.upper(), template, segments, handler, auth)
        bucket = self._routes.setdefault((route.method, len(segments)), [])
        bucket.append(route)
        bucket.sort(key=lambda r: -r.literal_count)

    def match(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]] | None:
        """The best route for a call, with its path parameters, or None."""
        for route in self._routes.get((method, len(segments)), ()):
            params: dict[str, str] = {}
            for pattern, actual in zip(route.segments, segments, strict=True):
                if pattern.startswith("{"):
                    params[pattern[1:-1]] = actual
                elif pattern != actual:
                    break
            else:
                return route, params
        return None

    def routes(self) -> list[Route]:
        """Every registered route."""
        return [r for bucket in self._routes.values() for r in bucket]
