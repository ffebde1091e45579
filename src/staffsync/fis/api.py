"""FIS JSON API, ``/api/v1`` (DESIGN.md's table). Routes parse, call one service, and
shape the answer; the session dependency commits when the route returns, before the
response is sent, and rolls back when it raises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import (
    auth,
    parameters,
    phones,
    schemas,
    staff,
    sync_state,
    third_party,
    users,
)
from staffsync.fis.models import CHOICES, ApiKey, Role
from staffsync.kit.db import transaction
from staffsync.sync import service


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="An API key from `staffsync fis create-api-key`")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _caller(session: SessionDep, credentials: Credentials) -> ApiKey:
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    return auth.authenticate(session, header)


def hr_key(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
    auth.require(key, Role.hr)
    return key


def sysadmin_key(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
    auth.require(key, Role.sysadmin)
    return key


Hr = Annotated[ApiKey, Depends(hr_key)]
Sysadmin = Annotated[ApiKey, Depends(sysadmin_key)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": schemas.ErrorOut} for code in (401, 403, 404, 409, 422)
}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


@router.get("/choices", tags=["staff"])
def choices(_: Hr) -> dict[str, list[str]]:
    """The values each select on the Add Staff and Staff Phone screens accepts."""
    return {name: [member.value for member in enum] for name, enum in CHOICES.items()}


@router.post("/staff", status_code=201, tags=["staff"])
def add_staff(body: schemas.StaffIn, session: SessionDep, _: Hr) -> schemas.StaffOut:
    return schemas.staff_out(staff.add(session, body.model_dump(exclude_unset=True)))


@router.get("/staff", tags=["staff"])
def search_staff(session: SessionDep, _: Hr, q: str | None = None, limit: Limit = 50,
                 offset: Offset = 0) -> list[schemas.StaffSummaryOut]:
    return [schemas.staff_summary_out(s) for s in staff.search(session, q, limit, offset)]


@router.get("/staff/{staff_id}", tags=["staff"])
def get_staff(staff_id: str, session: SessionDep, _: Hr) -> schemas.StaffOut:
    return schemas.staff_out(staff.get(session, staff_id))


@router.patch("/staff/{staff_id}", tags=["staff"])
def edit_demographics(staff_id: str, body: schemas.StaffIn, session: SessionDep,
                      _: Hr) -> schemas.StaffOut:
    return schemas.staff_out(staff.update(session, staff_id, body.model_dump(exclude_unset=True)))


@router.post("/staff/{staff_id}/last-name", tags=["staff"])
def edit_last_name(staff_id: str, body: schemas.LastNameIn, session: SessionDep,
                   key: Hr) -> schemas.StaffOut:
    changed = staff.change_last_name(session, staff_id, body.last_name, body.reason,
                                     changed_by=f"api key {key.name}",
                                     unknown=body.model_extra or {})
    return schemas.staff_out(changed)


@router.get("/staff/{staff_id}/phones", tags=["phones"])
def list_phones(staff_id: str, session: SessionDep, _: Hr) -> list[schemas.PhoneOut]:
    return [schemas.phone_out(p) for p in phones.list_phones(session, staff_id)]


@router.post("/staff/{staff_id}/phones", status_code=201, tags=["phones"])
def add_phone(staff_id: str, body: schemas.PhoneIn, session: SessionDep,
              _: Hr) -> schemas.PhoneOut:
    return schemas.phone_out(phones.add(session, staff_id, body.model_dump(exclude_unset=True)))


@router.patch("/staff/{staff_id}/phones/{phone_id}", tags=["phones"])
def edit_phone(staff_id: str, phone_id: int, body: schemas.PhoneIn, session: SessionDep,
               _: Hr) -> schemas.PhoneOut:
    changes = body.model_dump(exclude_unset=True)
    return schemas.phone_out(phones.update(session, staff_id, phone_id, changes))


@router.delete("/staff/{staff_id}/phones/{phone_id}", status_code=204, tags=["phones"])
def delete_phone(staff_id: str, phone_id: int, session: SessionDep, _: Hr) -> Response:
    phones.delete(session, staff_id, phone_id)
    return Response(status_code=204)


SYNC_ERROR_HEADERS = {
    "X-Sync-Error-Code": "The catalogue code of a tenant-wide sync error (SCView down, "
                         "wrong token, database or End Point); absent while sync works.",
    "X-Sync-Error-Message": "Its message, as on the Users screen.",
    "X-Sync-Error-Resolution": "What to do about it.",
}


def _sync_error_headers(error: dict[str, Any] | None) -> dict[str, str]:
    if not error:
        return {}
    values = (error["code"], error["message"], error["resolution"])
    # Header values are Latin-1; a host name in a message may not be.
    return {name: str(value).encode("ascii", "replace").decode()
            for name, value in zip(SYNC_ERROR_HEADERS, values, strict=True)}


@router.get("/users", tags=["users"], responses={200: {"headers": {
    name: {"description": text, "schema": {"type": "string"}}
    for name, text in SYNC_ERROR_HEADERS.items()}}})
def list_users(session: SessionDep, _: Sysadmin, response: Response, q: str | None = None,
               limit: Limit = 50, offset: Offset = 0) -> list[schemas.UserOut]:
    """Users with their sync status; a tenant-wide sync error is in the X-Sync-Error-*
    headers (every user stays pending meanwhile)."""
    response.headers.update(_sync_error_headers(sync_state.tenant_error(session)))
    return [schemas.user_out(u) for u in users.search(session, q, limit, offset)]


@router.get("/users/{username}", tags=["users"])
def get_user(username: str, session: SessionDep, _: Sysadmin) -> schemas.UserOut:
    return schemas.user_out(users.get(session, username))


@router.get("/settings/parameters", tags=["settings"])
def get_parameters(session: SessionDep, _: Sysadmin) -> schemas.ParametersOut:
    return schemas.ParametersOut.model_validate(parameters.load(session), from_attributes=True)


@router.put("/settings/parameters", tags=["settings"])
def put_parameters(body: schemas.ParametersIn, session: SessionDep,
                   _: Sysadmin) -> schemas.ParametersOut:
    saved = parameters.update_parameters(session, body.model_dump(exclude_unset=True))
    return schemas.ParametersOut.model_validate(saved, from_attributes=True)


@router.get("/settings/third-party", tags=["settings"])
def get_third_party(session: SessionDep, _: Sysadmin) -> schemas.ThirdPartyOut:
    return schemas.ThirdPartyOut(**third_party.view(third_party.load(session)))


@router.put("/settings/third-party", tags=["settings"])
def put_third_party(body: schemas.ThirdPartyIn, session: SessionDep,
                    _: Sysadmin) -> schemas.ThirdPartyOut:
    saved = third_party.save(session, body.model_dump(exclude_unset=True))
    return schemas.ThirdPartyOut(**third_party.view(saved))


# -- the user sync (Run Sync buttons, Test Connection, sync history) ----------------------


def _sessions(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


Sessions = Annotated[sessionmaker[Session], Depends(_sessions)]


def _sysadmin_briefly(sessions: Sessions, credentials: Credentials) -> None:
    """The sysadmin check in its own short transaction: routes that call SCView must not
    hold one open (on SQLite it would also block the sync's own writes)."""
    with transaction(sessions) as session:
        sysadmin_key(_caller(session, credentials))


SysadminNoSession = Annotated[None, Depends(_sysadmin_briefly)]


def _answer(body: dict[str, Any], error: dict[str, Any] | None, status: int) -> JSONResponse:
    """A sync result; a failure also carries its catalogue entry at the top level."""
    if error is None:
        return JSONResponse(jsonable_encoder(body))
    return JSONResponse(jsonable_encoder({**error, **body}), status_code=status)


@router.post("/users/sync", tags=["sync"])
def sync_all_users(sessions: Sessions, _: SysadminNoSession,
                   dry_run: bool = False) -> JSONResponse:
    """Users > Run Sync: reconcile every user with SCView (``dry_run``: plan only)."""
    run = service.sync_all(sessions, "api", dry_run=dry_run)
    return _answer(run, run["error"], 502)


@router.post("/users/{username}/sync", tags=["sync"])
def sync_one_user(username: str, sessions: Sessions, _: SysadminNoSession) -> JSONResponse:
    """Edit User > Run Sync: push this user now; a failure answers with its catalogue entry."""
    result = service.sync_user(sessions, username, "api")
    return _answer(result, result["error"], service.error_status(result["error"]))


@router.get("/sync/runs", tags=["sync"])
def list_sync_runs(session: SessionDep, _: Sysadmin, limit: Limit = 50) -> list[dict[str, Any]]:
    return service.list_runs(session, limit)


@router.get("/sync/runs/{run_id}", tags=["sync"])
def get_sync_run(run_id: int, session: SessionDep, _: Sysadmin) -> dict[str, Any]:
    """One run with each user's outcome."""
    return service.get_run(session, run_id)


@router.post("/settings/third-party/test", tags=["settings"])
def test_third_party(sessions: Sessions, _: SysadminNoSession) -> JSONResponse:
    """Test Connection on the saved Third Party Configuration."""
    result = service.test_connection(sessions)
    error = None if result["ok"] else result
    return _answer(result, error, service.error_status(error))
