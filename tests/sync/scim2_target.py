"""scim2-server, a third-party SCIM 2.0 server, mounted at our contract URL layout.

Each tenant is served at ``/{database}/scim/v2`` with one bearer token; an unknown
database gets scim2-server's own SCIM 404 error, as a real multi-tenant provider would.
"""

from __future__ import annotations

import json
from typing import Any

from scim2_models import (
    NotFoundException,
    ScimProvider,
    ServiceProviderConfig,
    UnauthorizedException,
)
from scim2_server.applications.asgi import ASGIApplication, Receive, Scope, Send
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_json_resource,
)


def provider(**config: Any) -> ScimProvider:
    """scim2-server's default provider; ``config`` overrides parts of its ServiceProviderConfig,
    e.g. ``bulk={"supported": False}`` or ``patch={"supported": False}``."""
    doc = load_json_resource("default-service-provider-config.json")
    for part, values in config.items():
        doc[part] = {**doc.get(part, {}), **values}
    return ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=ServiceProviderConfig.model_validate(doc),
    )


class BearerApplication(ASGIApplication):
    """One tenant: scim2-server's in-memory provider behind a single bearer token."""

    def __init__(self, token: str, **config: Any) -> None:
        super().__init__(AsyncInMemoryStorage(), provider(**config))
        self.token = token

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token != self.token:
            raise UnauthorizedException


class Tenants:
    """An ASGI app dispatching ``/{database}/scim/...`` to that tenant's application."""

    def __init__(self) -> None:
        self.apps: dict[str, BearerApplication] = {}

    def add(self, database: str, token: str, **config: Any) -> None:
        self.apps[database] = BearerApplication(token, **config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await ASGIApplication.serve_lifespan(receive, send)
            return
        database, _, rest = scope["path"].lstrip("/").partition("/")
        app = self.apps.get(database)
        if app is None or not rest.startswith("scim/"):
            await self.unknown(send)
            return
        root = f"{scope.get('root_path', '')}/{database}/scim"
        await app(dict(scope, root_path=root), receive, send)

    @staticmethod
    async def unknown(send: Send) -> None:
        body: dict[str, Any] = NotFoundException(detail="Unknown tenant").to_error().model_dump()
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"application/scim+json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})
