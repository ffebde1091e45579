"""FIS ``UserSnapshot`` <-> SCIM User JSON, per DESIGN.md's "Data that syncs" table.

The reverse direction reads only the synced attributes of a SCView user into a
``Comparable``, so "unchanged" vs "differs" ignores whatever SCView adds of its own.
Plain JSON dicts rather than scim2-models objects: a sync all maps tens of thousands
of users and compares them field by field, and dicts keep that cheap.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from staffsync.sync.snapshot import UserSnapshot

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EMPLOYEE_NUMBER = f"{ENTERPRISE}:employeeNumber"
PHONE_TYPES = {"cell": "mobile", "home": "home", "work": "work"}
FIS_PHONE_TYPES = {scim: fis for fis, scim in PHONE_TYPES.items()}
# The attributes a listing needs (RFC 7644 3.4.2.5); servers may send more.
SYNCED_ATTRIBUTES = ",".join(
    ["userName", "externalId", "name", "emails", "phoneNumbers", "active", EMPLOYEE_NUMBER]
)


class Comparable(NamedTuple):
    """The synced values of one user, in SCIM terms; equal means nothing to write.

    A tuple, so that building tens of thousands and comparing them is cheap.
    """

    external_id: str | None
    user_name: str | None
    employee_number: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    phone_type: str | None  # SCIM type: mobile, home, work
    active: bool


FIELDS: tuple[str, ...] = Comparable._fields


def to_scim(snapshot: UserSnapshot) -> dict[str, Any]:
    """The full SCIM User for a snapshot; no primary phone means no ``phoneNumbers``."""
    user: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE],
        "externalId": snapshot.staff_key,
        "userName": snapshot.username,
        "name": {"givenName": snapshot.first_name, "familyName": snapshot.last_name},
        "emails": [{"value": snapshot.email, "type": "work", "primary": True}],
        "active": snapshot.active,
        ENTERPRISE: {"employeeNumber": snapshot.staff_id},
    }
    if snapshot.phone:
        user["phoneNumbers"] = [_phone(snapshot.phone, snapshot.phone_type)]
    return user


def _phone(value: str, fis_type: str | None) -> dict[str, Any]:
    return {"value": value, "type": PHONE_TYPES[fis_type or "cell"], "primary": True}


# Both build the tuple positionally, in ``FIELDS`` order: with keyword arguments, reading
# 10,027 SCView users took a third longer (22 ms against 17 ms).
def comparable_of_snapshot(snapshot: UserSnapshot) -> Comparable:
    phone = snapshot.phone or None
    return Comparable(
        snapshot.staff_key,  # external_id
        snapshot.username,  # user_name
        snapshot.staff_id,  # employee_number
        snapshot.first_name,  # given_name
        snapshot.last_name,  # family_name
        snapshot.email,  # email
        phone,  # phone
        PHONE_TYPES[snapshot.phone_type or "cell"] if phone else None,  # phone_type
        snapshot.active,  # active
    )


def comparable_of_scim(user: dict[str, Any]) -> Comparable:
    """Read the synced values of a SCIM User (as any conforming server returns it)."""
    name = user.get("name") or {}
    email = _primary(user.get("emails"), prefer_type="work")
    phone = _primary(user.get("phoneNumbers"))
    phone_value = phone.get("value")
    return Comparable(
        user.get("externalId"),  # external_id
        user.get("userName"),  # user_name
        (user.get(ENTERPRISE) or {}).get("employeeNumber"),  # employee_number
        name.get("givenName"),  # given_name
        name.get("familyName"),  # family_name
        email.get("value"),  # email
        phone_value,  # phone
        phone.get("type") if phone_value else None,  # phone_type
        # RFC 7643: "active" absent means the server has no opinion; treat as active.
        bool(user.get("active", True)),  # active
    )


def _primary(values: Any, prefer_type: str | None = None) -> dict[str, Any]:
    """The primary value of a multi-valued attribute, else one of ``prefer_type``, else first."""
    typed = first = None
    for value in values or ():
        if not isinstance(value, dict):
            continue
        if value.get("primary") is True:
            return value
        if typed is None and prefer_type is not None and value.get("type") == prefer_type:
            typed = value
        if first is None:
            first = value
    return typed or first or {}


def differing(want: Comparable, have: Comparable) -> tuple[str, ...]:
    """The names of the ``Comparable`` fields whose values differ (empty: unchanged)."""
    if want == have:  # the usual case in a reconciliation: one tuple comparison
        return ()
    return tuple(name for name, a, b in zip(FIELDS, want, have, strict=True) if a != b)


def patch_operations(snapshot: UserSnapshot, changed: tuple[str, ...]) -> list[dict[str, Any]]:
    """RFC 7644 PATCH operations that set only the ``changed`` fields; a lost phone is removed."""
    user = to_scim(snapshot)
    ops: list[dict[str, Any]] = []
    for path in dict.fromkeys(_PATHS[name] for name in changed):
        if path == "phoneNumbers" and "phoneNumbers" not in user:
            ops.append({"op": "remove", "path": path})
        else:
            ops.append({"op": "replace", "path": path, "value": _value_at(user, path)})
    return ops


_PATHS = {
    "external_id": "externalId",
    "user_name": "userName",
    "employee_number": EMPLOYEE_NUMBER,
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "email": "emails",
    "phone": "phoneNumbers",
    "phone_type": "phoneNumbers",
    "active": "active",
}


def _value_at(user: dict[str, Any], path: str) -> Any:
    if path == EMPLOYEE_NUMBER:
        return user[ENTERPRISE]["employeeNumber"]
    head, _, tail = path.partition(".")
    return user[head][tail] if tail else user[head]


def patch_request(operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}
