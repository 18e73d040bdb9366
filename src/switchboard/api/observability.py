"""Structured logs: one JSON line per event, with the request's ids, secrets redacted.

`configure_logging` routes both structlog and the standard library (uvicorn,
the engine) through one renderer, so every line is JSON with a timestamp and
level. `RequestContext` (an ASGI middleware, safe for streaming responses)
gives each request an id — taken from `X-Request-ID` or made up, echoed back —
binds it for every log line of the request, and writes one access line with the
tenant, the path parameters (task, user, entity ids), status and duration.
The redaction processor runs last, so no key, token or password reaches a log.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, TextIO

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.api.security.redaction import redact_secrets

access_log = structlog.get_logger("switchboard.access")


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines to `stream` (standard error by default) for structlog and stdlib loggers."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        # A line below the level is dropped before any processor runs: the access line
        # of every request costs next to nothing when it is not written.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # RequestContext writes access lines


class RequestContext:
    """ASGI middleware: request id, log context and one access line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            principal = scope.get("state", {}).get("principal")
            line: dict[str, Any] = {
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                # the tenant acted in (none yet for a system admin who selected none)
                "tenant_id": getattr(principal, "tenant_id", None) or None,
            }
            for name, value in (scope.get("path_params") or {}).items():
                # A path naming a tenant (/tenants/{tenant_id}) names the one acted on.
                line["path_" + name if name in line else name] = value
            access_log.info("request", **line)
            structlog.contextvars.clear_contextvars()
