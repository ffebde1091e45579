"""HR/Payroll > Staff > Directories > Parameters (Auto Assign ID) and Staff Portal >
Staff Portal Username Parameters (Auto Assign Staff Username and its pattern).

Both are HR/Payroll screens in the seed, so an HR clerk may open them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from staffsync.fis import parameters, usernames
from staffsync.fis.pages.common import Hr, HrForm, PageRoute, PageSession, redirect, render
from staffsync.kit.errors import InvalidInput

router = APIRouter(prefix="/hr", route_class=PageRoute)
PLACEHOLDERS = ", ".join("{" + name + "}" for name in sorted(usernames.PLACEHOLDERS))

SCREENS = {
    "parameters": ("parameters.html", ("auto_assign_id", "next_staff_id")),
    "username-parameters": ("username_parameters.html",
                            ("auto_assign_username", "username_pattern")),
}


def _changes(form: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """Checkboxes are posted only when ticked; the next number must be a whole number."""
    changes: dict[str, Any] = {}
    for name in names:
        raw = form.get(name, "").strip()
        if name.startswith("auto_assign"):
            changes[name] = raw == "on"
        elif name == "next_staff_id":
            changes[name] = int(raw) if raw.isdigit() else -1
        else:
            changes[name] = raw
    return changes


def _values(session: Session, names: tuple[str, ...]) -> dict[str, Any]:
    params = parameters.load(session)
    return {name: getattr(params, name) for name in names}


def _page(request: Request, screen: str, values: dict[str, Any], status: int = 200,
          **context: Any) -> Response:
    template, _ = SCREENS[screen]
    return render(request, template, status=status, values=values,
                  placeholders=PLACEHOLDERS, **context)


def _show(screen: str) -> Any:
    def show(request: Request, _: Hr, session: PageSession) -> Response:
        saved = request.query_params.get("done") == "saved"
        return _page(request, screen, _values(session, SCREENS[screen][1]), saved=saved)
    return show


def _save(screen: str) -> Any:
    def save(request: Request, form: HrForm, session: PageSession) -> Response:
        try:
            parameters.update_parameters(session, _changes(form, SCREENS[screen][1]))
        except InvalidInput as error:
            return _page(request, screen, dict(form), 422, errors=error.fields)
        return redirect(f"/hr/{screen}?done=saved")
    return save


for _screen in SCREENS:
    router.add_api_route(f"/{_screen}", _show(_screen), methods=["GET"])
    router.add_api_route(f"/{_screen}", _save(_screen), methods=["POST"])
