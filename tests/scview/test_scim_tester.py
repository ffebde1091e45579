"""scim2-tester's whole conformance run against a live SCView: every check passes."""

from __future__ import annotations

import httpx
from scim2_tester import Status, check_server

from tests.scview.conftest import LiveScview
from tests.scview.scim_client import HttpxSCIMClient

# Recorded (README, SCView) so that a change in what SCView advertises shows up here;
# pyproject.toml pins scim2-tester to the release that has this many checks.
EXPECTED_CHECKS = 114


def test_every_scim2_tester_check_passes(live: LiveScview) -> None:
    with live.client("alpha") as http:
        results = check_server(HttpxSCIMClient(http), raise_exceptions=False)
    failures = [f"{r.title}: {r.reason}" for r in results if r.status != Status.SUCCESS]
    # printed (pytest -s) so the number of checks can be recorded with the run
    print(f"scim2-tester: {len(results)} checks, {len(failures)} not passed")  # noqa: T201
    assert failures == []
    assert len(results) == EXPECTED_CHECKS


def test_scim2_tester_sees_a_wrong_token_as_an_error(live: LiveScview) -> None:
    """The run above can fail: with a wrong token, discovery itself is refused."""
    with httpx.Client(base_url=live.base("alpha"), headers={"Authorization": "Bearer x"}) as http:
        results = check_server(HttpxSCIMClient(http), raise_exceptions=False)
    assert any(r.status == Status.ERROR for r in results)
