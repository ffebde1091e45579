"""FIS > System: Directories > Users, Edit User, Third Party Configuration (sysadmin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from staffsync.fis import schemas, sync_state, third_party, users
from staffsync.fis.pages.common import (
    PageRoute,
    PageSession,
    Sysadmin,
    SysadminForm,
    paging,
    redirect,
    render,
)
from staffsync.kit.errors import InvalidInput

router = APIRouter(prefix="/system", route_class=PageRoute)


@router.get("/users")
def user_list(request: Request, _: Sysadmin, session: PageSession, q: str = "") -> Response:
    pages = paging(request, users.count(session, q))
    found = users.search(session, q, pages.size, pages.offset)
    rows = [(user, schemas.sync_out(user)) for user in found]
    return render(request, "users.html", q=q, rows=rows, paging=pages,
                  tenant_error=sync_state.tenant_error(session))


@router.get("/users/{username}")
def edit_user(request: Request, username: str, _: Sysadmin, session: PageSession) -> Response:
    user = users.get(session, username)
    return render(request, "user_edit.html", user=user, sync=schemas.sync_out(user))


def _third_party_data(form: dict[str, str]) -> dict[str, Any]:
    """A blank Token keeps the stored one (the page never shows it); "Clear the token"
    removes it; the checkbox is posted only when ticked."""
    data: dict[str, Any] = {name: form.get(name, "") for name in ("end_point", "database_name")}
    data["enabled"] = form.get("enabled") == "on"
    if form.get("clear_token") == "on":
        data["token"] = None
    elif form.get("token", "").strip():
        data["token"] = form["token"]
    return data


def _third_party_page(request: Request, values: dict[str, Any], status: int = 200,
                      **context: Any) -> Response:
    return render(request, "third_party.html", status=status, values=values, **context)


@router.get("/third-party")
def third_party_form(request: Request, _: Sysadmin, session: PageSession) -> Response:
    values = third_party.view(third_party.load(session))
    return _third_party_page(request, values, saved=request.query_params.get("done") == "saved")


@router.post("/third-party")
def save_third_party(request: Request, form: SysadminForm, session: PageSession) -> Response:
    try:
        third_party.save(session, _third_party_data(form))
    except InvalidInput as error:
        stored = third_party.view(third_party.load(session))
        values = {**form, "enabled": form.get("enabled") == "on", "token_set": stored["token_set"]}
        return _third_party_page(request, values, 422, errors=error.fields)
    return redirect("/system/third-party?done=saved")
