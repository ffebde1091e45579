"""Each catalogue entry, caused by a real fault on the wire, gives the seed's text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import pytest

from staffsync.kit.server import free_port
from staffsync.sync import catalogue as c
from staffsync.sync.executor import sync_all
from staffsync.sync.push import Outcome, push_user
from staffsync.sync.scim_client import ScimClient, Target, check_connection
from tests.sync.conftest import LiveScim
from tests.sync.factories import snapshot
from tests.sync.faults import Proxy, answering, plain_http_server, serving

TOKEN = "s3cret-token-never-shown"
SCIM_JSON = "application/scim+json"
SUPPORT = "You may need to contact CSIU Support for assistance: 570-246-5970."


scim_error = Proxy.refusal


@contextmanager
def end_point_of(app: object) -> Iterator[str]:
    with serving(app) as url:
        yield url


@contextmanager
def https_to(server: AbstractContextManager[str]) -> Iterator[str]:
    with server as url:
        yield url.replace("http://", "https://")


FAULTS: dict[str, tuple[Callable[[Path], object], type[c.SyncError], str, str]] = {
    # name: (context yielding an End Point, error class, message, resolution fragment)
    "connection refused": (
        lambda tmp: nullcontext(f"http://127.0.0.1:{free_port()}"),
        c.ServiceDown,
        "Error when their service is down.",
        f"The sync service or API is down. {SUPPORT}",
    ),
    "timeout": (
        lambda tmp: end_point_of(answering(200, b"{}", SCIM_JSON, delay=0.6)),
        c.ServiceDown,
        "Error when their service is down.",
        f"The sync service or API is down. {SUPPORT}",
    ),
    "502 bad gateway": (
        lambda tmp: end_point_of(answering(502, b"<html>Bad Gateway</html>", "text/html")),
        c.ServiceDown,
        "Error when their service is down.",
        f"The sync service or API is down. {SUPPORT}",
    ),
    "500": (
        lambda tmp: end_point_of(answering(500, b"Internal Server Error")),
        c.ServerError,
        "Response status code does not indicate success: 500 (Internal Server Error).",
        f"The site is down. {SUPPORT}",
    ),
    "host does not resolve": (
        lambda tmp: nullcontext("http://api.scview.invalid"),
        c.NameNotResolved,
        "The remote name could not be resolved: 'api.scview.invalid'",
        f"The sync service or API is down. {SUPPORT}",
    ),
    "plain HTTP server (404 HTML)": (
        lambda tmp: plain_http_server(tmp),
        c.EndPointIncorrect,
        "Error when FIS Third Party Configuration End Point is incorrect.",
        "Verify that the System > Directories > Third Party Configuration End Point is "
        "correct. It's typically, https://api.myscview.com/.",
    ),
    "TLS to a plain HTTP port": (
        lambda tmp: https_to(plain_http_server(tmp)),
        c.EndPointIncorrect,
        "Error when FIS Third Party Configuration End Point is incorrect.",
        "It's typically, https://api.myscview.com/.",
    ),
    "200 that is not JSON": (
        lambda tmp: end_point_of(answering(200, b"<html>welcome</html>", "text/html")),
        c.EndPointIncorrect,
        "Error when FIS Third Party Configuration End Point is incorrect.",
        "It's typically, https://api.myscview.com/.",
    ),
    "403 forbidden": (
        lambda tmp: end_point_of(answering(403, scim_error(403), SCIM_JSON)),
        c.TokenOrDatabaseIncorrect,
        "Error when FIS Third Party Configuration Token or Database name is incorrect.",
        "Verify that the System > Directories > Third Party Configuration Token and/or "
        "Database name is correct.",
    ),
}


def assert_entry(error: c.SyncError, kind: type[c.SyncError], message: str, fix: str) -> None:
    assert isinstance(error, kind)
    assert error.message == message
    assert fix in error.resolution
    shown = f"{error} {error!r} {error.as_dict()} {error.detail}"
    assert TOKEN not in shown


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_gives_the_seed_message_and_resolution(fault: str, tmp_path: Path) -> None:
    make, kind, message, fix = FAULTS[fault]
    with make(tmp_path) as end_point, pytest.raises(c.SyncError) as caught:
        check_connection(Target(end_point, "district", TOKEN), timeout=0.3)
    assert_entry(caught.value, kind, message, fix)


def test_wrong_token(live_scim: LiveScim) -> None:
    target = Target(live_scim.end_point, live_scim.database, TOKEN)
    with ScimClient(target) as client, pytest.raises(c.TokenOrDatabaseIncorrect) as caught:
        client.check()
    assert_entry(caught.value, c.TokenOrDatabaseIncorrect, FAULTS["403 forbidden"][2],
                 FAULTS["403 forbidden"][3])
    assert caught.value.stops_run and not caught.value.retryable


def test_unknown_database(live_scim: LiveScim) -> None:
    target = Target(live_scim.end_point, "no-such-district", live_scim.token)
    with ScimClient(target) as client, pytest.raises(c.TokenOrDatabaseIncorrect) as caught:
        client.capabilities()  # even the unauthenticated discovery names the tenant
    assert "HTTP 404" in caught.value.detail
    assert live_scim.token not in f"{caught.value} {caught.value.as_dict()}"


def test_end_point_that_is_not_a_url() -> None:
    with pytest.raises(c.EndPointIncorrect):
        ScimClient(Target("api.myscview.com", "district", TOKEN))


def test_rate_limit_is_transient_and_keeps_retry_after() -> None:
    app = answering(429, scim_error(429), SCIM_JSON, headers={"Retry-After": "7"})
    with serving(app) as url, ScimClient(Target(url, "district", TOKEN)) as client:
        with pytest.raises(c.RateLimited) as caught:
            client.capabilities()
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable and not caught.value.stops_run


def test_one_user_push_reports_the_entry(tmp_path: Path) -> None:
    with plain_http_server(tmp_path) as url, ScimClient(Target(url, "d", TOKEN)) as client:
        result = push_user(snapshot(), client)
    assert result.outcome is Outcome.FAILED
    assert result.error is not None and result.error.code == "end_point_incorrect"
    assert result.as_dict()["error"]["resolution"].endswith("https://api.myscview.com/.")


def test_configuration_failure_stops_sync_all_once() -> None:
    target = Target(f"http://127.0.0.1:{free_port()}", "district", TOKEN)
    with ScimClient(target) as client:
        _, report = sync_all((snapshot(n) for n in range(50)), client)
    assert isinstance(report.stopped, c.ServiceDown)
    assert report.results == []  # one clear error, not fifty failed users
