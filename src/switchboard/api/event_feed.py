"""The live event stream of one principal, independent of its transport (SSE, WebSocket).

A feed yields what a transport sends, in order: `Opened` (the starting cursor),
`Delivered` events, `Quiet` keep-alives, and at most one `Ended` (why it stops
and where to resume). Transports only render these; replay, live delivery,
overflow, filtering and re-authentication happen here once.

Gap-free resumption: the feed subscribes to the host's live batches *before* it
reads the journal and skips, live, what the replay already sent; the cursor is
the journal sequence. Events the principal may not see are skipped but still
move the cursor (a keep-alive carries it), so a client reconnecting after a
quiet spell does not replay what it was never going to see.

Filtering (`EventVisibility`) runs inside the listener, right after the batch's
commit: the tenant's state is then exactly what the batch left, so rights and
attributions are those of that moment, and invisible events never take buffer
space. A client too slow to keep up is not buffered for without bound: after
`BUFFER_BATCHES` waiting batches the feed stops listening, sends what it holds,
then ends with `overflow` and its cursor.

A stream lives long, so its credential is checked again every `REAUTH_S`
through the same authentication as a request: a revoked key, an ended session or
a disabled user ends the stream, and an open stream counts as activity of its
session (10 B2). The principal's roles are read again whenever a batch holds a
configuration change. The stream ends when the node stops serving the tenant;
it outlives a recovery from a journal failure (listeners belong to the host).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from switchboard.api.event_visibility import EventVisibility, ReplayMemory
from switchboard.api.permissions import Actor
from switchboard.api.problems import ApiProblem, unavailable
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.runtime.host import HostUnavailable, TenantHost

BUFFER_BATCHES = 2_000
KEEPALIVE_S = 15.0
POLL_S = 1.0
REPLAY_CHUNK = 500
REAUTH_S = 30.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Opened:
    """The stream starts after `cursor`."""

    cursor: int


@dataclass(frozen=True, slots=True)
class Delivered:
    event: Event


@dataclass(frozen=True, slots=True)
class Quiet:
    """Nothing to send for a while; everything up to `cursor` is done."""

    cursor: int


@dataclass(frozen=True, slots=True)
class Ended:
    """The stream stops: `reason` is a problem code, or `overflow` / `stopping`.

    `status` is the HTTP status the reason would have had on a request (0 when none
    applies); `cursor` is where to resume.
    """

    cursor: int
    reason: str
    detail: str
    status: int = 0


Item = Opened | Delivered | Quiet | Ended

OVERFLOW = "overflow"
STOPPING = "stopping"


def _take(events: Iterator[Event], count: int) -> list[Event]:
    return list(itertools.islice(events, count))


class EventFeed:
    """Replay from `start` (None: from now), then live; filtered for `actor`.

    Use: `await open()` (refuses like a request would, leaving nothing behind), then
    iterate `items()`, and `close()` in every case.
    """

    def __init__(
        self,
        actor: Actor,
        start: int | None,
        reauthenticate: Callable[[], Awaitable[object]],
    ) -> None:
        self.actor = actor
        self.host: TenantHost = actor.host
        self.start = start
        self._reauthenticate = reauthenticate
        self._queue: asyncio.Queue[Sequence[Event]] = asyncio.Queue(maxsize=BUFFER_BATCHES)
        self._visibility: EventVisibility | None = None
        self._overflowed = False
        self._refused: ApiProblem | None = None  # the principal lost access mid-stream
        self._passed = 0  # last seq of a live batch that held nothing to show
        self.position = 0

    async def open(self) -> None:
        """Subscribe, check the permission and take the principal's rights, on the writer."""
        self.host.subscribe(self._listen)

        def begin(engine: Engine) -> int:
            # On the writer: every batch published from here on is filtered; those
            # published before carry sequences up to the one returned, which the
            # stream skips or replays from the journal.
            self._visibility = EventVisibility(self.actor.access, engine)
            return engine.state.seq

        try:
            now_at = await self.actor.run(begin)
        except BaseException:
            self.close()  # refused (e.g. recovering): no stream, no listener
            raise
        self.position = self.start if self.start is not None else now_at

    def close(self) -> None:
        self.host.unsubscribe(self._listen)

    def _listen(self, batch: Sequence[Event]) -> None:
        visibility = self._visibility
        if visibility is None or self._overflowed or self._refused is not None:
            return
        try:
            shown = visibility.live(batch, self.host.engine)
        except ApiProblem as refused:  # e.g. the user was disabled by this batch
            self._refused = refused
            return
        except Exception:
            # Never a silent gap: end the stream where it stands; the client resumes.
            log.exception("tenant %s: filtering an event stream failed", self.host.tenant_id)
            self._refused = ApiProblem(
                500, "internal_error", "The stream failed; resume from the cursor."
            )
            return
        if not shown:
            self._passed = batch[-1].seq
        elif self._queue.full():
            self._overflowed = True  # stop buffering; the client resumes from its cursor
        else:
            self._queue.put_nowait(shown)

    async def items(self, gone: Callable[[], Awaitable[bool]]) -> AsyncGenerator[Item, None]:
        """What to send, until the client is `gone`, the stream ends, or the node stops."""
        assert self._visibility is not None, "open() first"
        host = self.host
        last = self.position
        yield Opened(last)
        if self.start is not None:
            memory = ReplayMemory()
            # Chunk by chunk, each read off the event loop: memory stays flat however
            # far back the cursor points.
            pending = iter(host.read_journal(self.start))
            while chunk := await asyncio.to_thread(_take, pending, REPLAY_CHUNK):
                for event in self._visibility.replayed(chunk, host.engine, memory):
                    yield Delivered(event)
                last = max(last, chunk[-1].seq)
        loop = asyncio.get_running_loop()
        check_at = loop.time() + REAUTH_S
        quiet = 0.0
        # `serving`, not `ready`: the stream outlives a recovery from a journal failure.
        while host.serving and not await gone():
            if self._queue.empty():
                last = max(last, self._passed)  # every batch before it is sent or not shown
                if self._overflowed:
                    yield Ended(last, OVERFLOW, "The client fell behind; resume from the cursor.")
                    return
                if self._refused is not None:
                    yield _ended(last, self._refused)
                    return
            if loop.time() >= check_at:
                check_at = loop.time() + REAUTH_S
                try:
                    await self._reauthenticate()
                except ApiProblem as refused:
                    yield _ended(last, refused)
                    return
                except HostUnavailable as error:
                    yield _ended(last, unavailable(error))
                    return
            try:
                # Wake every second to notice a gone client or a stopping node promptly.
                batch = await asyncio.wait_for(self._queue.get(), POLL_S)
            except TimeoutError:
                last = max(last, self._passed)
                quiet += POLL_S
                if quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield Quiet(last)
                continue
            quiet = 0.0
            for event in batch:
                if event.seq > last:
                    yield Delivered(event)
                    last = event.seq
        if not host.serving:
            yield Ended(last, STOPPING, "This node stopped serving the tenant; reconnect.")


def _ended(cursor: int, refused: ApiProblem) -> Ended:
    return Ended(cursor, refused.code, refused.detail, refused.status)
