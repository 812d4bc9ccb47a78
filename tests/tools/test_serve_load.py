"""Under load, no gevent worker of the real `nerve-cds serve` ever freezes: fresh starts with two
workers each take a burst of concurrent CES calls right after /readyz, and every call is answered
within seconds (a worker that blocked its whole process would leave its calls unanswered until
gunicorn killed it 30 s later)."""
from __future__ import annotations

from tests.helpers.calls import CES, hook
from tests.helpers.serving import fire, served

STARTS = 6
BURST = 64


def test_fresh_workers_answer_a_burst_of_ces_calls(tmp_path):
    for start in range(STARTS):
        folder = tmp_path / f"start-{start}"
        folder.mkdir()
        with served(folder, workers=2) as server:
            answers = fire(server.base, [hook(prefetch=CES) for _ in range(BURST)], timeout=15)
            late = [round(a.seconds, 1) for a in answers if a.status != 200 or a.seconds > 5]
            assert not late, f"start {start}: {len(late)} of {BURST} CES calls late or unanswered: {late}"
            for answer in answers:
                assert [c["source"]["topic"]["code"] for c in answer.body["cards"]] == ["cauda-equina-emergency"]
