"""SCView's Admin > Users pages: sign in, pick a database, search users by username,
and read a user's Details and Payroll tab. Rendered on the server with Jinja2.

Routes are thin: they open one transaction, call ``web_auth`` and ``admin_users``, and
render outside the transaction. ``/admin/users/results`` and ``/admin/users/detail``
return the fragments that the page's script swaps in as the clerk types or clicks; the
full page renders the same fragments, so every screen also works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from staffsync.kit.db import transaction
from staffsync.scview import admin_users, web_auth
from staffsync.scview.admin_users import UserDetails, UserPage
from staffsync.scview.web_auth import COOKIE, LOGIN_CSRF_COOKIE, SignedIn

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

HEADERS = {
    # pages show personal data: never cached, never framed, no third-party anything
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NOTICES = {
    "signed_out": "You have signed out.",
    "ended": "Your session has ended (30 minutes without activity). Please sign in again.",
}


class NeedsLogin(Exception):
    """The request has no live admin session."""


@dataclass(frozen=True)
class UsersView:
    databases: list[str]
    database: str
    query: str
    results: UserPage | None
    details: UserDetails | None
    unknown_database: bool = False


def mount(app: FastAPI) -> None:
    """Add the pages, their static files and the sign-in redirect to SCView's app."""
    app.include_router(router)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin-static")
    app.add_exception_handler(NeedsLogin, _needs_login)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def require_admin(request: Request, session: Session) -> SignedIn:
    admin = web_auth.current(session, request.cookies.get(COOKIE))
    if admin is None:
        raise NeedsLogin
    return admin


async def _needs_login(request: Request, _exc: Exception) -> Response:
    if request.url.path.startswith("/admin/users/"):  # a fragment: the script reloads
        return render(request, "admin/_signed_out.html", status=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    params = {"next": target}
    if request.cookies.get(COOKIE):  # there was a session, and it has ended
        params["ended"] = "1"
    return redirect(f"/admin/login?{urlencode(params)}")


def users_url(**params: Any) -> str:
    """The Admin > Users URL with the given non-empty query parameters."""
    return "/admin/users?" + urlencode({key: value for key, value in params.items() if value})


templates.env.globals["users_url"] = users_url


def safe_next(target: str | None) -> str:
    """Only a local admin page may follow sign-in (no open redirect)."""
    if target and target.startswith("/admin/") and not target.startswith("//"):
        return target
    return "/admin/users"


@router.get("/")
@router.get("/admin")
def home() -> Response:
    return redirect("/admin/users")


@router.get("/admin/login")
def login_form(request: Request, next: str = "", signed_out: str = "", ended: str = "") -> Response:
    notice = NOTICES["signed_out"] if signed_out else NOTICES["ended"] if ended else ""
    return _login_page(request, safe_next(next), notice=notice)


def _login_page(request: Request, target: str, status: int = 200, **context: Any) -> Response:
    """The sign-in form with a fresh CSRF token, echoed in a cookie (double submit)."""
    csrf = web_auth.new_token()
    response = render(request, "admin/login.html", status, csrf=csrf, next=target, **context)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/admin/login")
    return response


@router.post("/admin/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form(""),
) -> Response:
    target = safe_next(next)
    if not web_auth.tokens_match(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(request, target, 400, username=username,
                           error="This sign-in form had expired. Please try again.")
    try:
        with transaction(request.app.state.sessions) as session:
            token = web_auth.sign_in(session, username.strip(), password)
    except web_auth.TooManyAttempts as refused:
        return _login_page(request, target, refused.status, username=username,
                           error=refused.message)
    if token is None:
        return _login_page(request, target, 401, username=username,
                           error="Wrong username or password.")
    response = redirect(target)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin/login")
    return response


@router.post("/admin/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    token = request.cookies.get(COOKIE)
    with transaction(request.app.state.sessions) as session:
        admin = require_admin(request, session)
        if not web_auth.tokens_match(csrf, admin.csrf_token):
            return render(request, "admin/_signed_out.html", status=400, csrf_failed=True)
        web_auth.sign_out(session, token)
    response = redirect("/admin/login?signed_out=1")
    response.delete_cookie(COOKIE, path="/")
    return response


def page_number(text: str) -> int:
    """A ``page`` query value as a page number: anything that is not a number is page 1."""
    return int(text) if text.isdigit() and len(text) < 9 else 1


@router.get("/admin/users")
def users_page(
    request: Request, db: str = "", q: str = "", page: str = "1", user: str = "", tab: str = ""
) -> Response:
    with transaction(request.app.state.sessions) as session:
        admin = require_admin(request, session)
        view = users_view(session, db, q, page_number(page), user)
    return render(request, "admin/users.html", admin=admin, view=view, requested=user,
                  tab="payroll" if tab == "payroll" else "details")


def users_view(session: Session, db: str, q: str, page: int, user: str) -> UsersView:
    """The page's state. With one database only, it is picked for the clerk."""
    names = admin_users.database_names(session)
    database = db or (names[0] if len(names) == 1 else "")
    tenant = admin_users.tenant_id(session, database) if database else None
    if tenant is None:
        return UsersView(names, database, q, None, None, unknown_database=bool(database))
    results = admin_users.find_users(session, tenant, q, page)
    details = admin_users.find_details(session, tenant, user) if user else None
    return UsersView(names, database, q, results, details)


@router.get("/admin/users/results")
def results_fragment(
    request: Request, db: str = "", q: str = "", page: str = "1", user: str = ""
) -> Response:
    with transaction(request.app.state.sessions) as session:
        require_admin(request, session)
        view = users_view(session, db, q, page_number(page), "")
    return render(request, "admin/_results.html", view=view, requested=user)


@router.get("/admin/users/detail")
def detail_fragment(request: Request, db: str = "", user: str = "") -> Response:
    with transaction(request.app.state.sessions) as session:
        require_admin(request, session)
        view = detail_view(session, db, user)
    status = 200 if view.details else 404
    return render(request, "admin/_detail.html", status, view=view, requested=user, tab="details")


def detail_view(session: Session, db: str, user: str) -> UsersView:
    tenant = admin_users.tenant_id(session, db)
    details = admin_users.find_details(session, tenant, user) if tenant is not None else None
    return UsersView([], db, "", None, details, unknown_database=tenant is None)
