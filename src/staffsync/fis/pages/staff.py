"""HR/PY > Staff: Staff Search, Add Staff, Personal (Edit Demographics, Edit Last Name)
and the Staff Phone tab. Every rule lives in the services; these routes turn a form into
the service's input and its ``InvalidInput`` back into errors beside the fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from staffsync.fis import parameters, phones, schemas, staff, zip_codes
from staffsync.fis.models import (
    Act29,
    EmploymentStatus,
    Gender,
    PhoneType,
    Race,
    Staff,
    StaffStatus,
)
from staffsync.fis.pages.common import (
    Hr,
    HrForm,
    PageRoute,
    PageSession,
    options,
    paging,
    redirect,
    render,
)
from staffsync.kit.errors import InvalidInput

router = APIRouter(prefix="/hr/staff", route_class=PageRoute)

SELECTS = {
    "gender": options(Gender), "race": options(Race), "staff_status": options(StaffStatus),
    "employment_status": options(EmploymentStatus), "act29": options(Act29),
    "phone_type": options(PhoneType),
}
# Demographics a person edits on the Personal screen (the last name has its own dialog).
DEMOGRAPHICS = ("first_name", "address1", "zip_code", "gender", "race", "staff_status",
                "employment_status", "hire_date", "act29", "email")
ADD_FIELDS = ("ssn", "last_name", *DEMOGRAPHICS)
DONE = {
    "saved": "Demographics saved.",
    "renamed": "Last name changed.",
    "phone_added": "Phone added.",
    "phone_saved": "Phone saved.",
    "phone_deleted": "Phone deleted.",
}


def _hand_entered(session: Session) -> tuple[str, ...]:
    """Staff ID and Username are typed in only while their Auto Assign parameter is off."""
    params = parameters.load(session)
    return tuple(name for name, auto in (("staff_id", params.auto_assign_id),
                                          ("username", params.auto_assign_username))
                 if not auto)


def _pick(form: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: form.get(name, "") for name in names}


@router.get("")
def search(request: Request, _: Hr, session: PageSession, q: str = "") -> Response:
    pages = paging(request, staff.count(session, q))
    found = staff.search(session, q, pages.size, pages.offset)
    return render(request, "staff_search.html", q=q, found=found, paging=pages)


def _add_page(request: Request, session: Session, values: dict[str, str],
              errors: dict[str, str], status: int = 200) -> Response:
    return render(request, "staff_add.html", status=status, values=values, errors=errors,
                  selects=SELECTS, zip_codes=zip_codes.choices(session, values.get("zip_code")),
                  hand_entered=_hand_entered(session))


@router.get("/add")
def add_form(request: Request, _: Hr, session: PageSession) -> Response:
    return _add_page(request, session, {"staff_status": "active"}, {})


@router.post("/add")
def add(request: Request, form: HrForm, session: PageSession) -> Response:
    data = _pick(form, ADD_FIELDS + _hand_entered(session))
    try:
        added = staff.add(session, data)
    except InvalidInput as error:
        # The SSN is never sent back to the browser: the clerk types it again.
        kept = {name: value for name, value in form.items() if name != "ssn"}
        return _add_page(request, session, kept, error.fields, status=422)
    return redirect(f"/hr/staff/{added.staff_id}?done=added")


def _current_values(member: Staff) -> dict[str, str]:
    values = {name: str(getattr(member, name) or "") for name in DEMOGRAPHICS}
    values["staff_id"] = member.staff_id
    values["username"] = member.user.username if member.user else ""
    return values


def _done(request: Request, member: Staff) -> str | None:
    """The success message; after Add Staff it names the Staff ID and Username given."""
    key = request.query_params.get("done", "")
    if key != "added":
        return DONE.get(key)
    username = f" Username: {member.user.username}." if member.user else (
        " No username: enter an email address to create the FIS and SCView user.")
    return f"Staff added. Staff ID: {member.staff_id}.{username}"


def _personal_page(request: Request, session: Session, member: Staff, status: int = 200,
                   **context: Any) -> Response:
    values = context.setdefault("values", _current_values(member))
    return render(request, "staff_personal.html", status=status, staff=member,
                  ssn=schemas.mask_ssn(member.ssn_last4), selects=SELECTS,
                  zip_codes=zip_codes.choices(session, values.get("zip_code")),
                  hand_entered=_hand_entered(session),
                  done=_done(request, member), **context)


@router.get("/{staff_id}")
def personal(request: Request, staff_id: str, _: Hr, session: PageSession) -> Response:
    return _personal_page(request, session, staff.get(session, staff_id))


@router.post("/{staff_id}")
def save_demographics(request: Request, staff_id: str, form: HrForm,
                      session: PageSession) -> Response:
    data = _pick(form, DEMOGRAPHICS + _hand_entered(session))
    try:
        saved = staff.update(session, staff_id, data)
    except InvalidInput as error:
        member = staff.get(session, staff_id)
        return _personal_page(request, session, member, 422, values=form, errors=error.fields)
    return redirect(f"/hr/staff/{saved.staff_id}?done=saved")


@router.post("/{staff_id}/last-name")
def edit_last_name(request: Request, staff_id: str, login: Hr, form: HrForm,
                   session: PageSession) -> Response:
    try:
        staff.change_last_name(session, staff_id, form.get("last_name"), form.get("reason"),
                               changed_by=login.username)
    except InvalidInput as error:
        member = staff.get(session, staff_id)
        return _personal_page(request, session, member, 422, dialog=form,
                              dialog_errors=error.fields)
    return redirect(f"/hr/staff/{staff_id}?done=renamed")


def _phone_data(form: dict[str, str], *, editing: bool) -> dict[str, Any]:
    """An unticked checkbox is not posted: absent ``primary`` means not primary."""
    data: dict[str, Any] = {"phone": form.get("phone", ""), "type": form.get("type", "")}
    data["primary"] = form.get("primary") == "on"
    if editing and not data["type"]:
        data.pop("type")
    return data


@router.get("/{staff_id}/phones")
def phone_tab(request: Request, staff_id: str, _: Hr, session: PageSession) -> Response:
    member = staff.get(session, staff_id)
    return render(request, "staff_phones.html", staff=member,
                  done=DONE.get(request.query_params.get("done", "")))


def _phone_form(request: Request, member: Staff, values: dict[str, str],
                phone_id: int | None = None, status: int = 200, **context: Any) -> Response:
    return render(request, "phone_form.html", status=status, staff=member, values=values,
                  phone_id=phone_id, selects=SELECTS, **context)


@router.get("/{staff_id}/phones/add")
def add_phone_form(request: Request, staff_id: str, _: Hr, session: PageSession) -> Response:
    return _phone_form(request, staff.get(session, staff_id), {"type": "cell"})


@router.post("/{staff_id}/phones/add")
def add_phone(request: Request, staff_id: str, form: HrForm, session: PageSession) -> Response:
    try:
        phones.add(session, staff_id, _phone_data(form, editing=False))
    except InvalidInput as error:
        member = staff.get(session, staff_id)
        return _phone_form(request, member, form, status=422, errors=error.fields)
    return redirect(f"/hr/staff/{staff_id}/phones?done=phone_added")


@router.get("/{staff_id}/phones/{phone_id}")
def edit_phone_form(request: Request, staff_id: str, phone_id: int, _: Hr,
                    session: PageSession) -> Response:
    member = staff.get(session, staff_id)
    phone = next((p for p in member.phones if p.id == phone_id), None)
    if phone is None:
        raise phones.PhoneNotFound()
    values = {"phone": phone.phone, "type": phone.type, "primary": "on" if phone.is_primary else ""}
    done = DONE.get(request.query_params.get("done", ""))
    return _phone_form(request, member, values, phone_id, done=done)


@router.post("/{staff_id}/phones/{phone_id}")
def edit_phone(request: Request, staff_id: str, phone_id: int, form: HrForm,
               session: PageSession) -> Response:
    try:
        phones.update(session, staff_id, phone_id, _phone_data(form, editing=True))
    except InvalidInput as error:
        member = staff.get(session, staff_id)
        return _phone_form(request, member, form, phone_id, 422, errors=error.fields)
    if form.get("action") == "close":
        return redirect(f"/hr/staff/{staff_id}/phones?done=phone_saved")
    return redirect(f"/hr/staff/{staff_id}/phones/{phone_id}?done=phone_saved")


@router.post("/{staff_id}/phones/{phone_id}/delete")
def delete_phone(staff_id: str, phone_id: int, _: HrForm, session: PageSession) -> Response:
    phones.delete(session, staff_id, phone_id)
    return redirect(f"/hr/staff/{staff_id}/phones?done=phone_deleted")
