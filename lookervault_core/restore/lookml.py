"""Restore of LookML model configurations; verification of explores."""

from __future__ import annotations

from ..errors import NotFound, UnrestorableItem
from .item import ItemRun
from .payload import body_from
from .result import Action, RestoreResult

__all__ = ["restore_lookml_model", "verify_explore"]


def restore_lookml_model(item_run: ItemRun) -> RestoreResult:
    """A model configuration, keyed by name (the LookML itself lives in its project's git)."""
    sdk = item_run.sdk
    body = body_from(item_run.data, item_run.spec.writable)
    name = str(item_run.data.get("name") or item_run.source_id)
    action, dest, after = item_run.upsert(name, body, get=sdk.lookml_model, create=sdk.create_lookml_model,  # type: ignore[arg-type]
                                     update=sdk.update_lookml_model,  # type: ignore[arg-type]
                                     find=lambda: item_run.get(lambda: sdk.lookml_model(name)))
    return item_run.finish(action, dest, after)


def verify_explore(item_run: ItemRun) -> RestoreResult:
    """Check that the explore exists; explores come from deployed LookML and cannot be created.

    Raises:
        UnrestorableItem: the explore is not in Looker.
    """
    model = str(item_run.data.get("model_name") or item_run.source_id.partition("::")[0])
    explore = str(item_run.data.get("name") or item_run.source_id.partition("::")[2])
    try:
        item_run.call(lambda: item_run.sdk.lookml_model_explore(model, explore, fields="name"))
    except NotFound as exc:
        raise UnrestorableItem(
            item_run.content_type.label, item_run.source_id,
            f"explore {explore} of model {model} does not exist in Looker; explores are defined by "
            "deployed LookML and cannot be created through the API",
        ) from exc
    item_run.note("explore exists; verified")
    return item_run.finish(Action.UNCHANGED, f"{model}::{explore}")
