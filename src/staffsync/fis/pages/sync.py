"""The sync screens: Run Sync (all users, with live progress; one user on Edit User),
Test Connection, and Sync history. These call SCView, so the login is checked in its
own short transaction and no transaction is open during the network calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from staffsync.fis import schemas, third_party, users
from staffsync.fis.pages.common import (
    PageRoute,
    PageSession,
    Sysadmin,
    SysadminShort,
    SysadminShortForm,
    factory,
    redirect,
    render,
)
from staffsync.fis.pages.jobs import Jobs
from staffsync.kit.db import transaction
from staffsync.sync import service

router = APIRouter(prefix="/system", route_class=PageRoute)
TRIGGER = "page"


def jobs(request: Request) -> Jobs:
    return request.app.state.sync_jobs


@router.post("/users/sync")
def run_sync_all(request: Request, _: SysadminShortForm) -> Response:
    sessions = factory(request)
    job = jobs(request).start(
        lambda progress: service.sync_all(sessions, TRIGGER, progress=progress))
    return redirect(f"/system/sync/jobs/{job.id}")


@router.get("/sync/jobs/{job_id}")
def job_page(request: Request, job_id: str, _: SysadminShort) -> Response:
    return render(request, "sync_job.html", job=jobs(request).get(job_id))


@router.get("/sync/jobs/{job_id}/progress")
def job_progress(request: Request, job_id: str, _: SysadminShort) -> Response:
    """The progress fragment the job page polls every second."""
    return render(request, "_sync_progress.html", job=jobs(request).get(job_id))


def _not_set_up(error: service.SyncNotSetUp) -> dict[str, Any]:
    return {"message": error.message, "resolution": ""}


@router.post("/users/{username}/sync")
def run_sync_one(request: Request, username: str, _: SysadminShortForm) -> Response:
    try:
        outcome = service.sync_user(factory(request), username, TRIGGER)
    except service.SyncNotSetUp as error:
        outcome = {"outcome": "failed", "changed": [], "error": _not_set_up(error)}
    with transaction(factory(request)) as session:
        user = users.get(session, username)
        return render(request, "user_edit.html", user=user, sync=schemas.sync_out(user),
                      outcome=outcome)


@router.post("/third-party/test")
def test_connection(request: Request, _: SysadminShortForm) -> Response:
    try:
        result = service.test_connection(factory(request))
    except service.SyncNotSetUp as error:
        result = {"ok": False, **_not_set_up(error)}
    with transaction(factory(request)) as session:
        values = third_party.view(third_party.load(session))
    return render(request, "third_party.html", values=values, test=result)


@router.get("/sync-history")
def history(request: Request, _: Sysadmin, session: PageSession) -> Response:
    return render(request, "sync_history.html", runs=service.list_runs(session, 100))


@router.get("/sync-history/{run_id}")
def run_detail(request: Request, run_id: int, _: Sysadmin, session: PageSession) -> Response:
    return render(request, "sync_run.html", run=service.get_run(session, run_id))

