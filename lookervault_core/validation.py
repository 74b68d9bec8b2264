"""Does restored content work? Looker's content validator, narrowed to what this backup restored.

A look or tile restores cleanly and still shows an error when its LookML model,
explore or field is gone: a project not deployed yet, a renamed explore, a bad
deploy after the restore. Looker's content validator (`GET /content_validation`)
finds those; this module calls it once and keeps the findings about items of
the backup, named by their backup id and title.

How its answer is read follows spectacles' ContentValidator
(spectacles/validators/content.py, which reads the same endpoint): an entry
names its look or its dashboard (with the tile or filter), entries naming
neither are passed over, and a look or dashboard may be gone (`folder` null).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .backup import BackupReader
from .content_types import ContentType as CT
from .idmap import IdMap
from .looker import LookerClient
from .restore.item import as_dict
from .titles import Titles

__all__ = ["VALIDATED_TYPES", "BrokenItem", "ContentCheck", "validate_restored"]

#: What the validator reports on, of the types restore writes.
VALIDATED_TYPES = (CT.LOOK, CT.DASHBOARD)


@dataclass(frozen=True)
class BrokenItem:
    """One restored look or dashboard that Looker's content validator finds errors in."""

    content_type: CT
    source_id: str
    looker_id: str
    title: str
    #: Each error as `tile "Revenue": Unknown explore "orders".` (the part is left out for a look).
    errors: tuple[str, ...]

    def describe(self) -> str:
        """`look 201 "Orders by Month" (Looker 7): Unknown model "thelook".`"""
        return f'{self.content_type.label} {self.source_id} "{self.title}" (Looker {self.looker_id}): ' + \
            "; ".join(self.errors)


@dataclass(frozen=True)
class ContentCheck:
    """The validator's findings about this backup's items, per type."""

    broken: dict[CT, list[BrokenItem]]
    #: Entries about content this backup did not restore (left out of `broken`).
    others: int
    computation_time: float

    def of(self, ct: CT) -> list[BrokenItem]:
        """The broken items of one type, by backup id."""
        return self.broken.get(ct, [])


def _part(entry: Mapping[str, object]) -> str:
    for key, label in (("dashboard_element", "tile"), ("dashboard_filter", "filter")):
        part = entry.get(key)
        if isinstance(part, Mapping):
            return f'{label} "{part.get("title") or part.get("name") or part.get("id")}": '
    return ""


def _messages(entry: Mapping[str, object]) -> list[str]:
    errors = entry.get("errors")
    part = _part(entry)
    return [f"{part}{e.get('message')}" for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []


def _sources(idmap: IdMap, ct: CT, backup_ids: Iterable[str]) -> dict[str, str]:
    """Looker id → backup id of each backup item of `ct` restore has put in Looker (mapped, or kept on the same instance)."""
    out: dict[str, str] = {}
    for source_id in backup_ids:
        dest = idmap.resolve(ct.label, source_id)
        if dest is not None:
            out[dest] = source_id
    return out


def validate_restored(client: LookerClient, backup: BackupReader, idmap: IdMap,
                      types: Sequence[CT] = VALIDATED_TYPES) -> ContentCheck:
    """Run Looker's content validator once and keep what it says about the backup's items of `types`.

    One API call, however much content: on a large instance Looker may take
    minutes to answer (it validates everything), which is why it is a step of
    its own, run on demand.

    Raises:
        LookerApiError: Looker refused the validation.
    """
    sdk = client.plain_sdk
    answer = as_dict(client.call(lambda: sdk.content_validation()))
    titles = Titles(backup)
    sources = {ct: _sources(idmap, ct, backup.ids(ct)) for ct in types}
    found: dict[CT, dict[str, list[str]]] = {ct: {} for ct in types}
    others = 0
    entries = answer.get("content_with_errors")
    for entry in entries if isinstance(entries, list) else []:
        # spectacles: an entry is about a look or a dashboard; any other (an alert, a
        # LookML dashboard, a schedule) has neither and is not restored content here.
        ct = CT.LOOK if isinstance(entry.get("look"), Mapping) else \
            CT.DASHBOARD if isinstance(entry.get("dashboard"), Mapping) else None
        content = entry.get("look") or entry.get("dashboard")
        source_id = sources[ct].get(str(content.get("id"))) if ct in sources and isinstance(content, Mapping) \
            else None
        if ct is None or source_id is None:
            others += 1
            continue
        found[ct].setdefault(source_id, []).extend(_messages(entry))
    broken: dict[CT, list[BrokenItem]] = {}
    for ct, by_source in found.items():
        named = titles.of(ct, by_source)
        looker_ids = {s: d for d, s in sources[ct].items()}
        broken[ct] = [BrokenItem(ct, sid, looker_ids[sid], named[sid].title if sid in named else "",
                                 tuple(dict.fromkeys(msgs)))
                      for sid, msgs in sorted(by_source.items(), key=lambda kv: (len(kv[0]), kv[0]))]
    elapsed = answer.get("computation_time")
    return ContentCheck(broken, others, float(elapsed) if isinstance(elapsed, (int, float)) else 0.0)
