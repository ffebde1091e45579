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
            body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def apply_patch(resource: dict[str, Any], patch_op: PatchOp[Any]) -> dict[str, Any] | None:
    """The stored form of ``resource`` after the patch, or None when nothing changed."""
    model = load_user(resource)
    if not patch_op.patch(model, scim_policy=POLICY):
        return None
    return stored_form(model)
