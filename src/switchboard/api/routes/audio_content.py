"""The recording of an audio resource (01 §9): upload with PUT, download with GET.

The body is the audio itself (`audio/wav` or `audio/mpeg`, at most 10 MB: the
one route allowed past the 1 MiB body limit, by `AUDIO_UPLOAD` in `app.py`).
Whether it is playable is judged from its bytes (`domain.audio_content`), not
from its name or its Content-Type alone.

An upload happens in three steps, each refusing before anything changes:
the resource is looked up on the tenant's writer (404 exactly as for a missing
one when the caller may not touch it; 412 on a stale `If-Match`), the bytes are
checked (415 for another media type, 422 naming `content` and what was
expected), then stored in the store, off the event loop. Last, the facts of
the content (type, duration, size) are written onto the resource as a
configuration change, so they are journaled and announced like any other
change. A resource removed between the steps takes its new bytes with it.
"""

# No `from __future__ import annotations`: FastAPI reads the signatures at runtime.

import asyncio
import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response

from switchboard.api.json_body import JsonRoute
from switchboard.api.limits import BodyAllowance
from switchboard.api.permissions import (
    READ,
    WRITE,
    Actor,
    config_capability,
    config_target,
    require,
)
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import KINDS, to_json
from switchboard.api.tenancy import tenancy_of
from switchboard.domain.audio_content import AudioFacts, inspect_audio
from switchboard.domain.config import AUDIO_CONTENT_TYPES, MAX_AUDIO_BYTES, AudioResource
from switchboard.domain.validation import ValidationFailed
from switchboard.engine.engine import Engine
from switchboard.store.audio import AudioContentRepository

__all__ = ["AUDIO_UPLOAD", "drop_audio_content", "router"]

PATH = "/api/v1/audio-resources/{entity_id}/content"
KIND = "audio_resource"
CAPABILITY = config_capability(KIND)

#: The upload's body limit, declared to the input-limit middleware where the app is built.
AUDIO_UPLOAD = BodyAllowance("PUT", PATH, MAX_AUDIO_BYTES)

router = APIRouter(responses=RESPONSES, tags=["Audio resources"], route_class=JsonRoute)

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The recording: WAV (16-bit PCM, 8 or 16 kHz) or MP3, at most 10 MB.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in AUDIO_CONTENT_TYPES
        },
    }
}


def _not_found(entity_id: str) -> ApiProblem:
    return ApiProblem(404, "audio_resource_not_found", f"No audio_resource with id '{entity_id}'.")


def _etag(version: int) -> str:
    return f'"{version}"'


def _resource(actor: Actor, engine: Engine, entity_id: str) -> AudioResource:
    """The resource, if it exists and the actor may use it as its permission says."""
    resource: AudioResource | None = engine.state.audio_resources.get(entity_id)
    if resource is None:
        raise _not_found(entity_id)
    actor.allow(
        engine,
        config_target(KIND, resource, engine.state, actor.mode),
        missing=_not_found(entity_id),
    )
    return resource


def _checked(data: bytes, content_type: str) -> AudioFacts:
    media = content_type.partition(";")[0].strip().lower()
    if media not in AUDIO_CONTENT_TYPES:
        raise ApiProblem(
            415,
            "unsupported_media_type",
            f"An audio upload is sent as {' or '.join(AUDIO_CONTENT_TYPES)}; "
            f"got {(content_type or 'no Content-Type')[:100]}.",
            headers={"Accept": ", ".join(AUDIO_CONTENT_TYPES)},
        )
    facts = inspect_audio(data, content_type)
    if isinstance(facts, list):
        raise ValidationFailed(facts)
    return facts


@router.put(PATH, name="upload_audio_content", openapi_extra=_UPLOAD_BODY)
async def upload_audio_content(
    entity_id: str,
    request: Request,
    response: Response,
    if_match: str | None = Header(None),
    actor: Actor = Depends(require(CAPABILITY, WRITE)),
) -> dict[str, Any]:
    """Store the recording; the answer is the resource with the facts of its content."""

    def check(engine: Engine) -> None:
        current = _resource(actor, engine, entity_id)
        if if_match is not None and if_match.strip() not in ("*", _etag(current.version)):
            raise ApiProblem(
                412,
                "precondition_failed",
                f"The entity changed since you read it (now version {current.version}).",
            )

    await actor.run(check)
    data = await request.body()
    facts = _checked(data, request.headers.get("content-type", ""))
    repository = AudioContentRepository(tenancy_of(request).db, actor.principal.tenant_id)
    await asyncio.to_thread(repository.put, entity_id, data, facts.content_type)

    def record(engine: Engine) -> AudioResource:
        current: AudioResource | None = engine.state.audio_resources.get(entity_id)
        if current is None:
            raise _not_found(entity_id)
        engine.upsert(
            KIND,
            dataclasses.replace(
                current,
                content_type=facts.content_type,
                duration_s=facts.duration_s,
                size_bytes=facts.size_bytes,
            ),
        )
        stored: AudioResource = engine.state.audio_resources[entity_id]
        return stored

    try:
        stored = await actor.run(record)
    except ApiProblem:
        await asyncio.to_thread(repository.remove, entity_id)
        raise
    response.headers["ETag"] = _etag(stored.version)
    return to_json(_AUDIO_KIND, stored)


@router.get(
    PATH,
    name="download_audio_content",
    response_class=Response,
    responses={
        200: {
            "description": "The recording as uploaded.",
            "content": {media: {} for media in AUDIO_CONTENT_TYPES},
        }
    },
)
async def download_audio_content(
    entity_id: str,
    request: Request,
    actor: Actor = Depends(require(CAPABILITY, READ)),
) -> Response:
    """The recording; 404 `audio_content_missing` while none was uploaded.

    The journaled facts decide whether there is one: bytes left behind by a
    removed resource whose id was used again are never served.
    """
    resource = await actor.run(lambda engine: _resource(actor, engine, entity_id))
    repository = AudioContentRepository(tenancy_of(request).db, actor.principal.tenant_id)
    stored = await asyncio.to_thread(repository.get, entity_id)
    if stored is None or resource.content_type is None:
        raise ApiProblem(
            404,
            "audio_content_missing",
            f"The audio_resource '{entity_id}' has no recording yet; upload one with PUT.",
        )
    etag = f'"{stored.sha256}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={"ETag": etag, "Cache-Control": "private, no-cache"},
    )


async def drop_audio_content(request: Request, tenant_id: str, resource_id: str) -> None:
    """After a resource's removal was journaled, its recording goes too (`config.py`).

    If the process stops in between, the row stays behind unreachable: no route
    serves a missing resource's content, nor the old bytes under a new resource
    that reuses the id (its journaled facts say it has none until an upload).
    """
    repository = AudioContentRepository(tenancy_of(request).db, tenant_id)
    await asyncio.to_thread(repository.remove, resource_id)


_AUDIO_KIND = next(kind for kind in KINDS if kind.name == KIND)
