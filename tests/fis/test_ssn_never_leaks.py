"""No SSN in any log line or any API response, with SQL echo on and logs at DEBUG."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

import httpx
import pytest

from staffsync.fis import auth
from staffsync.fis.app import create_app
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.server import ServerThread
from tests.fis.conftest import staff_data

STAFF = 60
CLIENT_LOGGERS = ("httpx", "httpcore")


def _forms(ssn: str) -> set[str]:
    """How an SSN could be written out: digits, dashed, spaced."""
    return {ssn, f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", f"{ssn[:3]} {ssn[3:5]} {ssn[5:]}"}


@pytest.fixture
def echo_server(fresh_fis_url: str) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    engine = make_engine(fresh_fis_url)
    with transaction(session_factory(engine)) as session:
        key = auth.create_api_key(session, "leak-test", "sysadmin")
    engine.dispose()
    app = create_app(fresh_fis_url, echo=True)
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        yield client, {"Authorization": f"Bearer {key}"}


def test_no_ssn_in_logs_or_responses(
    echo_server: tuple[httpx.Client, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, headers = echo_server
    rng = random.Random(2)
    ssns = [f"{rng.randrange(10**8, 10**9)}" for _ in range(STAFF)]
    bodies: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for n, ssn in enumerate(ssns):
            email = f"s{n}@example.org" if n % 3 else None
            written = f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}" if n % 2 else ssn
            added = client.post("/api/v1/staff", headers=headers,
                                json=staff_data(ssn=written, email=email))
            staff_id = added.json()["staff_id"]
            bodies += [added.text,
                       client.get(f"/api/v1/staff/{staff_id}", headers=headers).text,
                       client.patch(f"/api/v1/staff/{staff_id}", headers=headers,
                                    json={"ssn": ssn, "first_name": f"N{n}"}).text]
        # Refusals: a duplicate, a mistyped one, one sent as a number.
        bodies += [client.post("/api/v1/staff", headers=headers, json=staff_data(ssn=s)).text
                   for s in (ssns[0], ssns[1][:8])]
        bodies.append(client.post("/api/v1/staff", headers=headers,
                                  json=staff_data(ssn=int(ssns[2]))).text)
        bodies += [client.get(f"/api/v1/staff?limit=500&q={q}", headers=headers).text
                   for q in ("", ssns[3])]
        bodies.append(client.get("/api/v1/users?limit=500", headers=headers).text)
    # The test's own HTTP client logs the URLs it sends (one holds an SSN on purpose).
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if not record.name.startswith(CLIENT_LOGGERS))
    assert "INSERT INTO staff" in logged, "SQL echo must be captured for this test to mean anything"
    forms = set().union(*(_forms(s) for s in ssns))
    assert [f for f in forms if f in logged] == []
    assert [f for f in forms if any(f in body for body in bodies)] == []
    assert sum('"ssn":"***-**-' in body for body in bodies) >= 2 * STAFF
