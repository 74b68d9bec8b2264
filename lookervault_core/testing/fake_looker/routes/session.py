"""Login, logout and the current user."""

from __future__ import annotations

from collections.abc import Mapping

from ..api_errors import HttpError, not_found
from ..ops import require
from ..render import render
from ..router import Call, Reply, Router

__all__ = ["register"]


def _login(call: Call) -> object:
    form = call.body if isinstance(call.body, Mapping) else {}
    # The SDK posts a form; query parameters still work (deprecated by Looker).
    client_id = form.get("client_id") or call.arg("client_id")
    client_secret = form.get("client_secret") or call.arg("client_secret")
    if (client_id, client_secret) != call.credentials:
        # Looker answers bad API credentials with 404, not 401.
        raise not_found()
    return _token(call, "1")


def _login_user(call: Call) -> object:
    require(call.store, "users", call.params["user_id"])
    return _token(call, call.params["user_id"])


def _token(call: Call, user_id: str) -> dict[str, object]:
    token = call.store.issue_token(user_id)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": call.store.token_ttl_s,
        "refresh_token": None,
    }


def _logout(call: Call) -> object:
    if call.token is None:
        raise HttpError(401)
    call.store.revoke(call.token)
    return Reply(204)


def _me(call: Call) -> object:
    return render(call.store, "users", require(call.store, "users", call.user_id))


def register(router: Router) -> None:
    """Add the session routes."""
    router.add("POST", "/login", _login, auth=False)
    router.add("POST", "/login/{user_id}", _login_user)
    router.add("DELETE", "/logout", _logout)
    router.add("GET", "/user", _me)
