"""Tenant-wide failures against a live SCView, on both backends: wrong database, wrong
End Point, a name that does not resolve, timeouts and a storm of 500s. Each is one
error, shown on System > Directories > Users and in GET /api/v1/users, with every user
left pending; it clears when SCView answers again or the configuration is saved."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import auth, web_auth
from staffsync.fis.api import SYNC_ERROR_HEADERS
from staffsync.fis.app import create_app
from staffsync.kit.db import transaction
from staffsync.kit.server import ServerThread
from staffsync.sync import catalogue, service
from staffsync.sync.scim_client import Target
from staffsync.sync.worker import Worker, WorkerConfig
from tests.outbox.conftest import QUIET, Clock, configure, mismatches
from tests.outbox.factories import add_staff, drain, state_of
from tests.outbox.scview_faults import LiveScview

PASSWORD = "correct horse battery"


@dataclass
class Shown:
    """What FIS shows about the tenant's sync: the Users list's banner (None when
    there is none) and the API's X-Sync-Error-* headers."""

    banner: str | None
    headers: dict[str, str]


class Fis:
    """A live FIS server on the test's database: ``shows()`` looks at the Users list
    (signed in as a sysadmin) and the API."""

    def __init__(self, url: str, cookie: str, key: str) -> None:
        self.url, self.cookie, self.key = url, cookie, key

    def shows(self) -> Shown:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            page = client.get("/system/users",
                              headers={"Cookie": f"{web_auth.COOKIE}={self.cookie}"})
            answer = client.get("/api/v1/users", headers={"Authorization": f"Bearer {self.key}"})
        assert page.status_code == 200 and answer.status_code == 200
        found = re.search(r'data-testid="sync-paused">(.*?)</div>', page.text, re.S)
        banner = html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))) if found else None
        headers = {k: v for k, v in answer.headers.items() if k.startswith("x-sync-error")}
        return Shown(banner and " ".join(banner.split()), headers)


@pytest.fixture
def live_fis(fis_url: str, fis: sessionmaker[Session]) -> Iterator[Fis]:
    with transaction(fis) as session:
        auth.create_account(session, "boss", PASSWORD, "sysadmin")
        key = auth.create_api_key(session, "admin", "sysadmin")
        cookie = web_auth.sign_in(session, "boss", PASSWORD, timedelta(hours=1))
    assert cookie is not None
    with ServerThread(create_app(fis_url)) as server:
        yield Fis(server.url, cookie, key)


def assert_shows(shown: Shown, entry: catalogue.Entry, message: str | None = None) -> None:
    """One error, with the catalogue's message and resolution, on the page and in the API."""
    message = message or entry.message
    assert shown.banner is not None
    assert message in shown.banner and entry.resolution in shown.banner
    assert shown.headers == {"x-sync-error-code": entry.code,
                             "x-sync-error-message": message,
                             "x-sync-error-resolution": entry.resolution}


def assert_all_pending(fis: sessionmaker[Session], names: list[str]) -> None:
    for name in names:  # the error is the tenant's: no user carries it
        state = state_of(fis, name)
        assert state.dirty and state.last_error is None and state.lease_owner is None


def fail_rounds(worker: Worker, clock: Clock, rounds: int = 3) -> None:
    for _ in range(rounds):  # the breaker opens, then its probes fail too
        worker.run_once()
        clock.advance(120)


NOWHERE = "http://scview.invalid:8000/"  # .invalid never resolves (RFC 6761)
WRONG = {  # what is wrong -> (its catalogue entry, its message)
    "database": (catalogue.TOKEN_OR_DATABASE, None),
    "end point": (catalogue.END_POINT, None),  # FIS itself: a web server, but not SCIM
    "host name": (catalogue.NAME_NOT_RESOLVED,
                  "The remote name could not be resolved: 'scview.invalid'"),
}


@pytest.mark.parametrize("wrong", list(WRONG))
def test_a_wrong_configuration_is_one_error_until_it_is_saved(
        wrong: str, fis: sessionmaker[Session], target: Target, clock: Clock,
        new_worker: Callable[..., Worker], live_fis: Fis) -> None:
    names = [add_staff(fis)[1] for _ in range(3)]
    assert live_fis.shows() == Shown(None, {})
    end_point = {"end point": live_fis.url, "host name": NOWHERE}.get(wrong, target.end_point)
    database = "no-such-district" if wrong == "database" else target.database
    configure(fis, end_point, database, target.token)
    worker = new_worker()
    fail_rounds(worker, clock)
    assert_shows(live_fis.shows(), *WRONG[wrong])
    documented = httpx.get(f"{live_fis.url}/openapi.json").json()
    assert set(SYNC_ERROR_HEADERS) == set(
        documented["paths"]["/api/v1/users"]["get"]["responses"]["200"]["headers"])
    assert_all_pending(fis, names)
    configure(fis, target.end_point, target.database, target.token)
    assert live_fis.shows() == Shown(None, {})  # saving clears it at once
    drain(worker, clock)
    assert live_fis.shows() == Shown(None, {}) and mismatches(fis, target) == []


@pytest.mark.parametrize("fault", ["slow", "500"])
def test_timeouts_or_500s_everywhere_pause_the_tenant_then_it_recovers_by_itself(
        fault: str, fis: sessionmaker[Session], scview: LiveScview, target: Target,
        clock: Clock, new_worker: Callable[..., Worker], live_fis: Fis) -> None:
    names = [add_staff(fis)[1] for _ in range(4)]
    scview.faulty.mode, scview.faulty.slow = fault, 1.0
    worker = new_worker(WorkerConfig(reconcile_every=None, concurrency=4, timeout=0.3))
    fail_rounds(worker, clock)
    if fault == "slow":
        assert_shows(live_fis.shows(), catalogue.SERVICE_DOWN)
    else:
        message = "Response status code does not indicate success: 500 (Internal Server Error)."
        assert_shows(live_fis.shows(), catalogue.SERVER_ERROR, message)
    assert_all_pending(fis, names)
    scview.faulty.mode = None  # SCView is well again; nobody touches FIS
    drain(worker, clock)
    assert live_fis.shows() == Shown(None, {}) and mismatches(fis, target) == []


def test_a_fixed_configuration_requeues_users_it_parked(
        fis: sessionmaker[Session], target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    username = add_staff(fis)[1]
    configure(fis, target.end_point, target.database, "not-the-token")
    answer = service.sync_user(fis, username, "page")  # Run Sync on the Edit User screen
    assert answer["error"]["code"] == "token_or_database_incorrect"
    parked = state_of(fis, username)
    assert parked.next_attempt_at is None and parked.attempts == 1  # parked: not retryable
    before = clock()
    configure(fis, target.end_point, target.database, target.token)
    requeued = state_of(fis, username)
    assert requeued.next_attempt_at is not None and requeued.next_attempt_at >= before
    assert requeued.attempts == 0
    new_worker(QUIET).run_once()
    assert not state_of(fis, username).dirty and mismatches(fis, target) == []
