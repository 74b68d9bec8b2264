"""The twelve content types of a LookerVault backup.

Each type carries LookerVault's integer code (the `content_items.content_type`
column), the SDK models it is read and written as, and the names of the SDK
methods that read, create and update it. Read-only and writable fields are
derived from the SDK's own attrs models — the fields of `Dashboard` absent from
`WriteDashboard` are read-only — so a new SDK release updates them for free.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property

import attr
from looker_sdk.sdk.api40 import models as m

__all__ = ["ContentType", "TypeSpec", "SPECS", "spec", "writable_fields", "read_only_fields"]


class ContentType(enum.IntEnum):
    """LookerVault's content type codes (backup-format.md)."""

    DASHBOARD = 1
    LOOK = 2
    LOOKML_MODEL = 3
    EXPLORE = 4
    FOLDER = 5
    BOARD = 6
    USER = 7
    GROUP = 8
    ROLE = 9
    PERMISSION_SET = 10
    MODEL_SET = 11
    SCHEDULED_PLAN = 12

    @property
    def label(self) -> str:
        """Singular lower-case name, as in messages: `dashboard`, `lookml_model`."""
        return self.name.lower()

    @property
    def plural(self) -> str:
        """Plural name, used for asset names and CLI arguments: `dashboards`."""
        return self.label + "s"

    @classmethod
    def parse(cls, text: str) -> ContentType:
        """Accept `dashboard`, `dashboards`, `DASHBOARD` or the code `1`."""
        t = text.strip().lower()
        if t.isdigit():
            return cls(int(t))
        for ct in cls:
            if t in (ct.label, ct.plural):
                return ct
        raise ValueError(f"unknown content type {text!r}; expected one of {', '.join(c.plural for c in cls)}")


def _field_names(model: type) -> frozenset[str]:
    return frozenset(f.name for f in attr.fields(model))


def writable_fields(*write_models: type) -> frozenset[str]:
    """Fields the SDK lets a client send, as the union of the given Write models."""
    out: frozenset[str] = frozenset()
    for model in write_models:
        out |= _field_names(model)
    return out


def read_only_fields(read_model: type, *write_models: type) -> frozenset[str]:
    """Fields of the read model that no Write model has."""
    return _field_names(read_model) - writable_fields(*write_models)


@dataclass(frozen=True)
class TypeSpec:
    """How one content type is read, written and keyed."""

    content_type: ContentType
    read_model: type
    write_models: tuple[type, ...]
    get: str
    create: str | None
    update: str | None
    #: The field that identifies an object in Looker: `id`, or `name` for LookML models.
    key_field: str = "id"
    #: Nested objects the SDK accepts on write but that restore sends by id instead.
    #: Looker quirk: a read dashboard's `folder` would otherwise be sent back as a
    #: WriteFolderBase and rename the folder.
    nested_dropped: frozenset[str] = frozenset()

    @cached_property
    def writable(self) -> frozenset[str]:
        """Fields restore may send, derived from the SDK's Write models."""
        return writable_fields(*self.write_models) - self.nested_dropped

    @cached_property
    def read_only(self) -> frozenset[str]:
        """Fields of the read model that Looker ignores on write."""
        return read_only_fields(self.read_model, *self.write_models)

    @cached_property
    def probe_fields(self) -> str:
        """The smallest `fields=` that still deserialises: the key plus required fields.

        Looker quirk (looker-sdk): a Folder without `name` fails inside cattrs,
        so an existence check cannot ask for `id` alone.
        """
        required = [f.name for f in attr.fields(self.read_model) if f.default is attr.NOTHING]
        return ",".join(dict.fromkeys([self.key_field, *required]))

    @property
    def restorable(self) -> bool:
        """Whether restore can create or update this type (explores cannot)."""
        return self.create is not None


_FOLDER_REFS = frozenset({"folder"})

SPECS: dict[ContentType, TypeSpec] = {
    s.content_type: s
    for s in (
        TypeSpec(ContentType.PERMISSION_SET, m.PermissionSet, (m.WritePermissionSet,),
                 "permission_set", "create_permission_set", "update_permission_set"),
        TypeSpec(ContentType.MODEL_SET, m.ModelSet, (m.WriteModelSet,),
                 "model_set", "create_model_set", "update_model_set"),
        TypeSpec(ContentType.ROLE, m.Role, (m.WriteRole,), "role", "create_role", "update_role",
                 nested_dropped=frozenset({"permission_set", "model_set"})),
        TypeSpec(ContentType.GROUP, m.Group, (m.WriteGroup,), "group", "create_group", "update_group"),
        TypeSpec(ContentType.USER, m.User, (m.WriteUser,), "user", "create_user", "update_user",
                 nested_dropped=frozenset({"credentials_email"})),
        TypeSpec(ContentType.LOOKML_MODEL, m.LookmlModel, (m.WriteLookmlModel,), "lookml_model",
                 "create_lookml_model", "update_lookml_model", key_field="name"),
        TypeSpec(ContentType.EXPLORE, m.LookmlModelExplore, (), "lookml_model_explore", None, None,
                 key_field="name"),
        TypeSpec(ContentType.FOLDER, m.Folder, (m.CreateFolder, m.UpdateFolder), "folder",
                 "create_folder", "update_folder"),
        TypeSpec(ContentType.LOOK, m.LookWithQuery, (m.WriteLookWithQuery,), "look", "create_look",
                 "update_look", nested_dropped=_FOLDER_REFS | {"query"}),
        TypeSpec(ContentType.DASHBOARD, m.Dashboard, (m.WriteDashboard,), "dashboard",
                 "create_dashboard", "update_dashboard", nested_dropped=_FOLDER_REFS),
        TypeSpec(ContentType.SCHEDULED_PLAN, m.ScheduledPlan, (m.WriteScheduledPlan,),
                 "scheduled_plan", "create_scheduled_plan", "update_scheduled_plan"),
        TypeSpec(ContentType.BOARD, m.Board, (m.WriteBoard,), "board", "create_board", "update_board"),
    )
}


def spec(content_type: ContentType) -> TypeSpec:
    """The TypeSpec of a content type."""
    return SPECS[content_type]
