"""Authenticating connections that outlive one request: WebSockets and live streams.

`switchboard.api.auth.authenticate` reads an HTTP request. A WebSocket handshake
carries the same headers and cookies, so instead of a second authentication path
it is handed to `authenticate` as the GET request it really is (`fresh_request`):
same credentials, same answers, and the session's cookie name follows the
socket's security (`wss` as `https`). A long-lived stream re-checks its
credential now and then through the same function (`fresh_request` skips the
principal remembered on the connection), so a revoked key, a signed-out session
or a disabled user ends it, and an open stream keeps its session alive (10 B2).

Browsers attach cookies to a WebSocket handshake from any page but let the page
set no header, and the same-origin policy does not cover WebSockets: a foreign
page could open a socket with the user's session (cross-site WebSocket
hijacking). A cookie-authenticated socket must therefore come from a page of
this application (`check_origin`); sockets authenticated by a header
(API key, bearer token) cannot be forged by a page and are exempt.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request

from switchboard.api.principal import Principal
from switchboard.api.problems import ApiProblem

_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def fresh_request(connection: HTTPConnection) -> Request:
    """The connection (a WebSocket handshake, or a request) as the plain GET request
    `authenticate` expects, with no principal remembered on it yet."""
    scope = dict(connection.scope)
    scheme = str(scope.get("scheme", "http"))
    scope.update(
        type="http",
        method="GET",
        scheme=_HTTP_SCHEME.get(scheme, scheme),
        state={},
    )
    return Request(scope)


def check_origin(request: Request, principal: Principal) -> None:
    """Refuse a session-cookie socket opened by a page of another origin (or none)."""
    if principal.method != "session":
        return
    origin = request.headers.get("origin", "")
    parts = urlsplit(origin)
    if not origin or (parts.scheme, parts.netloc) != (request.url.scheme, request.url.netloc):
        raise ApiProblem(
            403,
            "cross_origin_request",
            "This WebSocket was opened by a page of another site (Origin "
            f"{origin[:100] or 'missing'}); a socket signed in by session cookie must come "
            "from this application's own pages.",
        )
