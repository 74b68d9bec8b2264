"""`lookervault restore --dry-run` estimates the API calls the real restore then makes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from lookervault_core.testing.fake_looker import FakeLooker

from .test_cli import SAMPLE, lookervault, pytestmark  # noqa: F401  (the integration mark)

#: Measured: +1% into a new instance (104 estimated, 103 made), +12% repairing the backup's own
#: instance (83, 74: a dry run reads a dashboard's queries that the restore then reads too).
TOLERANCE = 0.2


def _api_calls(fake: FakeLooker) -> int:
    return len([r for r in fake.requests if not r.path.endswith(("/login", "/logout"))])


def test_the_dry_run_estimate_is_within_20_percent_of_the_calls_the_restore_makes(tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite"
    shutil.copy(SAMPLE, backup)
    with FakeLooker(strict=True, first_id=5000) as fake:
        # A new instance with the LookML project deployed.
        fake.put("lookml_models", {"name": "thelook", "project_name": "thelook",
                                   "explores": [{"name": "orders", "label": "Orders", "hidden": False}]})
        environ = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"), "LOOKERSDK_BASE_URL": fake.base_url,
                   "LOOKERSDK_CLIENT_ID": fake.client_id, "LOOKERSDK_CLIENT_SECRET": fake.client_secret}
        args = ("restore", "--backup", str(backup), "--source-instance", "prod", "--json")
        dry = lookervault(environ, *args, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        estimate = json.loads(dry.stdout)["estimated_api_calls"]
        assert estimate["by_type"]["dashboards"] > 0 and estimate["total"] == sum(estimate["by_type"].values())

        fake.clear_requests()
        real = lookervault(environ, *args)
        assert real.returncode == 0, real.stderr
        made = _api_calls(fake)
        assert abs(estimate["total"] - made) <= TOLERANCE * made, (estimate, made)
