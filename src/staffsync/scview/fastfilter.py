"""A fast path for the filter every provisioning client sends: ``userName eq "..."``.

Entra, Okta and our own sync look a user up by ``userName`` (or ``externalId``) before
creating it, so this one shape is most filtered GETs. ``equality(text)`` recognises it
and returns the column and stored-form value that ``filters.condition`` would compare
(a table test holds the two to the same answers); any other filter returns ``None`` and
takes the general parser. The point is to skip building a SQL expression per request:
the search statements for these columns are built once, with bound parameters.
"""

from __future__ import annotations

import json
import re

from staffsync.scview.filters import MAX_LENGTH

CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:user:"
# attribute (lower-case) -> (column name, whether values compare case-insensitively)
EQUALITY_COLUMNS = {"username": ("user_name", True), "externalid": ("external_id", False)}
_EQUALS = re.compile(r'\s*(?P<attr>[A-Za-z:.0-9]+)\s+eq\s+(?P<value>"(?:[^"\\]|\\.)*")\s*',
                     re.IGNORECASE)


def equality(text: str | None) -> tuple[str, str] | None:
    """(column name, value) of ``<userName|externalId> eq "<string>"``, else None."""
    if not text or len(text) > MAX_LENGTH:
        return None
    match = _EQUALS.fullmatch(text)
    if match is None:
        return None
    attr = match.group("attr").lower().removeprefix(CORE_URN)
    if attr not in EQUALITY_COLUMNS:
        return None
    try:
        value = json.loads(match.group("value"))
    except ValueError:
        return None  # the general parser words the error
    column, folded = EQUALITY_COLUMNS[attr]
    return column, value.lower() if folded else value
