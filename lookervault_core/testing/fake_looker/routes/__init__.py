"""The fake's API routes, one module per domain."""

from __future__ import annotations

from ..router import Router
from . import boards, dashboards, folders, groups, lookml, looks, roles, schedules, session, users, validation

__all__ = ["build_router"]


def build_router() -> Router:
    """A router with every route of the fake."""
    router = Router()
    for module in (session, folders, looks, dashboards, users, groups, roles, schedules, boards, lookml, validation):
        module.register(router)
    return router
