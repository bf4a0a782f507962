"""``ps`` STATUS text (Docker's State.String)."""

from __future__ import annotations

from berth.runtime.views import status_text
from berth.state import ContainerState
from berth.state.records import now_rfc3339


def test_exited_with_a_finish_time_says_how_long_ago():
    assert status_text(ContainerState(Status="exited", ExitCode=3, FinishedAt=now_rfc3339())) == \
        "Exited (3) Less than a second ago"


def test_exited_without_a_finish_time_says_no_age():
    assert status_text(ContainerState(Status="exited", ExitCode=0)) == "Exited (0)"


def test_other_states_by_name():
    assert status_text(ContainerState(Status="created")) == "Created"
