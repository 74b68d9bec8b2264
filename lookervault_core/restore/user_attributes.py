"""Restore of user attributes: definitions with their group values, and users' own values.

Looker quirks:
- attributes are matched by name across instances (names are unique: API
  description, POST /user_attributes; lmanage and looker_deployer match so);
  system attributes (`is_system`) exist everywhere and are never written;
- a hidden attribute's values (`value_is_hidden`) are write-only: Looker
  answers them null, so a backup never holds them and restore never sends
  one, which would wipe it. They are reported instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from looker_sdk.sdk.api40 import models as m
from looker_sdk.sdk.api40.models import DelimSequence

from ..content_types import ContentType as CT
from ..content_types import fields_param
from ..graph import Ref
from .access import _built_in, _live_or_same_name, _named_like
from .item import ItemRun, Payload, as_dict
from .payload import sequence
from .result import Action, RestoreResult

__all__ = ["restore_user_attribute", "restore_user_attribute_values"]

#: UserAttributeWithValue.source of a value set on the user itself (a guess; see snapshot).
_USER_SOURCE = "user"


def _hidden(value: Mapping[str, object]) -> bool:
    return bool(value.get("value_is_hidden")) and value.get("value") is None


def restore_user_attribute(item_run: ItemRun) -> RestoreResult:
    """An attribute's definition, then its values per group in the backup's precedence."""
    sdk, data = item_run.sdk, item_run.data
    fields = fields_param(m.UserAttribute, "id", "name", "is_system")
    search: Callable[[], Sequence[object]] = lambda: sdk.all_user_attributes(fields=fields)  # noqa: E731
    if data.get("is_system"):
        return _built_in(item_run, search, "user attribute")
    live = _live_or_same_name(item_run, sdk.user_attribute, search)
    body = item_run.body()
    if live is not None and live.get("hidden_value_domain_whitelist"):
        # API description, hidden_value_domain_whitelist: "Once set, cannot be edited."
        body.pop("hidden_value_domain_whitelist", None)
    dest = None if live is None else str(live["id"])
    action, dest, after = item_run.upsert(dest, body, get=sdk.user_attribute, create=sdk.create_user_attribute,  # type: ignore[arg-type]
                                          update=sdk.update_user_attribute, live=live,  # type: ignore[arg-type]
                                          find=_named_like(item_run, search))
    if action is not Action.SKIPPED:
        _sync_group_values(item_run, dest)
    return item_run.finish(action, dest, after or live)


def _sync_group_values(item_run: ItemRun, attr_id: str | None) -> None:
    """Put the backup's group values first, in its order; keep other groups' values unless `exact_access`.

    Looker quirk (API description, set_user_attribute_group_values): setting the
    values replaces all of them and the array order is the precedence, so a
    change of order or of groups is one call with the whole list; a changed
    value alone is patched for its group only (update_user_attribute_group_value).
    """
    backup = [v for v in sequence(item_run.data.get("group_values")) if isinstance(v, Mapping)]
    backup.sort(key=lambda v: int(str(v.get("rank") or 0)))
    hidden = [v for v in backup if _hidden(v)]
    if hidden:
        item_run.note(f"{len(hidden)} group value(s) hidden (value_is_hidden): Looker never returns them, "
                      "so the backup has none; left as they are in Looker")
    wanted: list[tuple[str, object]] = []
    for value in backup:
        if _hidden(value):
            continue
        group = item_run.require(Ref(CT.GROUP, str(value.get("group_id")), "group_values.group_id"))
        if group is not None:
            wanted.append((group, value.get("value")))
    if attr_id is None:
        item_run.changed(*(f"group_values[{g}]" for g, _ in wanted))
        return
    sdk = item_run.sdk
    live = [as_dict(v) for v in item_run.call(lambda: sdk.all_user_attribute_group_values(attr_id))]
    wanted_groups = {g for g, _ in wanted}
    exact = item_run.restorer.exact_access
    kept = [(str(v["group_id"]), v.get("value"), _hidden(v)) for v in live
            if str(v["group_id"]) not in wanted_groups and (not exact or _hidden(v))]
    target = [*((g, v, False) for g, v in wanted), *kept]
    current = [(str(v["group_id"]), v.get("value"), _hidden(v)) for v in live]
    if target == current:
        return
    if [t[0] for t in target] == [c[0] for c in current]:
        for (group, text, _), (_, was, _) in zip(target, current, strict=True):
            if text != was:
                item_run.changed(f"group_values[{group}].value")
                item_run.write(functools.partial(sdk.update_user_attribute_group_value, group, attr_id,
                                                 {"value": text}))  # type: ignore[arg-type]
        return
    if any(h for _, _, h in kept):
        # Resending a hidden value would wipe it: patch the backup's groups one by one instead
        # (precedence then is Looker's, not the backup's).
        item_run.note("group precedence left to Looker: other groups hold hidden values that the whole list would wipe")
        for group, text in wanted:
            if (group, text, False) not in current:
                item_run.changed(f"group_values[{group}].value")
                item_run.write(functools.partial(sdk.update_user_attribute_group_value, group, attr_id,
                                                 {"value": text}))  # type: ignore[arg-type]
        return
    item_run.changed("group_values")
    values = [{"group_id": g, "value": v, "rank": i} for i, (g, v, _) in enumerate(target, start=1)]
    item_run.write_raw(lambda: sdk.set_user_attribute_group_values(attr_id, values))  # type: ignore[arg-type]


def restore_user_attribute_values(item_run: ItemRun) -> RestoreResult:
    """A user's own attribute values: set where they differ; hidden ones reported, never sent.

    Values Looker has for attributes the backup does not name are left, with
    `exact_access` too: they are settings, not access.
    """
    sdk, data = item_run.sdk, item_run.data
    user = item_run.require(Ref(CT.USER, str(data.get("user_id")), "user_id"))
    wanted: dict[str, tuple[str, object]] = {}
    for value in sequence(data.get("values")):
        if not isinstance(value, Mapping):
            continue
        name = str(value.get("name") or value.get("user_attribute_id"))
        if _hidden(value):
            item_run.note(f"{name}: hidden value (value_is_hidden); Looker never returns it, so the backup has "
                          "none; left as it is in Looker")
            continue
        attr = item_run.require(Ref(CT.USER_ATTRIBUTE, str(value.get("user_attribute_id")), "values.user_attribute_id"))
        if attr is not None:
            wanted[attr] = (name, value.get("value"))
    if user is None:
        item_run.changed(*(f"values[{n}]" for n, _ in wanted.values()))
        return item_run.finish(Action.WOULD_CREATE, None)
    item_run.remember(CT.USER_ATTRIBUTE_VALUE.label, item_run.source_id, user)
    live: dict[str, Payload] = {}
    if wanted:
        found = item_run.call(lambda: sdk.user_attribute_user_values(user, user_attribute_ids=DelimSequence(list(wanted))))
        live = {str(v.get("user_attribute_id")): v for v in map(as_dict, found) if v.get("source") == _USER_SOURCE}
    for attr, (name, value) in wanted.items():
        if attr in live and live[attr].get("value") == value:
            continue
        item_run.changed(f"values[{name}]")
        item_run.write(functools.partial(sdk.set_user_attribute_user_value, user, attr, {"value": value}))  # type: ignore[arg-type]
    return item_run.finish(Action.UNCHANGED, user)
