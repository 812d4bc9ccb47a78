"""The feedback page's time window: one that is not 1 to 520 whole weeks is a 400 saying so,
never quietly the 12-week default."""
from __future__ import annotations

import pytest

from tests.helpers.apps import new_app
from tests.helpers.workbench import dev_settings


@pytest.mark.parametrize("weeks", ["0", "-3", "521", "abc", "2.5"])
def test_a_bad_window_is_a_400_that_says_why(tmp_path, weeks):
    reply = new_app(dev_settings(tmp_path)).test_client().get("/workbench/feedback", query_string={"weeks": weeks})
    assert reply.status_code == 400
    page = reply.get_data(as_text=True)
    assert f"weeks must be a whole number from 1 to 520, not &#39;{weeks}&#39;" in page
    assert "last 12 weeks" not in page


@pytest.mark.parametrize("query, shown", [({}, 12), ({"weeks": ""}, 12), ({"weeks": "4"}, 4), ({"weeks": "520"}, 520)])
def test_a_good_window_is_used(tmp_path, query, shown):
    reply = new_app(dev_settings(tmp_path)).test_client().get("/workbench/feedback", query_string=query)
    assert reply.status_code == 200 and f"last {shown} weeks" in reply.get_data(as_text=True)
