"""What every FIS page shares: templates, the login and CSRF dependencies, and the route
class that turns errors into pages.

Two kinds of request transaction: ``PageSession`` (one transaction for the whole
request, login check included) for pages that only touch the FIS database, and
``ShortLogin`` (the login check in its own short transaction, nothing held open after
it) for pages that call SCView, because no transaction may stay open across a network
call.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import URL

from staffsync.fis import web_auth
from staffsync.fis.models import Role
from staffsync.kit.db import transaction
from staffsync.kit.errors import InvalidInput, StaffsyncError

HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=HERE / "templates")
STATIC = HERE / "static"


def factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def idle_timeout(request: Request) -> timedelta:
    return request.app.state.idle_timeout


def get_session(request: Request) -> Iterator[Session]:
    with transaction(factory(request)) as session:
        yield session


PageSession = Annotated[Session, Depends(get_session, scope="function")]


def _login(request: Request, session: PageSession) -> web_auth.Login:
    login = web_auth.current(session, request.cookies.get(web_auth.COOKIE), idle_timeout(request))
    request.state.login = login
    return login


def _short_login(request: Request) -> web_auth.Login:
    with transaction(factory(request)) as session:
        login = web_auth.current(session, request.cookies.get(web_auth.COOKIE),
                                 idle_timeout(request))
    request.state.login = login
    return login


def _hr(login: Annotated[web_auth.Login, Depends(_login)]) -> web_auth.Login:
    return login


def _sysadmin(login: Annotated[web_auth.Login, Depends(_login)]) -> web_auth.Login:
    web_auth.require_role(login, Role.sysadmin)
    return login


def _sysadmin_short(login: Annotated[web_auth.Login, Depends(_short_login)]) -> web_auth.Login:
    web_auth.require_role(login, Role.sysadmin)
    return login


Hr = Annotated[web_auth.Login, Depends(_hr)]
Sysadmin = Annotated[web_auth.Login, Depends(_sysadmin)]
SysadminShort = Annotated[web_auth.Login, Depends(_sysadmin_short)]


async def _form(request: Request) -> dict[str, str]:
    """The posted form's text fields (a repeated name keeps its last value)."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


Form = Annotated[dict[str, str], Depends(_form)]


def _checked(login: web_auth.Login, form: dict[str, str]) -> dict[str, str]:
    web_auth.check_csrf(login.csrf_token, form.pop("csrf_token", None))
    return form


def _hr_form(login: Hr, form: Form) -> dict[str, str]:
    return _checked(login, form)


def _sysadmin_form(login: Sysadmin, form: Form) -> dict[str, str]:
    return _checked(login, form)


def _sysadmin_short_form(login: SysadminShort, form: Form) -> dict[str, str]:
    return _checked(login, form)


# A posted form whose CSRF token matched the signed-in session's.
HrForm = Annotated[dict[str, str], Depends(_hr_form)]
SysadminForm = Annotated[dict[str, str], Depends(_sysadmin_form)]
SysadminShortForm = Annotated[dict[str, str], Depends(_sysadmin_short_form)]


# Pages show personal data: keep them out of shared caches and out of other sites' frames.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A page; every template sees ``login`` (who is signed in) and ``path``."""
    context.setdefault("login", getattr(request.state, "login", None))
    context.setdefault("errors", {})
    context["path"] = request.url.path
    return templates.TemplateResponse(request, name, context, status_code=status,
                                      headers=PAGE_HEADERS)


PAGE_SIZE = 50


@dataclass(frozen=True)
class Paging:
    """One page of a long list: page ``number`` (from 1) of ``size`` rows, ``total`` in all."""

    number: int
    size: int
    total: int
    url: str  # this page's URL, search included

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def text(self) -> str:
        """``Showing 51-100 of 2,027`` (with an en dash)."""
        last = min(self.offset + self.size, self.total)
        return f"Showing {self.offset + 1:,}\N{EN DASH}{last:,} of {self.total:,}"

    def link(self, number: int) -> str | None:
        """The URL of page ``number``, or None when there is no such page."""
        if number < 1 or (number - 1) * self.size >= self.total:
            return None
        return str(URL(self.url).include_query_params(page=number))


def paging(request: Request, total: int, size: int = PAGE_SIZE) -> Paging:
    """The page the ``page`` query parameter asks for, kept within the list's pages."""
    raw = request.query_params.get("page", "")
    last = max(1, -(-total // size))
    number = min(max(int(raw), 1), last) if raw.isdigit() else 1
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Paging(number, size, total, url)


def redirect(url: str) -> Response:
    """After a successful POST: 303 so that a reload does not post again."""
    return RedirectResponse(url, status_code=303)


def field_errors(error: InvalidInput) -> dict[str, str]:
    return dict(error.fields)


def _error_page(request: Request, error: StaffsyncError) -> Response:
    if isinstance(error, web_auth.LoginRequired):
        # After signing in, a GET comes back to where it was; a POST cannot be replayed.
        back = request.url.path if request.method == "GET" else "/hr/staff"
        target = "/login?next=" + quote(back, safe="/")
        if "timed out" in error.message:
            target += "&expired=1"
        return RedirectResponse(target, status_code=303)
    return render(request, "error.html", status=error.status, error=error)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    """Routes whose errors are pages: not signed in -> the sign-in page; any other
    ``StaffsyncError`` -> an error page with its status (403, 404, ...)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except StaffsyncError as error:
                return _error_page(request, error)

        return page_handler


# How a select shows a stored value when title case is not enough.
LABELS = {
    "american_indian_alaska_native": "American Indian or Alaska Native",
    "black_african_american": "Black or African American",
    "hispanic_latino": "Hispanic or Latino",
    "native_hawaiian_pacific_islander": "Native Hawaiian or Other Pacific Islander",
    "multiracial": "Two or more races",
    "nonbinary": "Non-binary",
    "new": "New Act 29",
    "existing": "Existing Act 29",
    # who started a sync run
    "page": "FIS screen",
    "api": "API",
    "cli": "Command line",
}


def label(value: str | None) -> str:
    """``full_time`` -> ``Full Time``, unless ``LABELS`` names it better."""
    if not value:
        return ""
    return LABELS.get(value) or value.replace("_", " ").title()


def options(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """A select's ``(value, label)`` pairs."""
    return [(member.value, label(member.value)) for member in enum]


# The synced fields a sync run names (the sync's field names -> the seed's words).
FIELD_LABELS = {
    "user_name": "Username", "employee_number": "Staff ID", "given_name": "First Name",
    "family_name": "Last Name", "email": "Email Address", "phone": "Phone Number",
    "phone_type": "Phone type", "active": "Staff Status", "external_id": "Staff key",
}


def field_labels(names: list[str] | None) -> str:
    """``["family_name", "phone"]`` -> ``Last Name, Phone Number``."""
    return ", ".join(FIELD_LABELS.get(name, label(name)) for name in names or [])


templates.env.filters["label"] = label
templates.env.filters["field_labels"] = field_labels
