"""Every request restore sends validates against the official Looker API 4.0 description."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_core.testing.spec_check import find_spec, validate_requests

from .test_restore import all_keys, deploy_lookml, dest_of
from lookervault_core.testing.backups import sample_items

SPEC = find_spec()


@pytest.mark.skipif(SPEC is None, reason="shared/looker-api/Looker.4.0.oas.json not found beside the repo")
def test_requests_of_create_update_and_noop_restores_match_the_spec(
    fake: FakeLooker, sample_backup: Path, make_restorer: Callable[..., Restorer]
) -> None:
    assert SPEC is not None
    restorer = make_restorer(sample_backup)
    keys = all_keys(restorer.backup)
    restore_many(restorer, keys, workers=4)
    deploy_lookml(fake)
    for ct, data in sample_items():
        if ct in (CT.EXPLORE, CT.LOOKML_MODEL) or data.get("built_in"):
            continue
        live = fake.get(ct.plural, dest_of(restorer.idmap, ct, data))
        if live is not None:
            field = "name" if "name" in live and ct is not CT.USER else "title" if "title" in live else "first_name"
            fake.put(ct.plural, {**live, field: f"edited {live.get(field)}"})
    restore_many(restorer, keys, workers=4)
    restore_many(restorer, keys, workers=4)
    sent = [r for r in fake.requests if r.path != "/login"]
    methods = {r.method for r in sent}
    assert {"GET", "POST", "PATCH", "PUT"} <= methods, methods
    problems = validate_requests(SPEC, sent)
    assert problems == []
