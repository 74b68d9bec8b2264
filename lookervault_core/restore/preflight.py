"""Before anything is written: which LookML models the selection needs that Looker lacks.

Content restored before its LookML project is deployed is the commonest failure
of every migration tool (looker-cli #36, #268; looker_deployer #100, #117):
Looker answers each `POST /queries` of such a model with a bare 404. Named up
front, with how many items need each model, it is one deploy away from fixed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from ..backup import BackupReader
from ..content_types import ContentType as CT
from ..errors import LookervaultError
from ..queries import build_query_catalog, models_needed
from .item import as_dict

if TYPE_CHECKING:
    from ..looker import LookerClient

__all__ = ["lacking_models"]

_NEEDS_QUERIES = (CT.LOOK, CT.DASHBOARD, CT.SCHEDULED_PLAN)


def lacking_models(
    client: LookerClient,
    backup: BackupReader,
    keys: Iterable[tuple[CT, str]],
    *,
    lookup: Callable[[str], Mapping[str, object] | None] | None = None,
) -> dict[str, int]:
    """LookML model name → how many of `keys` need it, for models neither Looker nor the selection has.

    A model whose configuration is among `keys` (a `lookml_model` item) is
    restored before what needs it and is not lacking. One listing call, and
    none when nothing needs a model. `lookup` finds a query by its source id
    (default: the backup's query catalog, read once here). Unreadable rows are
    passed over: they fail as their own items.

    Raises:
        LookerApiError: Looker refused the listing of its models.
    """
    keys = list(keys)
    provided = {item_id for ct, item_id in keys if ct is CT.LOOKML_MODEL}
    if lookup is None:
        catalog = build_query_catalog(backup)
        lookup = catalog.get
    needed: Counter[str] = Counter()
    for ct, item_id in keys:
        if ct not in _NEEDS_QUERIES:
            continue
        try:
            data = backup.get(ct, item_id).data
        except LookervaultError:
            continue
        needed.update(models_needed(ct, data, lookup) - provided)
    if not needed:
        return {}
    sdk = client.plain_sdk
    live = {str(as_dict(x).get("name")) for x in client.call(lambda: sdk.all_lookml_models(fields="name"))}
    return {name: n for name, n in sorted(needed.items()) if name not in live}
