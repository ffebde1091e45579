"""The SCIM User resource SCView serves, and its discovery documents.

Request bodies are validated once by scim2-models (``User[EnterpriseUser]``) and
stored as the JSON the model dumps; GET then returns the stored JSON with only
``meta.location`` added, without rebuilding a model. The discovery documents are
built once, at import.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Patch,
    ResourceType,
    ResponseParameters,
    Schema,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
)

from staffsync.scview.errors import (
    InvalidSyntaxException,
    InvalidValueException,
    from_validation_error,
)
from staffsync.scview.fastuser import read_common

UserModel = User[EnterpriseUser]
CORE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

MAX_RESULTS = 500  # the cap on ``count``, advertised as filter.maxResults
MAX_OPERATIONS = 1000  # per Bulk request
MAX_PAYLOAD = 1024 * 1024  # bytes, for any request body

# Microsoft Entra sends PATCH values the RFC does not: it adds to a value path that
# matches nothing ("emails[type eq "work"].value" on a user with no work email) and
# removes by value. SCView accepts both, as Entra's SCIM profile asks.
POLICY = ScimPolicy(
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
)


def parse_user(body: Any, context: Context) -> User[EnterpriseUser]:
    """Validate a request body as a User in ``context``, or raise the SCIM error."""
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    try:
        return UserModel.model_validate(body, scim_ctx=context, scim_policy=POLICY)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def read_user(body: Any, context: Context) -> dict[str, Any]:
    """The stored form of a User request body: the fast reader for the usual shape,
    scim2-models for anything else. A blank userName is refused (RFC 7643 §4.1.1)."""
    data = read_common(body)
    if data is None:
        data = stored_form(parse_user(body, context))
    if not str(data.get("userName") or "").strip():
        raise InvalidValueException(detail="userName is required and cannot be blank.")
    return data


def stored_form(user: User[EnterpriseUser]) -> dict[str, Any]:
    """The JSON a user is stored (and returned) as: no write-only attributes, no meta."""
    data = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data.pop("meta", None)
    data.pop("id", None)
    return data


def load_user(resource: dict[str, Any]) -> User[EnterpriseUser]:
    """A model of a stored resource (for PATCH and attribute projection)."""
    return UserModel.model_validate(resource, scim_policy=POLICY)


def service_provider_config() -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=True, max_operations=MAX_OPERATIONS, max_payload_size=MAX_PAYLOAD),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="One token per SCView database: Authorization: Bearer <token>.",
                primary=True,
            )
        ],
    )
    return _discovery_dump(config, "ServiceProviderConfig", "ServiceProviderConfig")


def _discovery_dump(obj: Any, resource_type: str, path: str) -> dict[str, Any]:
    data: dict[str, Any] = obj.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data["meta"] = {"resourceType": resource_type, "location": path}
    return data


def _schemas() -> list[dict[str, Any]]:
    found: list[Schema] = [User.to_schema(), EnterpriseUser.to_schema()]
    return [_discovery_dump(schema, "Schema", f"Schemas/{schema.id}") for schema in found]


def _resource_types() -> list[dict[str, Any]]:
    user_type = ResourceType.from_resource(UserModel)
    return [_discovery_dump(user_type, "ResourceType", "ResourceTypes/User")]


SERVICE_PROVIDER_CONFIG = service_provider_config()
SCHEMAS = _schemas()
RESOURCE_TYPES = _resource_types()


def located(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A discovery document with ``meta.location`` made absolute under ``base_url``."""
    result = copy.copy(document)
    result["meta"] = {**document["meta"], "location": f"{base_url}/{document['meta']['location']}"}
    return result


def response_parameters(attributes: str | None, excluded: str | None) -> Any:
    """The ``attributes``/``excludedAttributes`` of a request, or None when it has neither."""
    given = {"attributes": attributes, "excludedAttributes": excluded}
    params = {key: value for key, value in given.items() if value}
    if not params:
        return None
    try:
        return ResponseParameters[UserModel].model_validate(params)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def project(resource: dict[str, Any], params: Any) -> dict[str, Any]:
    """A published resource restricted to the requested attributes (RFC 7644 §3.9)."""
    if params is None:
        return resource
    dumped: dict[str, Any] = load_user(resource).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params
    )
    return dumped
