"""A fast reader for the usual shape of a User request body (what FIS, Okta and Entra send).

``read_common(body)`` returns the stored form of the body exactly as
``stored_form(parse_user(body))`` would (a property test holds it to that), or ``None``
when the body has anything outside the usual shape; the caller then falls back to the
full scim2-models validation, which also produces the precise SCIM error. It exists
because model validation costs about 0.4 ms per user, which would cap Bulk far below
its target; this reader costs a few microseconds plus the e-mail check.
"""

from __future__ import annotations

import re
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES as SPECIAL_USE
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

STRINGS = ("userName", "externalId", "displayName", "nickName", "title")
NAME_PARTS = ("formatted", "familyName", "givenName", "middleName",
              "honorificPrefix", "honorificSuffix")
ENTERPRISE_PARTS = ("employeeNumber", "costCenter", "organization", "division", "department")
EMAIL_TYPES = frozenset({"work", "home", "other"})
PHONE_TYPES = frozenset({"work", "home", "mobile", "fax", "pager", "other"})
# dot-atom local part of common characters; LDH labels without "--" (no punycode); a
# letters-only top-level domain of 2+ letters
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(
    r"(?P<local>(?=[^@]{1,64}@)[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)"
    rf"@(?P<domain>(?!.*--)(?:{_LABEL}\.)+[A-Za-z]{{2,63}})"
)
KNOWN = frozenset({"schemas", "name", "active", "emails", "phoneNumbers", ENTERPRISE, *STRINGS})


class _Unusual(Exception):
    """The body is outside the usual shape: let scim2-models read it."""


def read_common(body: Any) -> dict[str, Any] | None:
    """The stored form of a usual User body, or None to fall back to scim2-models."""
    try:
        return _read(body)
    except _Unusual:
        return None


def _read(body: Any) -> dict[str, Any]:
    _require(isinstance(body, dict) and body.keys() <= KNOWN)
    schemas = body.get("schemas")
    _require(schemas in ([CORE], [CORE, ENTERPRISE]))
    _require((ENTERPRISE in body) == (len(schemas) == 2))
    data: dict[str, Any] = {"schemas": list(schemas)}
    _require(isinstance(body.get("userName"), str))
    data.update(_picked(body, STRINGS))
    _put(data, "name", _strings(_object(body.get("name")), NAME_PARTS))
    if body.get("active") is not None:
        data["active"] = _boolean(body["active"])
    _put(data, "emails", _multi(body.get("emails"), EMAIL_TYPES, _email))
    _put(data, "phoneNumbers", _multi(body.get("phoneNumbers"), PHONE_TYPES, _string))
    if ENTERPRISE in body:
        data[ENTERPRISE] = _strings(_object(body[ENTERPRISE]), ENTERPRISE_PARTS)
        _require(bool(data[ENTERPRISE]))  # an empty extension: the model's rules apply
    return data


def _require(condition: bool) -> None:
    if not condition:
        raise _Unusual


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    if value:
        data[key] = value


def _object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    _require(isinstance(value, dict))
    return value


def _strings(source: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """A sub-object of string attributes only."""
    _require(source.keys() <= set(keys))
    return _picked(source, keys)


def _picked(source: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    return {key: _string(source[key]) for key in keys if source.get(key) is not None}


def _string(value: Any) -> str:
    _require(isinstance(value, str))
    return str(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, str):  # Entra sends "True"/"False"
        _require(value.lower() in ("true", "false"))
        return value.lower() == "true"
    _require(isinstance(value, bool))
    return bool(value)


def _email(value: Any) -> str:
    """What scim2-models' EmailStr stores: a plain ASCII address with its domain
    lower-cased, checked here by one regex (a fifth of a Bulk's time went to the full
    validator); anything else takes pydantic's ``validate_email``."""
    text = _string(value)
    plain = _PLAIN_EMAIL.fullmatch(text)
    if plain is not None and len(text) <= 254:
        domain = plain["domain"].lower()
        if not any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE):
            return f"{plain['local']}@{domain}"
    try:
        return validate_email(text)[1]
    except PydanticCustomError:
        raise _Unusual from None


def _multi(values: Any, types: frozenset[str], read_value: Any) -> list[dict[str, Any]]:
    """emails/phoneNumbers: each {value, type, primary}; at most one primary."""
    if values is None:
        return []
    _require(isinstance(values, list) and all(isinstance(item, dict) for item in values))
    entries = [_entry(item, types, read_value) for item in values]
    _require(sum(1 for entry in entries if entry.get("primary")) <= 1)
    return entries


def _entry(item: dict[str, Any], types: frozenset[str], read_value: Any) -> dict[str, Any]:
    _require(item.keys() <= {"value", "type", "primary"} and item.get("value") is not None)
    entry: dict[str, Any] = {"value": read_value(item["value"])}
    if item.get("type") is not None:
        _require(item["type"] in types)
        entry["type"] = item["type"]
    if item.get("primary") is not None:
        _require(isinstance(item["primary"], bool))
        entry["primary"] = item["primary"]
    return entry


# Attributes the fast projection knows, by lowercased name -> stored key.
_TOP = {key.lower(): key for key in (*STRINGS, "name", "active", "emails", "phoneNumbers")}
_ENTERPRISE_SUB = {key.lower(): key for key in ENTERPRISE_PARTS}
_ALWAYS = ("schemas", "id")  # returned "always" (RFC 7643 3.1, and schemas)


def common_attributes(attributes: list[str]) -> tuple[list[str], list[str]] | None:
    """The stored keys an ``attributes`` list names, as (top-level core attributes,
    enterprise sub-attributes), or ``None`` when it names anything else."""
    top: list[str] = []
    enterprise: list[str] = []
    for path in attributes:
        head, _, sub = path.rpartition(":")
        if head.lower() == ENTERPRISE.lower() and sub.lower() in _ENTERPRISE_SUB:
            enterprise.append(_ENTERPRISE_SUB[sub.lower()])
        elif not head and path.lower() in _TOP:
            top.append(_TOP[path.lower()])
        else:
            return None
    return top, enterprise


def project_common(resource: dict[str, Any], attributes: list[str]) -> dict[str, Any] | None:
    """``attributes`` projection (RFC 7644 3.9) of a stored User for the usual request: a
    list of top-level core attributes and enterprise sub-attributes. Equal to the
    scim2-models projection (a test holds it to that); ``None`` for anything else, so the
    caller falls back to scim2-models. Costs microseconds instead of ~0.8 ms per user."""
    common = common_attributes(attributes)
    if common is None:
        return None
    top, enterprise = common
    projected = {key: resource[key] for key in (*_ALWAYS, *top) if key in resource}
    extension = {k: v for k, v in (resource.get(ENTERPRISE) or {}).items() if k in enterprise}
    if extension:
        projected[ENTERPRISE] = extension
    elif "schemas" in projected:  # an extension left out is left out of schemas too
        projected["schemas"] = [s for s in projected["schemas"] if s != ENTERPRISE]
    return projected
