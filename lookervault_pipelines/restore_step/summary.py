"""Summaries of restore runs, read from their events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from lookervault_core.content_types import ContentType
from lookervault_core.restore import Action
from lookervault_core.restore.second_pass import Key, parse_deferred_labels

from .execution import ALREADY_RECORDED, API_ESTIMATE, SKIPPED_MODIFIED, STALE
from .recorded import RE_RECORDED_BY

__all__ = ["EventRecord", "RunSummary", "item_name", "summarize", "summarize_events", "totals"]



def item_name(ct: ContentType, key: str, title: str = "", folder: str = "") -> str:
    """`dashboard 101 "Sales Overview" (Sales)`: an item as people look for it; its title when known."""
    return f"{ct.label} {key}" + (f' "{title}"' if title else "") + (f" ({folder})" if folder else "")


@dataclass
class RunSummary:
    """Counts per action of one run, its failed keys, and the run's own error if it died."""

    content_type: ContentType
    run_id: str
    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failed_keys: list[str] = field(default_factory=list)
    #: Items written without a soft reference, and the items each left out (see second_pass.py).
    deferred: dict[str, tuple[Key, ...]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: The title and folder path of each failed key, as its failure recorded them.
    titles: dict[str, tuple[str, str]] = field(default_factory=dict)
    run_error: str = ""
    #: Set when the run's failed items were tried again by later runs, whose outcome counts instead.
    note: str = ""
    #: What happened to each key that has an event of its own (unchanged items may have none).
    actions: dict[str, str] = field(default_factory=dict)
    #: A run restoring again items that were written before what they softly reference (see `totals`).
    second_pass: bool = False
    #: A dry run's estimate of the API calls the real restore of its keys makes (execution.record_estimate).
    estimated_calls: int = 0

    @property
    def failed(self) -> bool:
        return not self.success or bool(self.failed_keys)

    def as_dict(self) -> dict[str, object]:
        return {
            "content_type": self.content_type.plural, "run_id": self.run_id, "success": self.success,
            "counts": self.counts, "failed": self.errors, "run_error": self.run_error,
            **({"note": self.note} if self.note else {}), **({"second_pass": True} if self.second_pass else {}),
        }

    def line(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.counts.items() if v) or "nothing"
        text = f"{self.content_type.plural}: {counts} (run {self.run_id[:8]})"
        if self.note:
            text += f"; {self.note}"
        if self.second_pass:
            text += "; again, to set references to items restored after them"
        # Each failed item is listed once, at the end of the command's output (`failed_items`).
        if self.run_error and not self.errors:
            text += f"\n  RUN FAILED: {self.run_error}"
        return text


def _text(value: object) -> str:
    return str(getattr(value, "value", value))


#: One materialization or observation of a run: its partition and its metadata (values, or MetadataValues).
EventRecord = tuple[str | None, Mapping[str, object]]


def summarize(ct: ContentType, result: dg.ExecuteInProcessResult) -> RunSummary:
    """Counts of created/updated/unchanged/skipped/failed items in one finished run."""
    node = next(iter(n.name for n in result.job_def.nodes))
    failures = result.get_step_failure_events()
    return summarize_events(
        ct, result.run_id, result.success,
        [(m.partition, m.metadata) for m in result.asset_materializations_for_node(node)],
        [(o.partition, o.metadata) for o in result.asset_observations_for_node(node)],
        (failures[0].message or "step failed") if failures else "",
    )


def summarize_events(ct: ContentType, run_id: str, success: bool, materializations: Sequence[EventRecord],
                     observations: Sequence[EventRecord], run_error: str = "") -> RunSummary:
    """The same summary from a run's events as any reader has them (in process, or through GraphQL)."""
    summary = RunSummary(ct, run_id, success)
    summary.counts = {a.value: 0 for a in Action} | {"failed": 0}
    for partition, meta in materializations:
        action = _text(meta.get("action", "unknown"))
        if partition is not None:
            summary.actions[partition] = action
        if _text(meta.get(RE_RECORDED_BY, "")) == run_id:
            continue  # unchanged, and counted in the run's ALREADY_RECORDED observation
        summary.counts[action] = summary.counts.get(action, 0) + 1
        if "deferred" in meta and partition is not None:
            labels = getattr(meta["deferred"], "value", meta["deferred"])
            summary.deferred[partition] = parse_deferred_labels(labels if isinstance(labels, list) else [])
    for partition, meta in observations:
        status = _text(meta.get("status", ""))
        if status == "failed" and partition is not None:
            summary.counts["failed"] += 1
            summary.failed_keys.append(partition)
            summary.errors[partition] = f"{_text(meta.get('error_type'))}: {_text(meta.get('error'))}"
            summary.titles[partition] = (_text(meta.get("title", "")), _text(meta.get("folder", "")))
        elif status == ALREADY_RECORDED:
            # Unchanged items whose standing materialization was made from this backup: counted, no event each.
            summary.counts[Action.UNCHANGED.value] += int(_text(meta.get("count", 0)))
        elif status == API_ESTIMATE:
            summary.estimated_calls += int(_text(meta.get("calls", 0)))
        elif status == STALE:
            summary.counts[STALE] = summary.counts.get(STALE, 0) + 1
        elif status in ("dry_run", SKIPPED_MODIFIED):
            action = _text(meta.get("action", "unknown"))
            summary.counts[action] = summary.counts.get(action, 0) + 1
            if partition is not None:
                summary.actions[partition] = action
    summary.run_error = run_error
    return summary


#: A later action that does not replace the first one in the totals: an item created, then updated.
_KEEPS_FIRST = {Action.CREATED.value: {Action.UPDATED.value, Action.UNCHANGED.value},
                Action.WOULD_CREATE.value: {Action.WOULD_UPDATE.value, Action.UNCHANGED.value},
                Action.UPDATED.value: {Action.UNCHANGED.value}}


def totals(summaries: Sequence[RunSummary]) -> dict[str, int]:
    """Items per outcome, each item counted once.

    A second pass restores again items the first one wrote before something
    they softly reference (a user before its home folder): its outcome
    replaces the first one's (an unchanged user whose home folder is set now
    was updated; a failure fails the item), except that an item created and
    then updated was created.
    """
    out: dict[str, int] = {}
    first: dict[tuple[ContentType, str], str] = {}
    for s in summaries:
        if s.second_pass:
            continue
        for k, v in s.counts.items():
            out[k] = out.get(k, 0) + v
        first.update({(s.content_type, key): action for key, action in s.actions.items()})
    for s in summaries:
        if not s.second_pass:
            continue
        later = {**s.actions, **dict.fromkeys(s.failed_keys, "failed")}
        for key, action in later.items():
            before = first.get((s.content_type, key), Action.UNCHANGED.value)
            if action == before or action in _KEEPS_FIRST.get(before, ()):
                continue
            out[before] = out.get(before, 0) - 1
            out[action] = out.get(action, 0) + 1
    return out
