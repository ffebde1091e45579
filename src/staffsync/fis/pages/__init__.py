"""The FIS pages: server-rendered screens for HR clerks and system administrators.

``mount(app)`` adds every page route, the static files and the idle timeout
(``STAFFSYNC_FIS_IDLE_MINUTES``, default 30) to the FIS application.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from staffsync.fis.pages import login, settings, staff, system
from staffsync.fis.pages.common import STATIC
from staffsync.fis.web_auth import WebSettings


def mount(app: FastAPI, idle: timedelta | None = None) -> None:
    app.state.idle_timeout = idle or timedelta(minutes=WebSettings().fis_idle_minutes)
    for module in (login, staff, settings, system):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
