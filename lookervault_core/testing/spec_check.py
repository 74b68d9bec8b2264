"""Check calls against the official Looker API 4.0 description (OpenAPI 3.0).

The description (`Looker.4.0.oas.json`) lives outside the repository, in
`shared/looker-api/` beside it, or wherever `LOOKER_OAS_PATH` points. Tests
record the requests a restore sends to the fake and check each one here: the
route exists, query parameters have the right types, and the body carries no
property the description marks `readOnly` and every `required` one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

__all__ = ["ENV_VAR", "find_spec", "validate_request", "validate_requests", "validate_response"]

ENV_VAR = "LOOKER_OAS_PATH"
_RELATIVE = Path("shared") / "looker-api" / "Looker.4.0.oas.json"
# The description's own server; paths are checked below its /api/4.0 prefix.
_HOST = "https://localhost:20000"
_PREFIX = "/api/4.0"
# Properties the description marks readOnly that clients must write, each with
# its evidence: (call pattern, property path pattern).
_READ_ONLY_EXEMPT = (
    # The only property of these bodies; the SDK sends it and Looker needs it
    # (GroupIdForGroupUserInclusion, GroupIdForGroupInclusion).
    (re.compile(r"POST /groups/[^/]+/users"), re.compile(r"user_id")),
    (re.compile(r"POST /groups/[^/]+/groups"), re.compile(r"group_id")),
    # Which dashboard filter drives a tile lives only here. The description
    # marks it readOnly, yet Looker's own example writes it
    # (sdk-codegen examples/python/create_dashboard_filter.py), gzr's dashboard
    # import copies it onto every tile, and the SDK's Write model keeps it.
    (re.compile(r"(POST /dashboard_elements|PATCH /dashboard_elements/[^/]+)"),
     re.compile(r"result_maker\.filterables\.\d+\.listen")),
    # The body is the read model ContentMetaGroupUser, every property readOnly, yet the
    # call says nothing without them: lmanage sends content_metadata_id, permission_type
    # and group_id on both (create_content_metadata_access, update_content_metadata_access).
    (re.compile(r"(POST /content_metadata_access|PUT /content_metadata_access/[^/]+)"),
     re.compile(r"content_metadata_id|permission_type|group_id|user_id")),
    # UserAttributeGroupValue is all readOnly too: looker_deployer sets group_values with
    # group_id and value (deploy_user_attributes.py), the description's own text asks for
    # `rank` on each item, and lmanage patches one group's `value` (add_group_values_to_ua).
    (re.compile(r"POST /user_attributes/[^/]+/group_values"), re.compile(r"\d+\.(group_id|value|rank)")),
    (re.compile(r"PATCH /groups/[^/]+/attribute_values/[^/]+"), re.compile(r"value")),
)


class RecordedCall(Protocol):
    """What `validate_requests` reads of a recorded request (FakeLooker's RecordedRequest fits)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def query(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> object: ...


def find_spec(start: Path | None = None) -> Path | None:
    """The API description: `$LOOKER_OAS_PATH`, else `shared/looker-api/...` in an ancestor directory.

    Args:
        start: where to start looking upwards (default: this file's directory).
    """
    env = os.environ.get(ENV_VAR)
    if env and Path(env).is_file():
        return Path(env)
    here = (start or Path(__file__)).resolve()
    for directory in (here, *here.parents):
        candidate = directory / _RELATIVE
        if candidate.is_file():
            return candidate
    return None


def _without_any_type(node: object) -> object:
    # Looker writes free-form values as {"type": "any", "format": "any"}, which
    # is not JSON Schema; without the keywords the schema accepts anything.
    if isinstance(node, dict):
        out = {k: _without_any_type(v) for k, v in node.items()}
        if out.get("type") == "any":
            del out["type"]
            if out.get("format") == "any":
                del out["format"]
        return out
    if isinstance(node, list):
        return [_without_any_type(v) for v in node]
    return node


@lru_cache(maxsize=4)
def _openapi(path: str) -> OpenAPI:
    # The description does not pass strict spec validation (a query parameter
    # uses style "simple"), so it is loaded without it. Loading takes ~2 s.
    data = _without_any_type(json.loads(Path(path).read_text(encoding="utf-8")))
    assert isinstance(data, dict)
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None), base_uri=Path(path).as_uri())


def _request(method: str, path: str, query: Mapping[str, str] | None, body: object) -> MockRequest:
    data: bytes | None
    if path == "/login" and isinstance(body, Mapping):
        data = urlencode({str(k): str(v) for k, v in body.items()}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(body).encode() if body is not None else None
        content_type = "application/json"
    return MockRequest(
        _HOST, method.lower(), _PREFIX + path, args=dict(query or {}), data=data, content_type=content_type
    )


def _exempt(prefix: str, where: str) -> bool:
    return any(call.fullmatch(prefix) and prop.fullmatch(where) for call, prop in _READ_ONLY_EXEMPT)


def _describe(prefix: str, exc: Exception) -> list[str]:
    name = type(exc).__name__
    if name in ("PathNotFound", "OperationNotFound"):
        return [f"{prefix}: no such operation in the API description"]
    schema_errors = getattr(exc.__cause__, "schema_errors", None)
    if not schema_errors:
        return [f"{prefix}: {exc}"]
    out = []
    for error in schema_errors:
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "readOnly":
            if _exempt(prefix, where):
                continue
            out.append(f"{prefix}: body property {where} is read-only")
        elif error.validator == "required":
            location = f" in {where}" if where else ""
            out.append(f"{prefix}: {error.message}{location}")
        else:
            out.append(f"{prefix}: {where or 'body'}: {error.message}")
    return out


def validate_request(
    spec_path: str | os.PathLike[str],
    method: str,
    path: str,
    query: Mapping[str, str] | None = None,
    body: object = None,
) -> list[str]:
    """Problems of one call (path after `/api/4.0`, still percent-encoded), as readable lines."""
    api = _openapi(str(Path(spec_path).resolve()))
    prefix = f"{method.upper()} {path}"
    problems: list[str] = []
    for exc in api.iter_request_errors(_request(method, path, query, body)):
        problems.extend(_describe(prefix, exc))
    return problems


def validate_requests(spec_path: str | os.PathLike[str], recorded_requests: Iterable[RecordedCall]) -> list[str]:
    """Problems of each recorded call against the API description, as readable lines.

    Checks that the route exists, query parameters parse, and JSON bodies match
    the request schema: no `readOnly` property, every `required` one present,
    types right. An empty list means every call conforms.
    """
    problems: list[str] = []
    for call in recorded_requests:
        problems.extend(validate_request(spec_path, call.method, call.path, call.query, call.body))
    return problems


def validate_response(
    spec_path: str | os.PathLike[str],
    method: str,
    path: str,
    status: int,
    body: object,
    query: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems of one answer against the response schema of its operation, as readable lines."""
    if status == 204 and body is None:
        # The description declares a string body for 204; Looker sends none.
        return []
    api = _openapi(str(Path(spec_path).resolve()))
    request = _request(method, path, query, None)
    data = json.dumps(body).encode() if body is not None else b""
    response = MockResponse(data, status_code=status, content_type="application/json")
    prefix = f"{method.upper()} {path} -> {status}"
    problems: list[str] = []
    for exc in api.iter_response_errors(request, response):
        problems.extend(_describe(prefix, exc))
    return problems
