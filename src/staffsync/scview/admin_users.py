"""What SCView's Admin > Users pages show: a tenant's users, one page at a time, and one
user's Details and Payroll values, read from the stored SCIM resource.

Every function takes a ``Session`` and never commits. A page holds at most ``PAGE_SIZE``
users, so no query ever loads a whole tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from staffsync.scview.models import Tenant, users
from staffsync.scview.resources import ENTERPRISE_SCHEMA

PAGE_SIZE = 25
MAX_QUERY = 100  # longer search text is cut: no username is that long


@dataclass(frozen=True)
class UserRow:
    id: str
    user_name: str
    full_name: str
    active: bool


@dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    total: int
    page: int  # 1-based
    pages: int

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


@dataclass(frozen=True)
class UserDetails:
    id: str
    user_name: str  # shown as "UserID"
    first_name: str
    last_name: str
    email: str
    phone: str
    active: bool
    employee_id: str


def page_count(total: int) -> int:
    """``ceil(total / PAGE_SIZE)``, and 1 for an empty list (page 1 of 1)."""
    return max(1, -(-total // PAGE_SIZE))


def database_names(session: Session) -> list[str]:
    return list(session.scalars(select(Tenant.name).order_by(Tenant.name)))


def tenant_id(session: Session, name: str) -> int | None:
    return session.scalar(select(Tenant.id).where(Tenant.name == name))


def _matching(text: str) -> ColumnElement[bool]:
    """Username or last name containing ``text`` (both columns are stored lower-cased)."""
    needle = text.strip().lower()[:MAX_QUERY]
    if not needle:
        return true()
    return or_(
        users.c.user_name.contains(needle, autoescape=True),
        users.c.family_name.contains(needle, autoescape=True),
    )


def find_users(session: Session, tenant: int, text: str, page: int) -> UserPage:
    """Page ``page`` (clamped to the last one) of the matching users, by username."""
    condition = (users.c.tenant_id == tenant) & _matching(text)
    total = int(session.scalar(select(func.count()).select_from(users).where(condition)) or 0)
    page = min(max(page, 1), page_count(total))
    query = (
        select(users.c.resource)
        .where(condition)
        .order_by(users.c.user_name, users.c.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = [_row(resource) for resource in session.scalars(query)]
    return UserPage(rows=rows, total=total, page=page, pages=page_count(total))


def _row(resource: dict[str, Any]) -> UserRow:
    name = resource.get("name") or {}
    full = " ".join(part for part in (name.get("givenName"), name.get("familyName")) if part)
    return UserRow(resource["id"], resource["userName"], full, resource.get("active") is not False)


def find_details(session: Session, tenant: int, user_id: str) -> UserDetails | None:
    resource = session.scalar(
        select(users.c.resource).where(users.c.tenant_id == tenant, users.c.id == user_id)
    )
    return details(resource) if resource is not None else None


def details(resource: dict[str, Any]) -> UserDetails:
    """The Details and Payroll values of a SCIM user resource (missing values are "")."""
    name = resource.get("name") or {}
    enterprise = resource.get(ENTERPRISE_SCHEMA) or {}
    return UserDetails(
        id=resource["id"],
        user_name=resource["userName"],
        first_name=name.get("givenName") or "",
        last_name=name.get("familyName") or "",
        email=preferred(resource.get("emails"), "work").get("value") or "",
        phone=preferred(resource.get("phoneNumbers"), "").get("value") or "",
        active=resource.get("active") is not False,
        employee_id=enterprise.get("employeeNumber") or "",
    )


def preferred(values: list[dict[str, Any]] | None, kind: str) -> dict[str, Any]:
    """The value to show of a multi-valued attribute: the primary one, else the first of
    type ``kind``, else the first; ``{}`` when there is none."""
    values = values or []
    for choice in (
        [v for v in values if v.get("primary") is True],
        [v for v in values if kind and str(v.get("type", "")).lower() == kind],
        values,
    ):
        if choice:
            return choice[0]
    return {}
