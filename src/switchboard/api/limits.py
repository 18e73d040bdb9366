"""Size limits on every request (10 §11 IN1), enforced before any route runs.

Uvicorn does not enforce the spec's URL and header limits: measured on uvicorn
0.54, httptools (its default parser) accepted a 1 MB header and a 17 KiB URL,
and h11's 16 KiB `max_incomplete_event_size` only applies while a request head
is still arriving in pieces (and is answered with a plain-text 400). So the
limits are checked here, in one pure ASGI middleware, on what the server
parsed: the URL (414), the header lines (431) and the body (413). A refused
request never reaches a route, so it changes nothing (IN4).

The body limit costs nothing on the common path: a `Content-Length` above the
limit is refused without reading a byte, one within it is trusted (the server
frames exactly that many bytes), and only a body without a length (chunked)
is counted as it streams, refused as soon as the count passes the limit,
without asking for more. A route that takes more (an audio upload) declares a
`BodyAllowance` for its method and path template, handed to the middleware
where the app is built; the allowance replaces the limit for that route only.
JSON depth and array limits need the parsed body and
are checked where it is parsed once (`api.json_body`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.api.problems import ApiProblem, problem_response

#: 10 §11 IN1. A route that needs more gets its own limit (`BodyAllowance`).
MAX_BODY_BYTES = 1 << 20
MAX_URL_BYTES = 8 << 10
MAX_HEADER_BYTES = 16 << 10
MAX_JSON_DEPTH = 32
MAX_ARRAY_ITEMS = 1000

#: A refused body may still be arriving; closing the connection stops it (RFC 9110 §15.5.14).
_CLOSE = {"Connection": "close"}


@dataclass(frozen=True, slots=True)
class BodyAllowance:
    """A larger body limit for one route: `method` and the route's path template
    (`/api/v1/audio-resources/{entity_id}/content`; a parameter is one segment)."""

    method: str
    template: str
    limit: int
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{[^/{}]+\}", self.template)
        pattern = "[^/]+".join(re.escape(part) for part in parts)
        object.__setattr__(self, "_pattern", re.compile(pattern))

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self._pattern.fullmatch(path) is not None


class BodyTooLarge(ApiProblem):
    """A body over the limit: `declared` so by its Content-Length, or grown past it
    while it streamed without one.

    The streamed case is raised from `receive`, so inside a route it travels
    through FastAPI's body reading (which passes HTTP exceptions on) to the
    problem handlers.
    """

    def __init__(self, limit: int, declared: int | None = None) -> None:
        super().__init__(
            413,
            "body_too_large",
            f"The request body is larger than {limit} bytes, the most accepted."
            if declared is None
            else f"The request body is {declared} bytes (Content-Length); at most "
            f"{limit} bytes are accepted.",
            headers=_CLOSE,
            extra={"limit": limit},
        )


class InputLimits:
    """ASGI middleware: refuse a request whose URL, headers or body is too large."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int = MAX_BODY_BYTES,
        max_url: int = MAX_URL_BYTES,
        max_headers: int = MAX_HEADER_BYTES,
        allowances: Sequence[BodyAllowance] = (),
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.allowances = tuple(allowances)
        self.max_url = max_url
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes, length = _measure_headers(scope)
        max_body = self._body_limit(scope)
        refused = self._refusal(scope, header_bytes, length, max_body)
        if refused is not None:
            await _answer(scope, receive, send, refused)
        elif length is not None:
            await self.app(scope, receive, send)  # the server frames exactly `length` bytes
        else:
            await self._counted(scope, receive, send, max_body)

    def _body_limit(self, scope: Scope) -> int:
        if self.allowances:
            method, path = scope["method"], scope["path"]
            for allowance in self.allowances:
                if allowance.matches(method, path):
                    return allowance.limit
        return self.max_body

    def _refusal(
        self, scope: Scope, header_bytes: int, length: int | None, max_body: int
    ) -> ApiProblem | None:
        """The refusal of the request's head, if any: URL, then headers, then declared length."""
        query: bytes = scope.get("query_string", b"")
        url = len(scope.get("raw_path") or scope["path"].encode()) + (
            len(query) + 1 if query else 0
        )
        if url > self.max_url:
            return ApiProblem(
                414,
                "url_too_long",
                f"The URL is {url} bytes long; at most {self.max_url} bytes are accepted.",
                extra={"limit": self.max_url},
            )
        if header_bytes > self.max_headers:
            return ApiProblem(
                431,
                "headers_too_large",
                f"The request headers take {header_bytes} bytes; at most {self.max_headers} "
                "bytes are accepted.",
                extra={"limit": self.max_headers},
            )
        if length is not None and length > max_body:
            return BodyTooLarge(max_body, length)
        return None

    async def _counted(self, scope: Scope, receive: Receive, send: Send, max_body: int) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise BodyTooLarge(max_body)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as refused:
            # Routes turn it into a problem document themselves; this catches readers
            # outside them. Once a response has begun, nothing else can be said.
            if started:
                raise
            await _answer(scope, receive, send, refused)


def _measure_headers(scope: Scope) -> tuple[int, int | None]:
    """The header lines' size as on the wire ("name: value" and CRLF) and the declared
    body length, in one pass."""
    size = 0
    length: int | None = None
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None  # the server refuses such a request; if not, the body is counted
    return size, length


async def _answer(scope: Scope, receive: Receive, send: Send, refused: ApiProblem) -> None:
    await problem_response(Request(scope), refused)(scope, receive, send)
