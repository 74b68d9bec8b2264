"""Where `looker_url` sends a person: the item's page, on the host and port that serve Looker's pages."""

from __future__ import annotations

import pytest

from lookervault_core.content_types import ContentType as CT
from lookervault_core.restore.pages import page_url, ui_base


@pytest.mark.parametrize(("api", "ui"), [
    # Hosted on AWS before 07/07/2020: the API on 19999, the pages on 443 (Looker's docs, Admin > API).
    ("https://acme.looker.com:19999", "https://acme.looker.com"),
    ("https://Acme.eu.looker.com:19999/", "https://acme.eu.looker.com"),
    # Hosted since, and on Google Cloud: API and pages share the address.
    ("https://acme.cloud.looker.com", "https://acme.cloud.looker.com"),
    ("https://acme.looker.com:443", "https://acme.looker.com:443"),
    # Customer-hosted: the pages' port (9999 by default) is not the API's business; kept as given.
    ("https://looker.corp.example:19999", "https://looker.corp.example:19999"),
    ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
])
def test_the_pages_address_from_the_apis(api: str, ui: str) -> None:
    assert ui_base(api) == ui


def test_a_restored_dashboard_links_to_its_page_not_to_the_api_port() -> None:
    live = {"id": "42", "url": "/dashboards/42"}
    assert page_url("https://acme.looker.com:19999", CT.DASHBOARD, "42", live) == "https://acme.looker.com/dashboards/42"
    assert page_url("https://acme.looker.com:19999", CT.FOLDER, "7", {}) == "https://acme.looker.com/folders/7"
    assert page_url("https://acme.looker.com:19999", CT.DASHBOARD, None, None) is None
