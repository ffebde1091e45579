"""The FIS pages: server-rendered screens for HR clerks and system administrators.

``mount(app)`` adds every page route, the static files and the idle timeout
(``STAFFSYNC_FIS_IDLE_MINUTES``, default 30) to the FIS application.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from staffsync.fis.pages import login, settings, staff, sync, system, zip_codes
from staffsync.fis.pages.common import STATIC
from staffsync.fis.pages.jobs import Jobs
from staffsync.fis.web_auth import WebSettings


def mount(app: FastAPI, idle: timedelta | None = None) -> None:
    app.state.idle_timeout = idle or timedelta(minutes=WebSettings().fis_idle_minutes)
    app.state.sync_jobs = Jobs()
    routers = (login.router, staff.router, settings.router, zip_codes.router, system.router,
               sync.router)
    for router in routers:
        app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
