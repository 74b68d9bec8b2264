"""`lookervault restore --validate` and `lookervault validate`: the content check in the CLI report."""

from __future__ import annotations

import json
from pathlib import Path

from lookervault_core.testing.fake_looker import FakeLooker

from .test_cli import env, lookervault, pytestmark  # noqa: F401  (the fixture and the integration mark)


def test_restore_validate_passes_then_a_bad_deploy_is_listed_per_item(
    env: tuple[FakeLooker, dict[str, str], Path],  # noqa: F811
) -> None:
    fake, environ, backup = env
    fake.remove("looks", "201")
    restored = lookervault(environ, "restore", "--backup", str(backup), "--types", "looks", "--validate")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "content validation: no restored content has errors" in restored.stdout

    # A LookML deploy after the restore drops the explore the looks query.
    fake.put("lookml_models", {**fake.get("lookml_models", "thelook"), "explores": []})  # type: ignore[dict-item]
    fake.remove("explores", "thelook::orders")
    fake.remove("lookml_models", "thelook")
    found = lookervault(environ, "validate", "--backup", str(backup))
    assert found.returncode == 1, found.stdout + found.stderr
    assert 'look 201 "Orders by Month"' in found.stdout and 'Unknown model "thelook".' in found.stdout
    report = json.loads(lookervault(environ, "validate", "--backup", str(backup), "--json").stdout)
    assert {(e["content_type"], e["id"]) for e in report["content_errors"]} >= {("looks", "201"), ("looks", "202")}
