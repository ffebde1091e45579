"""HR/PY > Staff > Directories > ZIP Codes: list, add and remove the district's ZIP
codes, which the ZIP Code select on Add Staff and Edit Demographics offers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from staffsync.fis import zip_codes
from staffsync.fis.pages.common import Hr, HrForm, PageRoute, PageSession, redirect, render
from staffsync.kit.errors import InvalidInput

router = APIRouter(prefix="/hr/zip-codes", route_class=PageRoute)
DONE = {"added": "ZIP Code added.", "removed": "ZIP Code removed."}


def _page(request: Request, session: Session, values: dict[str, str], status: int = 200,
          **context: object) -> Response:
    return render(request, "zip_codes.html", status=status, values=values,
                  entries=zip_codes.directory(session), shown=zip_codes.shown,
                  done=DONE.get(request.query_params.get("done", "")), **context)


@router.get("")
def directory(request: Request, _: Hr, session: PageSession) -> Response:
    return _page(request, session, {"state": "PA"})


@router.post("")
def add(request: Request, form: HrForm, session: PageSession) -> Response:
    data = {name: form.get(name, "") for name in ("zip_code", "city", "state")}
    try:
        zip_codes.add(session, data)
    except InvalidInput as error:
        return _page(request, session, form, 422, errors=error.fields)
    return redirect("/hr/zip-codes?done=added")


@router.post("/{zip_code}/delete")
def remove(zip_code: str, _: HrForm, session: PageSession) -> Response:
    zip_codes.remove(session, zip_code)
    return redirect("/hr/zip-codes?done=removed")
