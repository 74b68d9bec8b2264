"""Restore of LookML model configurations; verification of explores."""

from __future__ import annotations

from ..errors import NotFound, UnrestorableItem
from .item import ItemRun
from .payload import body_from
from .result import Action, RestoreResult

__all__ = ["restore_lookml_model", "verify_explore"]


def restore_lookml_model(run: ItemRun) -> RestoreResult:
    """A model configuration, keyed by name (the LookML itself lives in its project's git)."""
    sdk = run.sdk
    body = body_from(run.data, run.spec.writable)
    name = str(run.data.get("name") or run.source_id)
    action, dest, after = run.upsert(name, body, get=sdk.lookml_model, create=sdk.create_lookml_model,  # type: ignore[arg-type]
                                     update=sdk.update_lookml_model,  # type: ignore[arg-type]
                                     find=lambda: run.get(lambda: sdk.lookml_model(name)))
    return run.finish(action, dest, after)


def verify_explore(run: ItemRun) -> RestoreResult:
    """Check that the explore exists; explores come from deployed LookML and cannot be created.

    Raises:
        UnrestorableItem: the explore is not in Looker.
    """
    model = str(run.data.get("model_name") or run.source_id.partition("::")[0])
    explore = str(run.data.get("name") or run.source_id.partition("::")[2])
    try:
        run.call(lambda: run.sdk.lookml_model_explore(model, explore, fields="name"))
    except NotFound as exc:
        raise UnrestorableItem(
            run.content_type.label, run.source_id,
            f"explore {explore} of model {model} does not exist in Looker; explores are defined by "
            "deployed LookML and cannot be created through the API",
        ) from exc
    run.note("explore exists; verified")
    return run.finish(Action.UNCHANGED, f"{model}::{explore}")
