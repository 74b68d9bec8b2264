"""The CLI's progress line: live on a terminal, a line every few seconds elsewhere (issue 19, part 5)."""

from __future__ import annotations

import io

from lookervault_core.content_types import ContentType as CT
from lookervault_pipelines.cli.progress import ProgressLine


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_one_live_line_cleared_when_the_step_ends() -> None:
    stream, clock = _Terminal(), _Clock()
    line = ProgressLine(stream, clock=clock)
    line(CT.LOOK, 0, 2000, 0)
    clock.now += 1.0
    line(CT.LOOK, 100, 2000, 0)
    clock.now += 0.01
    line(CT.LOOK, 101, 2000, 0)  # within a tenth of a second: not redrawn
    clock.now += 1.0
    line(CT.LOOK, 1000, 2000, 3)
    line(CT.LOOK, 2000, 2000, 3)
    assert stream.getvalue() == ("\r\x1b[Klooks: 100/2000 done, 0 failed, 100.0 items/s, ETA 19 s"
                                 "\r\x1b[Klooks: 1000/2000 done, 3 failed, 497.5 items/s, ETA 2 s"
                                 "\r\x1b[K")


def test_elsewhere_a_line_every_interval_at_most_and_none_for_quick_work() -> None:
    stream, clock = io.StringIO(), _Clock()
    line = ProgressLine(stream, interval=5.0, clock=clock)
    line(CT.DASHBOARD, 0, 3, 0)
    clock.now += 1.0
    line(CT.DASHBOARD, 3, 3, 0)
    assert stream.getvalue() == ""  # done within the interval
    line(CT.LOOK, 0, 100, 0)
    for done in range(1, 101):
        clock.now += 0.25
        line(CT.LOOK, done, 100, 0)
    assert stream.getvalue().splitlines() == [
        "looks: 20/100 done, 0 failed, 4.0 items/s, ETA 20 s", "looks: 40/100 done, 0 failed, 4.0 items/s, ETA 15 s",
        "looks: 60/100 done, 0 failed, 4.0 items/s, ETA 10 s", "looks: 80/100 done, 0 failed, 4.0 items/s, ETA 5 s"]


def test_loading_the_code_location_prints_no_warnings() -> None:
    """`dagster job launch` and `dagster dev` load it: 12 BetaWarning blocks buried their output."""
    import subprocess
    import sys

    loaded = subprocess.run([sys.executable, "-c", "import lookervault_pipelines.definitions"],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0 and loaded.stderr == "", loaded.stderr
