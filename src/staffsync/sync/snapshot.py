"""The contract between FIS and the sync: one user's synced values, and nothing else.

FIS builds a ``UserSnapshot`` from its records (``staffsync.fis`` owns that code);
the sync maps it to a SCIM User. Because the snapshot has no field for them, the
SSN, address, gender, race and hire date cannot reach SCView or a sync log line.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

PhoneType = Literal["cell", "home", "work"]


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    staff_key: str  # FIS's stable internal staff key -> SCIM externalId
    username: str  # -> userName (SCView: UserID)
    staff_id: str | None  # -> enterprise employeeNumber (SCView: Payroll tab, Employee ID)
    first_name: str | None  # -> name.givenName
    last_name: str | None  # -> name.familyName
    email: str | None  # -> emails[type=work, primary=true].value
    phone: str | None  # the primary phone only, E.164 -> phoneNumbers[primary=true].value
    phone_type: PhoneType | None  # cell -> mobile, home, work
    active: bool  # Staff Status active/inactive -> active

    def as_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict, which deep-copies each value: a sync all keeps 10,000
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in fields(UserSnapshot))
