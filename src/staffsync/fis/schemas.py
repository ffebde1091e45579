"""The JSON API's bodies.

Inputs are deliberately loose: the OpenAPI document states each field's type, but any JSON
value is passed on, so that the services check every field (types included) and report all
problems at once; unknown fields are refused. Outputs never carry
the SSN except masked, and never the Third Party token.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from staffsync.fis import sync_state
from staffsync.fis.models import CHOICES, LastNameChange, Staff, StaffPhone, User

# Any JSON value reaches the service's checks; the schema documents what is expected.
Text = Annotated[Any, WithJsonSchema({"type": ["string", "null"]})]
Flag = Annotated[Any, WithJsonSchema({"type": ["boolean", "null"]})]
Number = Annotated[Any, WithJsonSchema({"type": ["integer", "null"]})]
Names = Annotated[Any, WithJsonSchema({"type": ["array", "null"], "items": {"type": "string"}})]


def _one_of(name: str) -> Any:
    return Field(None, description="One of: " + ", ".join(m.value for m in CHOICES[name]))


class Input(BaseModel):
    """Unknown fields are passed on too, so the service names them beside every other
    problem ("Unknown field"); the schema still documents them as refused."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})


class StaffIn(Input):
    """Add Staff / Edit Demographics. Selects take the documented enumeration values."""

    ssn: Text = Field(None, description="9 digits; dashes allowed. Never returned.")
    last_name: Text = Field(None, description="Add Staff only; then Edit Last Name.")
    first_name: Text = None
    address1: Text = None
    zip_code: Text = Field(None, description="5 or 9 digits (12345 or 12345-6789).")
    gender: Text = _one_of("gender")
    race: Text = _one_of("race")
    staff_status: Text = _one_of("staff_status")
    employment_status: Text = _one_of("employment_status")
    hire_date: Text = Field(None, description="YYYY-MM-DD.")
    act29: Text = _one_of("act29")
    email: Text = Field(None, description="Entering one creates the FIS user.")
    staff_id: Text = Field(None, description="Only when Auto Assign ID is false.")
    username: Text = Field(
        None, description="Only when Auto Assign Staff Username is false.")


class LastNameIn(Input):
    last_name: Text = None
    reason: Text = None


class PhoneIn(Input):
    phone: Text = Field(None, description="Any US format, or + and a country code.")
    type: Text = _one_of("phone_type")
    primary: Flag = Field(None, description="Only the primary phone syncs.")


class ParametersIn(Input):
    auto_assign_id: Flag = None
    next_staff_id: Number = None
    auto_assign_username: Flag = None
    username_pattern: Text = None
    system_usernames: Names = None


class ThirdPartyIn(Input):
    end_point: Text = None
    token: Text = None
    database_name: Text = None
    enabled: Flag = None


class ErrorOut(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class PhoneOut(BaseModel):
    id: int
    phone: str
    type: str
    primary: bool


class LastNameChangeOut(BaseModel):
    old_name: str
    new_name: str
    reason: str
    changed_at: datetime
    changed_by: str


class SyncOut(BaseModel):
    status: str
    dirty: bool
    version: int
    attempts: int
    last_error: dict[str, Any] | None
    last_synced_at: datetime | None
    next_attempt_at: datetime | None


class StaffSummaryOut(BaseModel):
    staff_id: str
    last_name: str
    first_name: str
    email: str | None
    username: str | None
    staff_status: str


class StaffOut(StaffSummaryOut):
    key: str
    ssn: str  # masked: ***-**-1234
    address1: str
    zip_code: str
    gender: str
    race: str
    employment_status: str
    hire_date: date
    act29: str
    phones: list[PhoneOut]
    last_name_history: list[LastNameChangeOut]
    sync: SyncOut | None


class UserOut(BaseModel):
    username: str
    is_system: bool
    staff_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    sync: SyncOut | None


class ParametersOut(BaseModel):
    auto_assign_id: bool
    next_staff_id: int
    auto_assign_username: bool
    username_pattern: str
    system_usernames: list[str]


class ThirdPartyOut(BaseModel):
    end_point: str | None
    database_name: str | None
    enabled: bool
    token_set: bool


def mask_ssn(last4: str) -> str:
    return f"***-**-{last4}"


def phone_out(phone: StaffPhone) -> PhoneOut:
    return PhoneOut(id=phone.id, phone=phone.phone, type=phone.type, primary=phone.is_primary)


def _history_out(change: LastNameChange) -> LastNameChangeOut:
    return LastNameChangeOut(old_name=change.old_name, new_name=change.new_name,
                             reason=change.reason, changed_at=change.changed_at,
                             changed_by=change.changed_by)


def _summary_fields(staff: Staff) -> dict[str, Any]:
    return {"staff_id": staff.staff_id, "last_name": staff.last_name,
            "first_name": staff.first_name, "email": staff.email,
            "username": staff.user.username if staff.user else None,
            "staff_status": staff.staff_status}


def staff_summary_out(staff: Staff) -> StaffSummaryOut:
    return StaffSummaryOut(**_summary_fields(staff))


def staff_out(staff: Staff) -> StaffOut:
    return StaffOut(
        **_summary_fields(staff), key=staff.key, ssn=mask_ssn(staff.ssn_last4),
        address1=staff.address1, zip_code=staff.zip_code, gender=staff.gender,
        race=staff.race, employment_status=staff.employment_status,
        hire_date=staff.hire_date, act29=staff.act29,
        phones=[phone_out(p) for p in staff.phones],
        last_name_history=[_history_out(c) for c in staff.last_name_history],
        sync=sync_out(staff.user) if staff.user else None,
    )


def sync_out(user: User) -> SyncOut | None:
    """System users never sync, so they have no sync state to show."""
    if user.is_system:
        return None
    return SyncOut(**sync_state.describe(user.sync_state))


def user_out(user: User) -> UserOut:
    staff = user.staff
    return UserOut(
        username=user.username, is_system=user.is_system,
        staff_id=staff.staff_id if staff else None,
        first_name=staff.first_name if staff else None,
        last_name=staff.last_name if staff else None,
        email=staff.email if staff else None, sync=sync_out(user),
    )
