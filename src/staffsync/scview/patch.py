"""PATCH (RFC 7644 §3.5.2) on a stored user, as Entra and Okta send it.

scim2-models applies the operations: add, replace and remove; op names in any case
("Replace", as Entra sends them); value paths such as ``emails[type eq "work"].value``,
``name.givenName`` and the enterprise extension URN path; and operations without a
path whose value is an object. Entra's "True"/"False" strings for booleans are read
as booleans by the model's validation.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp

from staffsync.scview.errors import InvalidSyntaxException, from_validation_error
from staffsync.scview.resources import POLICY, UserModel, load_user, stored_form

UserPatch = PatchOp[UserModel]


def parse_patch(body: Any) -> PatchOp[Any]:
    """Validate a PATCH request body, or raise the SCIM error (invalidPath, ...)."""
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    try:
        return UserPatch.model_validate(
            expand_value_paths(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def expand_value_paths(body: dict[str, Any]) -> dict[str, Any]:
    """Entra's no-path operations keyed by value paths, as operations with those paths.

    ``{"op": "Add", "value": {'emails[type eq "work"].value': "a@b.org", "title": "T"}}``
    becomes ``{"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@b.org"}``
    followed by ``{"op": "Add", "value": {"title": "T"}}``; anything else is unchanged.
    """
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    return {**body, "Operations": [op for item in operations for op in _expanded(item)]}


def _expanded(operation: Any) -> list[Any]:
    value = operation.get("value") if isinstance(operation, dict) else None
    if not isinstance(value, dict) or operation.get("path") or not any("[" in k for k in value):
        return [operation]
    rest = {key: item for key, item in value.items() if "[" not in key}
    split = [{**operation, "path": key, "value": item} for key, item in value.items() if "[" in key]
    return split + ([{**operation, "value": rest}] if rest else [])


def apply_patch(resource: dict[str, Any], patch_op: PatchOp[Any]) -> dict[str, Any] | None:
    """The stored form of ``resource`` after the patch, or None when nothing changed."""
    model = load_user(resource)
    if not patch_op.patch(model, scim_policy=POLICY):
        return None
    return stored_form(model)
