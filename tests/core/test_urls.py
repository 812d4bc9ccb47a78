"""The outbound URL parser: a URL is accepted only in a form urllib3, urllib.parse and requests all
read as the same scheme, host, port and path, and is sent as the text rebuilt from those parts."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from cds_service.core.urls import UrlError, parse_base_url, parse_http_url


@pytest.mark.parametrize("text, origin, sent", [
    ("https://ehr.example.org/fhir/r4", ("https", "ehr.example.org", 443), "https://ehr.example.org/fhir/r4"),
    ("HTTPS://EHR.Example.ORG:443/fhir", ("https", "ehr.example.org", 443), "https://ehr.example.org/fhir"),
    ("http://hapi:8080/fhir/", ("http", "hapi", 8080), "http://hapi:8080/fhir/"),
    ("http://[0:0:0:0:0:0:0:1]:8080/fhir", ("http", "::1", 8080), "http://[::1]:8080/fhir"),
    ("https://ehr.example.org/fhir/Observation?code=http://loinc.org|1234&_count=10",
     ("https", "ehr.example.org", 443), "https://ehr.example.org/fhir/Observation?code=http://loinc.org%7C1234&_count=10"),
    ("https://ehr.example.org/a%2fb", ("https", "ehr.example.org", 443), "https://ehr.example.org/a%2Fb"),
])
def test_accepted_urls_and_what_is_sent(text, origin, sent):
    url = parse_http_url(text)
    assert url.origin == origin and url.text == sent


@pytest.mark.parametrize("text, reason", [
    ("http://127.0.0.1:1111\\@127.0.0.1:2222/fhir", "backslash"),
    ("http://a@127.0.0.1/fhir", "user info"),
    ("http://127.0.0.1%3a2222/fhir", "percent-encoded host"),
    ("http://ehr.example.org./fhir", "DNS name"),
    ("http://127。0。0。1/fhir", "ASCII"),
    ("http://ehr.example.org/fh\tir", "ASCII"),
    ("http://ehr.example.org/fhir ", "ASCII"),
    ("http://127.1/fhir", "IPv4"),
    ("http://0x7f.0.0.1/fhir", "IPv4"),
    ("http://2130706433/fhir", "IPv4"),
    ("http://[::1%25lo]/fhir", "percent-encoded host"),
    ("http://[::1/fhir", "DNS name"),
    ("http://ehr.example.org:99999/fhir", "1-65535"),
    ("http://ehr.example.org:0/fhir", "1-65535"),
    ("http://ehr.example.org:/fhir", "1-65535"),
    ("http://ehr.example.org/fhir/../admin", "dot segments"),
    ("http://ehr.example.org/fhir/%2e%2e/admin", "needs no encoding"),
    ("http://ehr.example.org/fhir%", "starts no"),
    ("http://ehr.example.org/fhir#x", "fragment"),
    ("ftp://ehr.example.org/fhir", "http and https"),
    ("//ehr.example.org/fhir", "absolute URL"),
])
def test_refused_urls_say_why_without_quoting_them(text, reason):
    with pytest.raises(UrlError) as refused:
        parse_http_url(text)
    assert reason in str(refused.value) and "example" not in str(refused.value)


def test_a_base_url_has_no_query():
    assert parse_http_url("https://ehr.example.org/fhir?x=1").query == "x=1"
    with pytest.raises(UrlError, match="no query"):
        parse_base_url("https://ehr.example.org/fhir?x=1")


def test_within_a_base_is_same_origin_and_on_a_segment_boundary():
    base = parse_base_url("https://ehr.example.org/fhir/")
    assert parse_http_url("https://ehr.example.org/fhir").within(base)
    assert parse_http_url("https://ehr.example.org/fhir/Patient/1").within(base)
    assert not parse_http_url("https://ehr.example.org/fhirx/Patient/1").within(base)
    assert not parse_http_url("https://ehr.example.org:8443/fhir/Patient/1").within(base)
    assert not parse_http_url("http://ehr.example.org/fhir/Patient/1").within(base)


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=40), st.text(max_size=12))
def test_whatever_is_accepted_reads_the_same_to_requests(path, noise):
    """For any text accepted, requests prepares a URL whose host, port and path are the checked ones."""
    for text in (f"http://ehr.example.org:8080/{path}", f"http://ehr.example.org{noise}/{path}"):
        try:
            url = parse_http_url(text)
        except UrlError:
            continue
        prepared = urlsplit(requests.Request("GET", url.text).prepare().url)
        assert (prepared.hostname, prepared.port or 80, prepared.path) == (url.host, url.port, url.path)
