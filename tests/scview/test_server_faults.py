"""An unexpected server fault is a bare SCIM 500: logged on the server, never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.app import create_app
from staffsync.scview.tenants import create_tenant
from tests.databases import fresh_database
from tests.scview.conftest import user_body


def test_a_broken_database_gives_a_scim_500_without_internals(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            token = create_tenant(session, "broken")
        with engine.begin() as conn:  # the fault: a table the server needs is gone
            conn.execute(text("DROP TABLE scim_emails"))
        engine.dispose()
        app = create_app(url)
        with ServerThread(app) as server, caplog.at_level(logging.ERROR):
            response = httpx.post(
                f"{server.url}/broken/scim/v2/Users", json=user_body(),
                headers={"Authorization": f"Bearer {token}"},
            )
        app.state.engine.dispose()
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["detail"] == "Internal server error"
    assert "scim_emails" not in response.text and "Traceback" not in response.text
    assert any(record.exc_info for record in caplog.records)  # the cause is in the log
