"""The fake's API routes, one module per domain."""

from __future__ import annotations

from ..router import Router
from . import (alerts, boards, content_access, dashboards, folders, groups, lookml, looks, roles, schedules,
               session, user_attributes, users, validation)

__all__ = ["build_router"]


def build_router() -> Router:
    """A router with every route of the fake."""
    router = Router()
    for module in (session, folders, looks, dashboards, users, groups, roles, schedules, boards, lookml, alerts,
                   content_access, user_attributes, validation):
        module.register(router)
    return router
