"""Where a person opens a restored item in Looker's UI: the `looker_url` of its result."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from ..content_types import ContentType as CT

__all__ = ["page_url", "ui_base"]

#: The UI page of each type, by destination id. Content pages (`/dashboards/ID`, `/looks/ID`,
#: `/folders/ID`, `/boards/ID`, `/explore/MODEL/EXPLORE`) are the addresses Looker instances publish
#: (e.g. mozilla.cloud.looker.com/folders/63 and /boards/140, linked from their public docs).
#: The admin pages of users, groups, roles and sets are a guess: no recording shows them.
_PAGES: dict[CT, str] = {
    CT.DASHBOARD: "/dashboards/{id}",
    CT.LOOK: "/looks/{id}",
    CT.FOLDER: "/folders/{id}",
    CT.BOARD: "/boards/{id}",
    CT.USER: "/admin/users/{id}/edit",
    CT.GROUP: "/admin/groups/{id}/edit",
    CT.ROLE: "/admin/roles/{id}/edit",
    CT.PERMISSION_SET: "/admin/permission_sets/{id}/edit",
    CT.MODEL_SET: "/admin/model_sets/{id}/edit",
}


def _path(content_type: CT, dest_id: str, live: Mapping[str, object]) -> str | None:
    url = live.get("url")
    # Dashboards' and looks' `url` is their page, relative ("/dashboards/101", API description);
    # users', roles' and sets' is the API's own link to the object (".../api/4.0/users/5"), not a page.
    if content_type in (CT.DASHBOARD, CT.LOOK) and isinstance(url, str) and url.startswith("/"):
        return url
    if content_type is CT.EXPLORE:
        model, _, explore = dest_id.partition("::")
        return f"/explore/{model}/{explore}"
    if content_type is CT.LOOKML_MODEL:
        project = live.get("project_name")
        return f"/projects/{project}/files" if isinstance(project, str) and project else None
    if content_type is CT.SCHEDULED_PLAN:
        # A schedule is managed from the page of what it delivers.
        for field, ct in (("dashboard_id", CT.DASHBOARD), ("look_id", CT.LOOK)):
            target = live.get(field)
            if target is not None:
                return _PAGES[ct].format(id=target)
        return None
    page = _PAGES.get(content_type)
    return page.format(id=dest_id) if page else None


def ui_base(api_base_url: str) -> str:
    """The address of the instance's pages, from its API's base URL.

    The API's base URL serves the UI on Looker-hosted instances, except on
    those hosted on AWS before 07/07/2020, whose API has port 19999 of its own
    while their pages are on 443 (Looker's docs, Admin > API, "API Host URL").
    A customer-hosted instance's pages have a port its API does not tell
    (9999 by default), so its API address is kept as it is.
    """
    parts = urllib.parse.urlsplit(api_base_url.rstrip("/"))
    host = (parts.hostname or "").lower()
    if parts.port == 19999 and parts.scheme == "https" and host.endswith(".looker.com"):
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    return api_base_url.rstrip("/")


def page_url(base_url: str, content_type: CT, dest_id: str | None, live: Mapping[str, object] | None) -> str | None:
    """The item's page on the instance whose API is at `base_url`, or None when it has none (a dry run's create)."""
    if dest_id is None:
        return None
    path = _path(content_type, dest_id, live or {})
    if path is None:
        return None
    return path if path.startswith("http") else ui_base(base_url) + path
