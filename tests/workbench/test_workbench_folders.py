"""The library preview reads only the folders the operator listed in NERVE_CDS_WORKBENCH_LIBRARIES:
a path typed into the form is resolved (symlinks, `..`) before it is compared, and anything
else is a 403 that names the setting, never a look at the server's disk."""
from __future__ import annotations

import shutil

import pytest

from cds_service.core.settings import Settings, SettingsError
from tests.helpers.apps import new_app
from tests.helpers.paths import CARDS
from tests.helpers.workbench import dev_settings


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    """allowed/ (the operator's folder) and outside/, each holding a valid card library and a
    request folder; allowed/ also holds links that lead outside."""
    root = tmp_path_factory.mktemp("folders")
    for place in ("allowed", "outside"):
        shutil.copytree(CARDS, root / place / "cards")
        (root / place / "requests").mkdir()
        (root / place / "requests" / "r.json").write_text("{}")
    (root / "allowed" / "link-out").symlink_to(root / "outside" / "cards", target_is_directory=True)
    (root / "allowed" / "link-up").symlink_to(root, target_is_directory=True)
    return root


def client(tmp_path, *roots):
    return new_app(dev_settings(tmp_path, workbench_libraries=tuple(roots))).test_client()


def diff(test_client, candidate, requests=""):
    response = test_client.get("/workbench/diff", query_string={"candidate": str(candidate), "requests": str(requests)})
    return response.status_code, response.get_data(as_text=True)


def test_a_candidate_inside_an_allowed_folder_is_previewed(tmp_path, disk):
    status, page = diff(client(tmp_path, disk / "allowed"), disk / "allowed" / "cards")
    assert status == 200 and 'id="verdict"' in page and 'id="matrix"' in page


@pytest.mark.parametrize("candidate", [
    "{root}/outside/cards",                 # absolute, elsewhere
    "{root}/allowed/../outside/cards",      # climbs out
    "{root}/allowed/cards/../../outside/cards",
    "{root}/allowed/link-out",              # a symlink inside that leads outside
    "{root}/allowed/link-up/outside/cards",
    "{root}",                               # the parent of the allowed folder
    "/etc",
    "/",
    "outside/cards",                        # relative: from the service's working folder, not from allowed/
    "{root}/allowed/no-such-folder",        # missing: the same answer as forbidden
    "{root}/allowed/cards/services.yaml",   # a file, not a folder
    "{root}/allowed\x00/cards",
    "{root}/" + "x" * 5000,
])
def test_anything_else_is_refused_with_the_setting_named(tmp_path, disk, candidate):
    status, page = diff(client(tmp_path, disk / "allowed"), candidate.format(root=disk))
    assert status == 403
    assert "candidate card library: not a folder inside NERVE_CDS_WORKBENCH_LIBRARIES" in page
    assert str(disk / "allowed") in page  # the analyst is told where candidates may live
    assert 'id="verdict"' not in page


def test_the_request_folder_is_held_to_the_same_folders(tmp_path, disk):
    test_client = client(tmp_path, disk / "allowed")
    status, page = diff(test_client, disk / "allowed" / "cards", disk / "outside" / "requests")
    assert status == 403 and "request files folder: not a folder inside NERVE_CDS_WORKBENCH_LIBRARIES" in page
    status, page = diff(test_client, disk / "allowed" / "cards", disk / "allowed" / "link-up" / "outside" / "requests")
    assert status == 403


def test_without_the_setting_no_folder_is_read(tmp_path, disk):
    status, page = diff(client(tmp_path), disk / "allowed" / "cards")
    assert status == 403 and "until the operator sets NERVE_CDS_WORKBENCH_LIBRARIES" in page


def test_the_setting_is_a_comma_separated_list_of_existing_absolute_folders(tmp_path, disk):
    settings = Settings.from_env({"NERVE_CDS_WORKBENCH_LIBRARIES": f"{disk / 'allowed'}, {disk / 'outside'}"})
    assert settings.workbench_libraries == (disk / "allowed", disk / "outside")
    for wrong in (str(disk / "missing"), "relative/cards", str(disk / "allowed" / "cards" / "services.yaml")):
        with pytest.raises(SettingsError, match="NERVE_CDS_WORKBENCH_LIBRARIES"):
            Settings.from_env({"NERVE_CDS_WORKBENCH_LIBRARIES": wrong})
