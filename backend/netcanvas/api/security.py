"""Who may talk to the API: allowed Host names, allowed browser origins, and the token.

Three checks, outermost first:

1. The `Host` header must be an allowed name (Starlette's TrustedHostMiddleware), on every
   path and every address: a DNS-rebinding page reaches a loopback server under its own name.
2. An /api request (HTTP or websocket) that carries an `Origin` must come from the server's
   own origin or one listed in NETCANVAS_ALLOWED_ORIGINS; requests without one (curl, the CLI)
   pass. This stops other sites from posting to the API or reading a run's websocket.
3. When NETCANVAS_TOKEN is set, every /api request but /api/health carries it:
   `Authorization: Bearer TOKEN`, or, for browser websockets (which cannot set headers), the
   subprotocol `netcanvas.bearer.<base64url of TOKEN>` offered next to `netcanvas`. A token in
   a subprotocol stays out of URLs and access logs, unlike a query parameter.

The web app and its assets stay open so that a browser can load them and ask for the token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from ..settings import Settings

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")
OPEN_API_PATHS = frozenset({"/api/health"})
WS_PROTOCOL = "netcanvas"
"""The subprotocol the server selects when a browser offers it (browsers fail a handshake that selects none)."""
WS_TOKEN_PREFIX = "netcanvas.bearer."


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_refusal(settings: Settings) -> str | None:
    """Why the server must not start on settings.host, or None when it may."""
    if is_loopback(settings.host) or settings.token is not None or settings.insecure:
        return None
    where = settings.host or "every address"
    return (f"refusing to serve on {where} without a token: anyone who can reach it could train and read every run. "
            "Set NETCANVAS_TOKEN (python -c 'import secrets; print(secrets.token_urlsafe(32))'), "
            "or NETCANVAS_INSECURE=1 to serve unprotected")


def allowed_hosts(settings: Settings) -> list[str]:
    """The loopback names, the bind address when it is a specific one, and NETCANVAS_ALLOWED_HOSTS."""
    bind = settings.host.lower()
    extra = [] if bind in WILDCARD_ADDRESSES else [f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind]
    hosts = list(LOOPBACK_NAMES)
    for host in extra + settings.allowed_hosts:
        if host not in hosts:
            hosts.append(host)
    return hosts


def websocket_token(scope: Scope) -> str | None:
    """The token a browser sent as the subprotocol netcanvas.bearer.<base64url>, if any."""
    for protocol in scope.get("subprotocols", []):
        if protocol.startswith(WS_TOKEN_PREFIX):
            encoded = protocol[len(WS_TOKEN_PREFIX):]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError):
                return ""
    return None


class ApiGuard:
    """ASGI middleware: the Origin and token checks of every /api request, HTTP and websocket."""

    def __init__(self, app: ASGIApp, token: str | None, allowed_origins: list[str]) -> None:
        self.app = app
        self.token = token.encode() if token is not None else None
        self.allowed_origins = frozenset(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not (path == "/api" or path.startswith("/api/")):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope, path)
        if refusal is not None:
            await self.refuse(scope, receive, send, *refusal)
            return
        if scope["type"] == "websocket" and WS_PROTOCOL in scope.get("subprotocols", []):
            send = self.selecting_protocol(send)
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, path: str) -> tuple[int, str] | None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, headers.get("host", "")):
            return 403, (f"requests from the origin {origin!r} are not allowed: only the server's own origin and "
                         "those listed in NETCANVAS_ALLOWED_ORIGINS may call the API")
        if self.token is None or path in OPEN_API_PATHS:
            return None
        sent = self.sent_token(scope, headers)
        if sent is None:
            return 401, ("this server requires a token: send it as 'Authorization: Bearer TOKEN' "
                         "(the token is the server's NETCANVAS_TOKEN)")
        if not hmac.compare_digest(sent.encode(), self.token):
            return 401, "the token is wrong: it does not match the server's NETCANVAS_TOKEN"
        return None

    def origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.lower()
        same_origin = origin.partition("://")[2] == host.lower() and origin.startswith(("http://", "https://"))
        return same_origin or origin in self.allowed_origins

    @staticmethod
    def sent_token(scope: Scope, headers: Headers) -> str | None:
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, credentials = authorization.partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else ""
        return websocket_token(scope) if scope["type"] == "websocket" else None

    @staticmethod
    async def refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        response = JSONResponse({"detail": detail}, status_code=status, headers=headers)
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
            reason = "origin not allowed" if status == 403 else "token missing or wrong"
            await WebSocketClose(code=1008, reason=reason)(scope, receive, send)
            return
        await response(scope, receive, send)  # on a websocket: an HTTP answer instead of the upgrade

    @staticmethod
    def selecting_protocol(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "websocket.accept" and not message.get("subprotocol"):
                message = {**message, "subprotocol": WS_PROTOCOL}
            await send(message)

        return wrapped


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add the checks to the app; the Host check runs first (the middleware added last is outermost)."""
    token = settings.token.get_secret_value() if settings.token is not None else None
    app.add_middleware(ApiGuard, token=token, allowed_origins=settings.allowed_origins)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings))


def document_security(schema: dict[str, Any]) -> None:
    """Declare the token in the OpenAPI document: a bearer scheme (Swagger's Authorize button), optional on each /api
    operation (a loopback server without NETCANVAS_TOKEN needs none), with the 401 and 403 answers the guard gives."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer",
        "description": "NETCANVAS_TOKEN, when the server has one (websockets: the netcanvas.bearer.<base64url> "
                       "subprotocol)"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/") or path in OPEN_API_PATHS:
            continue
        for operation in operations.values():
            operation["security"] = [{}, {"bearer": []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "A token is required and was missing or wrong",
                                         "content": error})
            responses.setdefault("403", {"description": "The request's Origin is not allowed", "content": error})
