"""The content types of a LookerVault backup: LookerVault's twelve, and this project's own (alerts, access, attributes).

Each type carries LookerVault's integer code (the `content_items.content_type`
column), the SDK models it is read and written as, and the names of the SDK
methods that read, create and update it. Read-only and writable fields are
derived from the SDK's own attrs models — the fields of `Dashboard` absent from
`WriteDashboard` are read-only — so a new SDK release updates them for free.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property

import attr
from looker_sdk.sdk.api40 import models as m

__all__ = ["ContentType", "NestedFields", "TypeSpec", "SPECS", "fields_param", "nested_writable", "spec",
           "writable_fields", "read_only_fields"]

#: Writable fields of nested Write models, by field: {"certification_metadata": ({"notes", ...}, {...})}.
NestedFields = Mapping[str, tuple[frozenset[str], "NestedFields"]]


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
    #: Not LookerVault's: codes from 100 up are this project's own (docs/backup-format.md).
    ALERT = 101
    # LookerVault Restore's own types, outside LookerVault's 1-12 (docs/access-and-attributes.md):
    # LookerVault reads rows by its own codes only, so it never sees these.
    #: One folder's access: content metadata `inherits` and its group/user access records.
    FOLDER_ACCESS = 110
    #: One user attribute definition with its group values and their rank.
    USER_ATTRIBUTE = 111
    #: One user's own user attribute values.
    USER_ATTRIBUTE_VALUE = 112

    @property
    def label(self) -> str:
        """Singular lower-case name, as in messages: `dashboard`, `lookml_model`."""
        return self.name.lower()

    @property
    def in_lookervault(self) -> bool:
        """Whether LookerVault itself has this type (codes 1-12); the others are this project's own."""
        return self.value <= 12

    @property
    def plural(self) -> str:
        """Plural name, used for asset names and CLI arguments: `dashboards`."""
        return "folder_access" if self is ContentType.FOLDER_ACCESS else self.label + "s"

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


def _nested_model(hint: object) -> type | None:
    # Unwrap Optional[...] and Sequence[...] down to an attrs model class, if any.
    for _ in range(4):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if not args:
            break
        hint = args[0]
    return hint if isinstance(hint, type) and attr.has(hint) else None


@cache
def nested_writable(*write_models: type) -> NestedFields:
    """For each field holding a nested Write model, the fields that model lets a client send.

    Looker quirk: nested models have read-only fields of their own (a look's
    `certification_metadata.updated_at` and `.user_name`); a backup's nested
    object is cut down to its Write model's fields, recursively.
    """
    out: dict[str, tuple[frozenset[str], NestedFields]] = {}
    for model in write_models:
        hints = typing.get_type_hints(model, globalns=vars(m))
        for f in attr.fields(model):
            nested = _nested_model(hints.get(f.name))
            if nested is not None and nested is not model:
                out[f.name] = (_field_names(nested), nested_writable(nested))
    return out


def fields_param(model: type, *wanted: str) -> str:
    """A `fields=` value asking for `wanted` plus every field `model` requires.

    Looker quirk (looker-sdk): Looker answers exactly the fields asked for, and
    the SDK cannot deserialise a model without its required fields (a
    `FolderBase` without `name` fails inside cattrs), so every call with
    `fields=` must name them.
    """
    required = [f.name for f in attr.fields(model) if f.default is attr.NOTHING]
    return ",".join(dict.fromkeys([*wanted, *required]))


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
    def nested(self) -> NestedFields:
        """Writable fields of the nested Write models (see `nested_writable`)."""
        return nested_writable(*self.write_models)

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
        return fields_param(self.read_model, self.key_field)

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
        TypeSpec(ContentType.ALERT, m.Alert, (m.WriteAlert,), "get_alert", "create_alert", "update_alert"),
        # Access and attributes: their handlers (restore.folder_access, restore.user_attributes)
        # write through their own calls; `get` is what reads one item's live state.
        TypeSpec(ContentType.FOLDER_ACCESS, m.ContentMeta, (m.WriteContentMeta,), "content_metadata",
                 "create_content_metadata_access", "update_content_metadata"),
        TypeSpec(ContentType.USER_ATTRIBUTE, m.UserAttribute, (m.WriteUserAttribute,), "user_attribute",
                 "create_user_attribute", "update_user_attribute"),
        TypeSpec(ContentType.USER_ATTRIBUTE_VALUE, m.UserAttributeWithValue, (m.WriteUserAttributeWithValue,),
                 "user_attribute_user_values", "set_user_attribute_user_value", "set_user_attribute_user_value"),
    )
}


def spec(content_type: ContentType) -> TypeSpec:
    """The TypeSpec of a content type."""
    return SPECS[content_type]
