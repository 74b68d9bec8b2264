"""The fake answers as real Looker instances were recorded answering (looker-api.md, "Recorded from real instances")."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from looker_sdk.sdk.api40 import models as m
from looker_sdk.sdk.api40.methods import Looker40SDK

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.backups import build_backup, sample_items
from lookervault_core.testing.fake_looker import FakeLooker

from .test_fake_looker import DOCS_PREFIX, api, make_sdk

NOT_FOUND = "The resource you're looking for could not be found"


@pytest.fixture
def fake() -> Iterator[FakeLooker]:
    with FakeLooker() as looker:
        yield looker


@pytest.fixture
def http(fake: FakeLooker) -> Iterator[requests.Session]:
    session = requests.Session()
    answer = session.post(f"{fake.base_url}/api/4.0/login",
                          data={"client_id": fake.client_id, "client_secret": fake.client_secret})
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    yield session
    session.close()


@pytest.fixture
def sdk(fake: FakeLooker) -> Iterator[Looker40SDK]:
    client = make_sdk(fake)
    yield client
    client.transport.session.close()  # type: ignore[attr-defined]


def test_a_query_of_a_model_the_instance_lacks_is_404_until_the_model_exists(
    fake: FakeLooker, http: requests.Session
) -> None:
    body = {"model": "thelook", "view": "orders", "fields": ["orders.count"]}
    missing = http.post(api(fake, "/queries"), json=body)
    assert missing.status_code == 404
    assert missing.json() == {"message": NOT_FOUND, "documentation_url": DOCS_PREFIX + "404/post/queries"}
    created = http.post(api(fake, "/lookml_models"), json={"name": "thelook", "project_name": "thelook"})
    assert created.status_code == 200
    query = http.post(api(fake, "/queries"), json=body)
    assert query.status_code == 200
    # Query ids are numeric, with a separate slug (looker-api.md).
    assert query.json()["id"].isdigit() and query.json()["slug"] != query.json()["id"]
    look = http.post(api(fake, "/looks"), json={"title": "x", "folder_id": "1",
                                               "query": {**body, "model": "other"}})
    assert look.status_code == 404


def test_a_loaded_fake_has_the_models_its_backup_names(tmp_path: Path) -> None:
    # A backup without the model configurations still names its queries' models.
    items = [(ct, d) for ct, d in sample_items() if ct not in (CT.LOOKML_MODEL, CT.EXPLORE)]
    backup = build_backup(tmp_path / "b.sqlite", items)
    with FakeLooker() as looker:
        looker.load_backup(backup)
        assert looker.get("lookml_models", "thelook") is not None


def test_a_folder_without_or_with_an_unknown_parent_is_404(fake: FakeLooker, http: requests.Session) -> None:
    for body in ({"name": "x"}, {"name": "x", "parent_id": None}, {"name": "x", "parent_id": "999"}):
        answer = http.post(api(fake, "/folders"), json=body)
        assert answer.status_code == 404, body
        assert answer.json()["message"] == NOT_FOUND


def test_folders_list_the_lookml_dashboards_folder(sdk: Looker40SDK) -> None:
    lookml = [f for f in sdk.all_folders() if f.id == "lookml"]
    assert [(f.name, f.parent_id) for f in lookml] == [("LookML Dashboards", None)]


def test_a_dashboard_slug_taken_even_in_the_trash_is_409_on_create_and_update(
    fake: FakeLooker, http: requests.Session
) -> None:
    first = http.post(api(fake, "/dashboards"), json={"title": "A", "folder_id": "1", "slug": "abcSLUG123"}).json()
    assert first["load_configuration"] == "cache_run"
    http.patch(api(fake, f"/dashboards/{first['id']}"), json={"deleted": True})
    taken = http.post(api(fake, "/dashboards"), json={"title": "B", "folder_id": "1", "slug": "abcSLUG123"})
    assert taken.status_code == 409
    assert taken.json() == {"message": "The resource already exists.",
                            "documentation_url": DOCS_PREFIX + "409/post/dashboards"}
    other = http.post(api(fake, "/dashboards"), json={"title": "B", "folder_id": "1"}).json()
    patched = http.patch(api(fake, f"/dashboards/{other['id']}"), json={"slug": "abcSLUG123"})
    assert patched.status_code == 409
    assert patched.json() == {"message": "The resource already exists.",
                              "documentation_url": DOCS_PREFIX + "409/patch/dashboards/:dashboard_id"}


def test_system_ids_of_another_instance() -> None:
    with FakeLooker(system_ids={"shared": "801", "users": "709", "all_users": "49"}) as looker:
        sdk = make_sdk(looker)
        roots = {f.id: f for f in sdk.all_folders() if f.parent_id is None}
        assert roots["801"].is_shared_root and roots["709"].is_users_root
        assert "1" not in roots and "2" not in roots
        me = sdk.me()
        assert sdk.folder(str(me.personal_folder_id)).parent_id == "709"
        all_users = sdk.group("49")
        assert all_users.name == "All Users" and all_users.externally_managed and all_users.include_by_default
        assert me.group_ids == ["49"]
        user = sdk.create_user(m.WriteUser(first_name="New", last_name="User"))
        assert user.group_ids == ["49"]
        assert sdk.folder(str(user.personal_folder_id)).parent_id == "709"


def test_system_ids_from_the_command_line() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "lookervault_core.testing.fake_looker",
                             "--system-ids", "shared=801,users=709,all_users=49"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        session = requests.Session()
        token = session.post(f"{base_url}/api/4.0/login",
                             data={"client_id": "fake-client-id", "client_secret": "fake-client-secret"}).json()
        session.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert session.get(f"{base_url}/api/4.0/folders/801").json()["is_shared_root"] is True
        assert session.get(f"{base_url}/api/4.0/groups/49").json()["name"] == "All Users"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    bad = subprocess.run([sys.executable, "-m", "lookervault_core.testing.fake_looker", "--system-ids", "shared"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--system-ids" in bad.stderr
