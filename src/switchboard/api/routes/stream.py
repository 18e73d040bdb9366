"""The live event stream of a tenant (Server-Sent Events), resumable by cursor.

A client reads `GET /api/v1/events/stream`; each event's SSE `id` is its journal
sequence. Reconnecting with `Last-Event-ID` (or `?cursor=N`) replays everything
after N from the journal, then continues live — with no gap, because the
stream subscribes to live batches *before* reading the journal and skips what
it has already sent. A client too slow to keep up is told so and disconnected;
it resumes from its cursor. Events are only ever those of the principal's tenant.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from switchboard.api.permissions import READ, Actor, require
from switchboard.api.problems import RESPONSES
from switchboard.domain.access import Capability
from switchboard.engine.events import Event
from switchboard.runtime.host import TenantHost
from switchboard.store.codec import encode_event

router = APIRouter(prefix="/api/v1", tags=["Events"], responses=RESPONSES)

BUFFER_BATCHES = 2_000
KEEPALIVE_S = 15.0
POLL_S = 1.0
REPLAY_CHUNK = 500


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


def _take(events: Iterator[Event], count: int) -> list[Event]:
    return list(itertools.islice(events, count))


def _start(cursor: int | None, last_event_id: str | None) -> int | None:
    if cursor is not None:
        return cursor
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return None


@router.get("/events/stream", response_class=StreamingResponse)
async def event_stream(
    request: Request,
    cursor: int | None = Query(None, ge=0, description="resume after this sequence"),
    last_event_id: str | None = Header(None),
    actor: Actor = Depends(require(Capability.LIVE_VIEW, READ)),
) -> StreamingResponse:
    """Every committed event of your tenant, from `cursor` (or from now) on."""
    host: TenantHost = actor.host
    tenant_id = actor.principal.tenant_id
    queue: asyncio.Queue[Sequence[Event]] = asyncio.Queue(maxsize=BUFFER_BATCHES)
    overflowed = False

    def listener(batch: Sequence[Event]) -> None:
        nonlocal overflowed
        if overflowed or queue.full():
            overflowed = True  # stop buffering; the client resumes from its cursor
        else:
            queue.put_nowait(batch)

    host.subscribe(listener)
    start = _start(cursor, last_event_id)
    try:
        now_at = await actor.run(lambda e: e.state.seq)  # also the permission check
        position = start if start is not None else now_at
    except BaseException:
        host.unsubscribe(listener)  # refused (e.g. recovering): no stream, no listener
        raise

    async def body() -> AsyncIterator[str]:
        last = position
        try:
            yield f": switchboard event stream, after sequence {last}\n\n"
            if start is not None:
                # Chunk by chunk, each read off the event loop: memory stays flat however
                # far back the cursor points.
                pending = iter(host.read_journal(start))
                while chunk := await asyncio.to_thread(_take, pending, REPLAY_CHUNK):
                    for event in chunk:
                        yield sse(tenant_id, event)
                        last = event.seq
            quiet = 0.0
            # `serving`, not `ready`: the stream outlives a recovery from a journal failure
            # (the listener belongs to the host, which keeps it across the rebuilt engine).
            while host.serving and not await request.is_disconnected():
                if overflowed and queue.empty():
                    yield f'event: stream.overflow\ndata: {{"resume_after": {last}}}\n\n'
                    return
                try:
                    # Wake every second to notice a gone client or a stopping node promptly.
                    batch = await asyncio.wait_for(queue.get(), POLL_S)
                except TimeoutError:
                    quiet += POLL_S
                    if quiet >= KEEPALIVE_S:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
                    continue
                quiet = 0.0
                for event in batch:
                    if event.seq > last:
                        yield sse(tenant_id, event)
                        last = event.seq
        finally:
            host.unsubscribe(listener)

    headers: dict[str, Any] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
