"""Whether a live object is the backup's own object: the check before any write by an assumed id.

A LookerVault backup does not record which instance it came from, so the same
id on the destination may be a different object (restoring into a new
instance without `--source-instance`). Looker sets `created_at` once, so on
the instance the backup came from the same object has the same `created_at`;
types without one are recognised by their natural key (a role's name, a
user's email). On a mismatch restore never writes to that object.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..content_types import ContentType as CT
from .payload import same

__all__ = ["identity_fields", "same_object"]

#: The field that names an object of each type where it has no created_at (or it was not captured).
_NATURAL_KEY: dict[CT, str] = {
    CT.PERMISSION_SET: "name",
    CT.MODEL_SET: "name",
    CT.ROLE: "name",
    CT.GROUP: "name",
    CT.USER: "email",
    CT.LOOKML_MODEL: "name",
    CT.EXPLORE: "name",
    CT.FOLDER: "name",
    CT.LOOK: "title",
    CT.DASHBOARD: "title",
    CT.SCHEDULED_PLAN: "name",
    CT.BOARD: "title",
    # Alerts have no created_at and no name: the tile and the field watched (see `_natural_key`).
    CT.ALERT: "dashboard_element_id",
    # Names are unique per instance (API description, POST /user_attributes); access and
    # a user's values are keyed by the folder and user they belong to.
    CT.FOLDER_ACCESS: "folder_id",
    CT.USER_ATTRIBUTE: "name",
    CT.USER_ATTRIBUTE_VALUE: "user_id",
}
_HAS_CREATED_AT = frozenset({CT.FOLDER, CT.LOOK, CT.DASHBOARD, CT.SCHEDULED_PLAN, CT.BOARD})


#: A user whose email changed (in the identity provider, say) is still recognised:
#: Looker makes the personal folder with the user and never changes it.
_USER_FALLBACK = ("personal_folder_id", "first_name", "last_name")


def identity_fields(content_type: CT) -> tuple[str, ...]:
    """The fields `same_object` reads of a live object (for a `fields=` probe)."""
    key = _NATURAL_KEY[content_type]
    if content_type is CT.USER:
        return (key, *_USER_FALLBACK)
    return ("created_at", key) if content_type in _HAS_CREATED_AT else (key,)


def _natural_key(content_type: CT, data: Mapping[str, object]) -> object:
    if content_type is CT.USER:
        creds = data.get("credentials_email")
        if isinstance(creds, Mapping) and creds.get("email"):
            return creds["email"]
    if content_type is CT.ALERT:
        field = data.get("field")
        watched = field.get("name") if isinstance(field, Mapping) else None
        tile = data.get("dashboard_element_id") or data.get("lookml_link_id")
        return None if tile is None or watched is None else (str(tile), str(watched))
    return data.get(_NATURAL_KEY[content_type])


def same_object(content_type: CT, backup: Mapping[str, object], live: Mapping[str, object]) -> bool:
    """Whether `live` is the object `backup` was taken from.

    Same `created_at` (an instant Looker sets once) when both have one, else
    the same natural key; a user also by the same personal folder and name.
    Without any of these nothing is established: False.
    """
    created, live_created = backup.get("created_at"), live.get("created_at")
    if created is not None and live_created is not None:
        return same(created, live_created)
    key = _natural_key(content_type, backup)
    if key is not None and same(key, _natural_key(content_type, live)):
        return True
    return content_type is CT.USER and backup.get("personal_folder_id") is not None and all(
        same(backup.get(f), live.get(f)) for f in _USER_FALLBACK)
