"""Looker's error answers: `{"message", "documentation_url"}`, plus `errors[]` on 422."""

from __future__ import annotations

from collections.abc import Sequence

from .shapes import Problem

__all__ = ["DOCS_ROOT", "HttpError", "already_exists", "built_in", "error_body", "invalid", "not_found"]

# The SDK fetches error docs from Looker's CDN (an outbound request without a
# timeout) when documentation_url starts with https://cloud.google.com/looker/docs/r/err/
# or https://docs.looker.com/r/err/. This prefix is Looker's current one and the SDK
# leaves it alone.
DOCS_ROOT = "https://docs.cloud.google.com/looker/docs/r/err/4.0"

_MESSAGES = {
    400: "Bad Request",
    401: "Requires authentication.",
    403: "Forbidden",
    # Evidence: real instances' 404 body (looker-cli #129, #187, #268; terraform-provider-looker #90).
    404: "The resource you're looking for could not be found",
    405: "Resource Can't Be Modified",
    409: "Conflict",
    422: "Validation Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class HttpError(Exception):
    """An error answer; route handlers raise it, the dispatcher writes it."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        problems: Sequence[Problem] = (),
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.status = status
        self.message = message or _MESSAGES.get(status, "Error")
        self.problems = tuple(problems)
        self.headers = tuple(headers)
        super().__init__(f"{status} {self.message}")


def not_found(message: str | None = None) -> HttpError:
    """404, as Looker answers for a missing object or route (its recorded message unless given)."""
    return HttpError(404, message)


def already_exists() -> HttpError:
    """409 "The resource already exists.", with no `errors[]`.

    Evidence: real instances answer a dashboard slug already taken (by a
    trashed dashboard too) so, on POST (looker-cli #14) and on PATCH
    (looker-cli #306: `{"message":"The resource already exists.",
    "documentation_url":".../409/patch/dashboards/:dashboard_id"}`).
    """
    return HttpError(409, "The resource already exists.")


def built_in(what: str) -> HttpError:
    """405 for a write to a built-in object.

    Evidence: the API description answers 405 "Resource Can't Be Modified" on
    PATCH and DELETE of /roles/{role_id}, /permission_sets/{id} and
    /model_sets/{id} (Looker.4.0.oas.json); built-ins are what cannot be modified.
    """
    return HttpError(405, f"{what} is built in and cannot be modified")


def invalid(field: str, code: str, message: str) -> HttpError:
    """422 with one field error."""
    return HttpError(422, "Validation Failed", [Problem(field, code, message)])


def doc_url(status: int, doc_path: str) -> str:
    """documentation_url of an error: DOCS_ROOT/<status>/<method>/<route>."""
    return f"{DOCS_ROOT}/{status}/{doc_path}"


def error_body(error: HttpError, doc_path: str) -> dict[str, object]:
    """The JSON body Looker sends with an error status."""
    url = doc_url(error.status, doc_path)
    body: dict[str, object] = {"message": error.message, "documentation_url": url}
    if error.status == 422 or error.problems:
        body["errors"] = [
            {"field": p.field, "code": p.code, "message": p.message, "documentation_url": url} for p in error.problems
        ]
        body = {"message": error.message, "errors": body["errors"], "documentation_url": url}
    return body
