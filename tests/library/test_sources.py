"""Citations go to the publisher (docs/clinical-safety.md): every source url's host is on the
publisher_hosts list kept in cards/sources.yaml, and the library refuses one that is not."""
from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest
import yaml

from cds_service.core.settings import Settings
from cds_service.library.loader import LibraryError, load_library

CARDS = Settings().cards_dir


def sources_doc() -> dict:
    return yaml.safe_load((CARDS / "sources.yaml").read_text(encoding="utf-8"))


def rules() -> list[dict]:
    return [r for path in sorted((CARDS / "rules").glob("*.yaml")) for r in yaml.safe_load(path.read_text())["rules"]]


def test_every_source_url_is_https_on_a_publisher_host():
    doc = sources_doc()
    hosts = set(doc["publisher_hosts"])
    for name, source in doc["sources"].items():
        url = urlsplit(source["url"])
        assert url.scheme == "https" and url.hostname in hosts, name


@pytest.mark.parametrize("source, doi", [
    ("turner-talbot-2013", "10.1136/practneurol-2013-000557"),
    ("acp-lbp-2017", "10.7326/M16-2367"),
    ("aaos-cts-2024", "10.5435/JAAOS-D-24-01179"),
])
def test_papers_are_cited_by_doi(source, doi):
    assert sources_doc()["sources"][source]["url"] == f"https://doi.org/{doi}"


def test_the_2007_carpal_tunnel_guideline_is_gone_and_acp_is_paired_with_nice_ng59():
    assert "aaos-cts-2007" not in sources_doc()["sources"]
    for rule in rules():
        cited = rule.get("card", {}).get("sources", [])
        if "acp-lbp-2017" in cited:
            assert "nice-ng59" in cited, rule["id"]


@pytest.mark.parametrize("url", [
    "https://wikisum.wiki/wiki/Benign_fasciculation_syndrome",
    "https://bestpractice-bmj-com.bibliotheek.ehb.be/topics/en-gb/3000164",
    "https://www.guidelinecentral.com/guideline/13349/",
])
def test_a_third_party_url_stops_the_library_naming_the_source(tmp_path, url):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    doc = sources_doc()
    doc["sources"]["nice-ng42"]["url"] = url
    (cards / "sources.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(LibraryError) as err:
        load_library(cards)
    host = urlsplit(url).hostname
    assert str(err.value) == f"cards/sources.yaml: sources.nice-ng42.url: host '{host}' is not in publisher_hosts"


def test_plain_http_is_refused_by_the_schema(tmp_path):
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    doc = sources_doc()
    doc["sources"]["nice-ng42"]["url"] = "http://www.nice.org.uk/guidance/ng42"
    (cards / "sources.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(LibraryError, match=r"^cards/sources.yaml: sources.nice-ng42.url: .*https"):
        load_library(cards)
