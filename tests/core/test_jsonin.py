"""The nesting cap is checked on the text, by a scan that must agree with the parsed tree's depth
for every JSON the stdlib writes, whatever the strings hold (brackets, quotes, escapes)."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.core import jsonin

tricky_text = st.text(alphabet=st.sampled_from(['"', "\\", "[", "]", "{", "}", "a", "é", "\n", "\u2028"]), max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3),
    max_leaves=60,
)


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@settings(max_examples=400)
@given(values, st.booleans(), st.integers(min_value=0, max_value=3))
def test_the_scan_measures_the_depth_the_tree_has(value, ascii_only, slack):
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    d = depth(value)
    assert jsonin.depth_over(text, d) is False
    if d > slack:
        assert jsonin.depth_over(text, d - 1 - slack) is True


def test_the_cap_is_exact_near_the_limit_where_one_round_may_take_two_levels():
    inside = {"a": [{"b": 1}]}
    for _ in range(30):  # 62 levels of alternating objects and lists
        inside = {"a": [inside]}
    text = json.dumps(inside).encode()
    assert jsonin.depth_over(text, depth(inside)) is False
    assert jsonin.depth_over(text, depth(inside) - 1) is True


@pytest.mark.parametrize("body, parsed", [
    (b"[1e400]", [float("inf")]),  # valid JSON beyond a double: read as before, not refused
    (b"\xef\xbb\xbf[1]", [1]),  # a byte-order mark
    ('["\\ud800"]', ["\ud800"]),  # a lone surrogate escape
    (b'{"a": "x\\\\", "b": ["]"]}', {"a": "x\\", "b": ["]"]}),
])
def test_what_orjson_refuses_but_json_allows_is_read_as_the_stdlib_reads_it(body, parsed):
    assert jsonin.loads(body) == parsed


@pytest.mark.parametrize("body", [b"[NaN]", b"[Infinity]", b"[" * 65 + b"]" * 65, b"[" * 5000 + b"]" * 5000, b"{", b""])
def test_what_is_not_json_or_too_deep_is_a_json_error(body):
    with pytest.raises(jsonin.JsonError):
        jsonin.loads(body)


def test_sixty_four_levels_are_accepted():
    assert jsonin.loads(b"[" * 64 + b"]" * 64) is not None
