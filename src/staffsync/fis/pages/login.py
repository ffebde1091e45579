"""Sign in and sign out.

The sign-in form has no session yet, so its CSRF token is a double-submit one: a random
value in a SameSite=Lax cookie that the hidden field must repeat.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from staffsync.fis import web_auth
from staffsync.fis.pages.common import Form, PageRoute, PageSession, redirect, render

router = APIRouter(route_class=PageRoute)
LOGIN_CSRF = "fis_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only paths on this site: ``//evil.example`` or a full URL falls back to Staff."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/hr/staff"


def _cookie_args(request: Request) -> dict[str, object]:
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https",
            "path": "/"}


def _login_page(request: Request, status: int = 200, **context: object) -> Response:
    token = web_auth.new_token()
    response = render(request, "login.html", status=status, csrf_token=token,
                      next=_safe_next(request.query_params.get("next")),
                      expired=request.query_params.get("expired") == "1", **context)
    response.set_cookie(LOGIN_CSRF, token, **_cookie_args(request))  # type: ignore[arg-type]
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
def login(request: Request, form: Form, session: PageSession) -> Response:
    web_auth.check_csrf(request.cookies.get(LOGIN_CSRF, ""), form.get("csrf_token"))
    username = form.get("username", "")
    session_id = web_auth.sign_in(session, username, form.get("password", ""),
                                  request.app.state.idle_timeout)
    if session_id is None:
        return _login_page(request, 401, username=username,
                           failed="The username or password is incorrect.")
    web_auth.sign_out(session, request.cookies.get(web_auth.COOKIE))
    response = redirect(_safe_next(form.get("next")))
    response.set_cookie(web_auth.COOKIE, session_id, **_cookie_args(request))  # type: ignore[arg-type]
    response.delete_cookie(LOGIN_CSRF, path="/")
    return response


@router.post("/logout")
def logout(request: Request, form: Form, session: PageSession) -> Response:
    session_id = request.cookies.get(web_auth.COOKIE)
    login = web_auth.current(session, session_id, request.app.state.idle_timeout)
    web_auth.check_csrf(login.csrf_token, form.get("csrf_token"))
    web_auth.sign_out(session, session_id)
    response = redirect("/login?signed_out=1")
    response.delete_cookie(web_auth.COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return redirect("/hr/staff")
