"""The host we check is the host we call: a fhirServer (or a `next` link) that the allowlist check
and the HTTP client could read differently is refused before anything is sent, the access token
goes only to the checked origin, and no spelling of a URL makes the service answer 500.

Two real servers on loopback: the allowlisted FHIR server, and a bystander that records any request
it gets and must never get one."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core.settings import Settings
from cds_service.web.trust import TrustError, load_trust
from tests.helpers.apps import new_app, shipped_library
from tests.helpers.fault_servers import ByPath, Bystander

SERVICE = "/cds-services/nerve-cds-patient-view"
PID = "url-1"
TOKEN = "tok-must-stay-home"
OTHER_KEYS = tuple(k for k in shipped_library().service("nerve-cds-patient-view").prefetch if k != "patient")


@pytest.fixture(scope="module")
def servers():
    with ByPath({"Patient/": {"resourceType": "Patient", "id": PID}}) as allowed, Bystander() as bystander:
        yield allowed, bystander


@pytest.fixture(scope="module")
def client(servers, tmp_path_factory):
    allowed, _ = servers
    folder = tmp_path_factory.mktemp("url")
    settings = Settings(dev=True, auth_enabled=False, database_url=f"sqlite:///{folder}/fb.db",
                        fhir_allowlist=(allowed.base_url,), fhir_connect_timeout=0.5, fhir_read_timeout=1.0,
                        fhir_deadline=2.0, log_level="WARNING")
    return new_app(settings).test_client()


@pytest.fixture(autouse=True)
def forget(servers):
    allowed, bystander = servers
    allowed.count = 0
    bystander.seen.clear()


def hook_call(fhir_server, observations=None):
    """Everything prefetched but the Patient, so the service must read it from `fhirServer`."""
    prefetch = {key: None for key in OTHER_KEYS}
    if observations is not None:
        prefetch["observations"] = observations
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_server,
            "context": {"userId": "Practitioner/dr-a", "patientId": PID}, "prefetch": prefetch,
            "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                  "scope": "patient/*.read", "subject": "nerve-cds"}}


def paged(next_url):
    return {"resourceType": "Bundle", "type": "searchset", "entry": [],
            "link": [{"relation": "next", "url": next_url}]}


def assert_refused(response):
    assert 400 <= response.status_code < 500, response.data[:300]
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_the_allowlisted_server_gets_the_token(client, servers):
    allowed, bystander = servers
    response = client.post(SERVICE, json=hook_call(allowed.base_url))
    assert response.status_code == 200, response.data[:300]
    assert allowed.count == 1 and bystander.seen == []


def test_a_backslash_in_the_authority_does_not_send_the_token_elsewhere(client, servers):
    allowed, bystander = servers
    # urllib.parse reads host 127.0.0.1:<allowed>; requests/urllib3 read 127.0.0.1:<bystander>
    confusable = f"http://127.0.0.1:{bystander.port}\\@127.0.0.1:{allowed.port}/fhir"
    response = client.post(SERVICE, json=hook_call(confusable))
    assert bystander.seen == [], "the bystander was called (with the access token)"
    assert_refused(response)
    assert "fhirServer" in response.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("fhir_server", ["http://[::1", "http://127.0.0.1:99999/fhir", "http://127.0.0.1:0/fhir",
                                         "http://[127.0.0.1]/fhir", "http://127.0.0.1:80:80/fhir"])
def test_a_fhir_server_no_parser_can_read_is_a_4xx(client, servers, fhir_server):
    assert_refused(client.post(SERVICE, json=hook_call(fhir_server)))
    assert servers[1].seen == []


@pytest.mark.parametrize("link", [
    "http://127.0.0.1:{other}/fhir/Observation?page=2",
    "http://localhost:{allowed}/fhir/Observation?page=2",  # same machine, another spelling: another origin
    "http://127.0.0.1:{other}\\@127.0.0.1:{allowed}/fhir/Observation?page=2",
    "http://127.0.0.1:{allowed}@127.0.0.1:{other}/fhir/Observation?page=2",
    "//127.0.0.1:{other}/fhir/Observation?page=2",
    "http://127.0.0.1:{allowed}/fhir/../../Observation?page=2",  # outside the allowlisted path
])
def test_a_next_link_off_the_checked_server_is_not_followed(client, servers, link):
    allowed, bystander = servers
    link = link.format(allowed=allowed.port, other=bystander.port)
    response = client.post(SERVICE, json=hook_call(allowed.base_url, paged(link)))
    assert bystander.seen == []
    assert allowed.count == 1  # the Patient read; the page is not fetched
    assert response.status_code == 412, response.data[:300]
    assert "observations" in response.get_json()["issue"][0]["diagnostics"]


def test_a_next_link_on_the_checked_server_is_followed_with_the_token(client, servers):
    allowed, bystander = servers
    response = client.post(SERVICE, json=hook_call(allowed.base_url, paged(f"{allowed.base_url}/Observation?page=2")))
    assert response.status_code == 200, response.data[:300]
    assert allowed.count == 2 and bystander.seen == []


# ---- generated confusable URLs --------------------------------------------------------------
# Placeholders for the two ports, filled in once the servers run.
ALLOWED, OTHER = "PORTA", "PORTB"
SCHEMES = ["http", "HTTP", "hTTp", "https", "http:", "http:/", "ftp", "http\t", " http"]
LOOPBACK = ["127.0.0.1", "localhost", "LocalHost", "LOCALHOST", "127.0.0.1.", "localhost.", "localhost..",
            "[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::1%25lo]", "[::1", "::1", "127.1", "127.0.1",
            "0x7f.0.0.1", "0x7f000001", "0177.0.0.1", "2130706433", "127.000.000.001", "%31%32%37.0.0.1",
            "127%2e0.0.1", "localhost%00", "127\u30020\u30020\u30021", "127\uff0e0\uff0e0\uff0e1", "\uff11\uff12\uff17.0.0.1",
            "localhost\u200b", "\u24dbocalhost", "xn--localhost", "loc%61lhost", ".localhost", "*.localhost", ""]
PORT_FORMS = [":{p}", ":0{p}", ":+{p}", ": {p}", ":{p} ", ":{p}:{p}", ":{p}.", ":%3{p}", "%3A{p}", ":", "", ":99999",
              ":{p}0", ":65536", ":-1", ":{p}\t"]
SEPARATORS = ["@", "\\@", "\\", "%40", "@@", ":", "#@", "?@", "/", "\t", "\n", " ", "\r\n", ";", ",", "&",
              "%5C", "%2F", "\u2215", "\uff20", "\\\\", "/\\", ":@", "%00", "\u3002"]
PATHS = ["/fhir", "/fhir/", "", "/", "\\fhir", "/FHIR", "/fhir/..", "/fhir/../x", "/%66hir", "/fhir%2f..%2fx",
         "/fhir?x=1", "/fhir#frag", "/fhir/./", "//fhir", "/fhir\t", "/fhir/%2e%2e/", "/fhir;x", "/fhir@x"]
INSERTS = ["\t", "\n", "\r", " ", "\x00", "\x7f", "\u3002", "\uff0e", "\u2024", "\\", "@", "%", "#", "?", "[", "]",
           ":", "/", ".", "\u00a0", "%2e", "%40", "%09"]


@st.composite
def confusable_urls(draw) -> str:
    """A URL built around the allowlisted server and the bystander: each piece drawn from the ways
    parsers are known to differ, joined and then mutated at a random place."""
    def authority_piece() -> str:
        host = draw(st.sampled_from(LOOPBACK))
        port = draw(st.sampled_from(PORT_FORMS)).format(p=draw(st.sampled_from([ALLOWED, OTHER])))
        return host + port

    pieces = [authority_piece() for _ in range(draw(st.integers(1, 3)))]
    authority = pieces[0]
    for piece in pieces[1:]:
        authority += draw(st.sampled_from(SEPARATORS)) + piece
    url = draw(st.sampled_from(SCHEMES)) + "://" + authority + draw(st.sampled_from(PATHS))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(url)))
        kind = draw(st.sampled_from(["insert", "upper", "drop"]))
        if kind == "insert":
            url = url[:at] + draw(st.sampled_from(INSERTS)) + url[at:]
        elif kind == "upper":
            url = url[:at] + url[at:at + draw(st.integers(1, 8))].upper() + url[at + 8:]
        else:
            url = url[:at] + url[at + 1:]
    return url


def filled(template: str, allowed, bystander) -> str:
    return template.replace(ALLOWED, str(allowed.port)).replace(OTHER, str(bystander.port))


def test_no_generated_fhir_server_reaches_another_host_or_gives_500(client, servers):
    allowed, bystander = servers
    tried: list[str] = []

    @settings(max_examples=2000)
    @given(template=confusable_urls())
    def one(template):
        url = filled(template, allowed, bystander)
        tried.append(url)
        response = client.post(SERVICE, json=hook_call(url))
        assert bystander.seen == [], f"{url!r} reached the bystander"
        assert response.status_code < 500, f"{url!r}: {response.status_code}"
        if response.status_code != 200:
            assert response.get_json()["resourceType"] == "OperationOutcome"

    one()
    assert len(tried) >= 2000 and len(set(tried)) >= 1500
    assert allowed.count > 0, "no generated URL was a plain spelling of the allowed server"


def test_no_generated_next_link_reaches_another_host_or_gives_500(client, servers):
    allowed, bystander = servers
    tried: list[str] = []

    @settings(max_examples=500)
    @given(template=confusable_urls())
    def one(template):
        link = filled(template, allowed, bystander)
        tried.append(link)
        response = client.post(SERVICE, json=hook_call(allowed.base_url, paged(link)))
        assert bystander.seen == [], f"{link!r} reached the bystander"
        assert response.status_code < 500, f"{link!r}: {response.status_code}"

    one()
    assert len(tried) >= 500


def test_a_trust_file_fhir_server_is_read_by_the_same_parser(tmp_path):
    (tmp_path / "trust.yaml").write_text("clients:\n  - iss: https://a.example\n    jwks: {keys: []}\n"
                                         "    fhir_servers: ['https://a.example/fhir', 'https://a.example\\\\@b.example/fhir']\n")
    with pytest.raises(TrustError, match=r"fhir_servers\[1\]: .*backslash"):
        load_trust(tmp_path / "trust.yaml", dev=False)
