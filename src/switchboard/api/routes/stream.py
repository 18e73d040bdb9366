"""The live event stream of a tenant over Server-Sent Events and WebSocket.

Both transports render one `EventFeed` (`switchboard.api.event_feed`): replay
from a cursor, then live, filtered to what the principal may see
(`switchboard.api.event_visibility`), with the same overflow and end rules. The
envelope of an event is the same on both (02 §12.1); the cursor is the event's
journal sequence. Events are only ever those of the principal's tenant.

* SSE, `GET /api/v1/events/stream`: each event's SSE `id` is its cursor; resume
  with `Last-Event-ID` or `?cursor=N`.
* WebSocket, `/api/v1/events/ws?cursor=N`: one JSON text frame per message,
  `type` saying which (`ready`, `event`, `keepalive`, `closing`), each with the
  `cursor` to resume from; the close code says why the server closed
  (`close_code`). Refusals before the socket opens are HTTP problem documents.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from switchboard.api.event_feed import (
    OVERFLOW,
    STOPPING,
    Delivered,
    Ended,
    EventFeed,
    Item,
    Opened,
    Quiet,
)
from switchboard.api.permissions import READ, Actor, reauthenticate, require, require_socket
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.domain.access import Capability
from switchboard.engine.events import Event
from switchboard.store.codec import encode_event

router = APIRouter(prefix="/api/v1", tags=["Events"], responses=RESPONSES)
log = structlog.get_logger("switchboard.stream")

#: Why the server closed a socket. 4000 + an HTTP status: the credential or the
#: access behind the stream is gone (4401 signed out, key revoked, user disabled).
CLOSE_OVERFLOW = 4000
CLOSE_GOING_AWAY = 1001


def close_code(ended: Ended) -> int:
    if ended.reason == OVERFLOW:
        return CLOSE_OVERFLOW
    if ended.reason == STOPPING:
        return CLOSE_GOING_AWAY
    return 4000 + ended.status if 400 <= ended.status < 600 else 1011


def event_json(tenant_id: str, event: Event) -> str:
    """The public envelope of an event (02 §12.1): id, name, time, tenant, sequence, data."""
    head = orjson.dumps(
        {
            "event_id": f"{tenant_id}:{event.seq}",
            "event": event.name,
            "occurred_at": datetime.fromtimestamp(event.at, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "tenant_id": tenant_id,
            "sequence": event.seq,
        }
    ).decode()
    return f'{head[:-1]},"data":{encode_event(event)}}}'


def sse(tenant_id: str, event: Event) -> str:
    return f"id: {event.seq}\nevent: {event.name}\ndata: {event_json(tenant_id, event)}\n\n"


def _start(cursor: int | None, last_event_id: str | None) -> int | None:
    if cursor is not None:
        return cursor
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return None


# ---------------------------------------------------------------------- SSE


@router.get("/events/stream", response_class=StreamingResponse)
async def event_stream(
    request: Request,
    cursor: int | None = Query(None, ge=0, description="resume after this sequence"),
    last_event_id: str | None = Header(None),
    actor: Actor = Depends(require(Capability.LIVE_VIEW, READ)),
) -> StreamingResponse:
    """The committed events of your tenant that you may see, from `cursor` (or now) on."""
    feed = EventFeed(
        actor,
        _start(cursor, last_event_id),
        lambda: reauthenticate(request, actor.principal.tenant_id),
    )
    await feed.open()
    tenant_id = actor.principal.tenant_id

    async def body() -> AsyncIterator[str]:
        sent = feed.position
        try:
            async with contextlib.aclosing(feed.items(request.is_disconnected)) as items:
                async for item in items:
                    if isinstance(item, Delivered):
                        sent = item.event.seq
                        yield sse(tenant_id, item.event)
                    elif isinstance(item, Quiet):
                        # An `id` alone moves the client's Last-Event-ID past events it
                        # may not see, without dispatching anything.
                        if item.cursor > sent:
                            sent = item.cursor
                            yield f"id: {sent}\n: keep-alive\n\n"
                        else:
                            yield ": keep-alive\n\n"
                    elif isinstance(item, Opened):
                        # The `id` makes a client that leaves before any event resume here.
                        yield (
                            f"id: {item.cursor}\n"
                            f": switchboard event stream, after sequence {item.cursor}\n\n"
                        )
                    else:
                        yield _sse_end(item)
        finally:
            feed.close()

    headers: dict[str, Any] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return _FeedResponse(feed, body(), media_type="text/event-stream", headers=headers)


class _FeedResponse(StreamingResponse):
    """Closes the feed however the response ends, also when the body never started
    (a client gone before the first byte): no listener outlives its stream."""

    def __init__(self, feed: EventFeed, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._feed = feed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._feed.close()


def _sse_end(ended: Ended) -> str:
    if ended.reason == OVERFLOW:
        data = orjson.dumps({"resume_after": ended.cursor, "detail": ended.detail}).decode()
        return f"event: stream.overflow\ndata: {data}\n\n"
    data = orjson.dumps(
        {"reason": ended.reason, "detail": ended.detail, "resume_after": ended.cursor}
    ).decode()
    return f"event: stream.closed\ndata: {data}\n\n"


# ---------------------------------------------------------------------- WebSocket


def _socket_cursor(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("cursor")
    if raw is None:
        return None
    if not raw.isdigit():
        message = f"cursor must be a whole number ≥ 0 (a sequence you received); got {raw[:40]!r}."
        raise ApiProblem(
            422,
            "validation_failed",
            message,
            errors=[{"code": "invalid_type", "path": "cursor", "message": message}],
        )
    return int(raw)


def socket_message(tenant_id: str, item: Item) -> str:
    """One WebSocket text frame: an event's envelope plus its cursor, or a control message."""
    if isinstance(item, Delivered):
        event = item.event
        return f'{{"type":"event","cursor":{event.seq},{event_json(tenant_id, event)[1:]}'
    if isinstance(item, Opened):
        return orjson.dumps({"type": "ready", "cursor": item.cursor}).decode()
    if isinstance(item, Quiet):
        return orjson.dumps({"type": "keepalive", "cursor": item.cursor}).decode()
    return orjson.dumps(
        {
            "type": "closing",
            "reason": item.reason,
            "detail": item.detail,
            "cursor": item.cursor,
            "close_code": close_code(item),
        }
    ).decode()


@router.websocket("/events/ws")
async def event_socket(
    websocket: WebSocket,
    actor: Actor = Depends(require_socket(Capability.LIVE_VIEW, READ)),
) -> None:
    """The SSE stream's events as WebSocket messages (see the module docstring)."""
    feed = EventFeed(
        actor,
        _socket_cursor(websocket),
        lambda: reauthenticate(websocket, actor.principal.tenant_id),
    )
    await feed.open()  # a refusal here is answered as an HTTP problem, like a request
    try:
        await websocket.accept()
        ended = await _serve(websocket, feed, actor.principal.tenant_id)
    finally:
        feed.close()
    log.info(
        "event socket closed",
        tenant_id=actor.principal.tenant_id,
        principal=f"{actor.principal.kind}:{actor.principal.id}",
        reason=ended.reason if ended is not None else "client_closed",
    )


async def _serve(websocket: WebSocket, feed: EventFeed, tenant_id: str) -> Ended | None:
    """Send the feed until it ends or the client leaves; the client's messages are ignored."""
    client_left = asyncio.Event()

    async def gone() -> bool:
        return client_left.is_set()

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
        client_left.set()

    async def send() -> Ended | None:
        async with contextlib.aclosing(feed.items(gone)) as items:
            async for item in items:
                await websocket.send_text(socket_message(tenant_id, item))
                if isinstance(item, Ended):
                    await websocket.close(close_code(item), item.reason[:120])
                    return item
        return None

    receiving = asyncio.create_task(receive())
    sending = asyncio.create_task(send())
    try:
        await asyncio.wait({receiving, sending}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (receiving, sending):
            task.cancel()
        results = await asyncio.gather(receiving, sending, return_exceptions=True)
    outcome = results[1]
    if isinstance(outcome, Ended):
        return outcome
    if isinstance(outcome, BaseException) and not isinstance(
        outcome, asyncio.CancelledError | WebSocketDisconnect | OSError
    ):
        raise outcome
    return None
