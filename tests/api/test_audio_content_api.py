"""Uploading and downloading the recording of an audio resource (01 §9, 10 §11 IN1)."""

from __future__ import annotations

import io
import wave

import httpx
from api_harness import Service, service

from switchboard.domain.config import MAX_AUDIO_BYTES
from switchboard.store.audio import AudioContentRepository

__all__ = ["service"]


def _wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x01\x00" * int(seconds * rate))
    return out.getvalue()


def _resource(svc: Service, name: str = "Greeting") -> str:
    created = svc.client.post("/api/v1/audio-resources", json={"name": name}, headers=svc.auth())
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _upload(
    svc: Service, resource: str, data: bytes, media: str = "audio/wav", key: str | None = None
) -> httpx.Response:
    response: httpx.Response = svc.client.put(
        f"/api/v1/audio-resources/{resource}/content",
        content=data,
        headers={**svc.auth(key), "Content-Type": media},
    )
    return response


def test_an_upload_records_its_facts_and_downloads_byte_for_byte(service: Service) -> None:
    resource = _resource(service)
    recording = _wav(seconds=1.5)

    uploaded = _upload(service, resource, recording)

    assert uploaded.status_code == 200, uploaded.text
    facts = uploaded.json()
    assert facts["content_type"] == "audio/wav"
    assert facts["duration_s"] == 1.5
    assert facts["size_bytes"] == len(recording)
    assert facts["version"] == 2  # the facts are a journaled configuration change
    shown = service.client.get(f"/api/v1/audio-resources/{resource}", headers=service.auth())
    assert shown.json()["duration_s"] == 1.5
    downloaded = service.client.get(
        f"/api/v1/audio-resources/{resource}/content", headers=service.auth()
    )
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "audio/wav"
    assert downloaded.content == recording
    again = service.client.get(
        f"/api/v1/audio-resources/{resource}/content",
        headers={**service.auth(), "If-None-Match": downloaded.headers["etag"]},
    )
    assert again.status_code == 304


def test_nothing_uploaded_yet_is_a_404_that_says_so(service: Service) -> None:
    resource = _resource(service)
    missing = service.client.get(
        f"/api/v1/audio-resources/{resource}/content", headers=service.auth()
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "audio_content_missing"


def test_bad_recordings_are_refused_naming_content_and_change_nothing(service: Service) -> None:
    resource = _resource(service)
    eight_bit = io.BytesIO()
    with wave.open(eight_bit, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(44100)
        writer.writeframes(b"\x80" * 4410)

    refused = _upload(service, resource, eight_bit.getvalue())
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert error["path"] == "content"
    assert "16-bit samples (got 8-bit)" in error["message"]
    assert "8000 or 16000 Hz (got 44100 Hz)" in error["message"]

    wrong_type = _upload(service, resource, _wav(), media="text/plain")
    assert wrong_type.status_code == 415
    assert wrong_type.json()["code"] == "unsupported_media_type"

    not_mp3 = _upload(service, resource, _wav(), media="audio/mpeg")
    assert not_mp3.status_code == 422

    shown = service.client.get(f"/api/v1/audio-resources/{resource}", headers=service.auth())
    assert shown.json()["content_type"] is None and shown.json()["version"] == 1
    stored = AudioContentRepository(service.tenancy.db, "tenant-a").get(resource)
    assert stored is None


def test_more_than_10_mb_is_413_but_the_route_takes_more_than_1_mib(service: Service) -> None:
    resource = _resource(service)
    big_but_allowed = _wav(seconds=40.0, rate=16000)  # 1.28 MB: over the 1 MiB JSON limit
    assert len(big_but_allowed) > 1 << 20
    assert _upload(service, resource, big_but_allowed).status_code == 200

    too_big = _upload(service, resource, b"\x00" * (MAX_AUDIO_BYTES + 1))
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "body_too_large"


def test_the_recording_goes_with_its_resource(service: Service) -> None:
    resource = _resource(service)
    _upload(service, resource, _wav())
    deleted = service.client.delete(f"/api/v1/audio-resources/{resource}", headers=service.auth())
    assert deleted.status_code == 204
    assert AudioContentRepository(service.tenancy.db, "tenant-a").get(resource) is None


def test_readers_download_but_only_writers_upload_and_other_tenants_see_nothing(
    service: Service,
) -> None:
    resource = _resource(service)
    _upload(service, resource, _wav())

    reader = service.auth(service.read_only_a)
    read = service.client.get(f"/api/v1/audio-resources/{resource}/content", headers=reader)
    assert read.status_code == 200
    refused = _upload(service, resource, _wav(), key=service.read_only_a)
    assert refused.status_code == 403

    other = service.auth(service.key_b)
    hidden = service.client.get(f"/api/v1/audio-resources/{resource}/content", headers=other)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "audio_resource_not_found"
    assert _upload(service, resource, _wav(), key=service.key_b).status_code == 404


def test_a_stale_if_match_is_412_and_keeps_the_old_recording(service: Service) -> None:
    resource = _resource(service)
    first = _wav(seconds=0.5)
    _upload(service, resource, first)
    stale = service.client.put(
        f"/api/v1/audio-resources/{resource}/content",
        content=_wav(seconds=2.0),
        headers={**service.auth(), "Content-Type": "audio/wav", "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    downloaded = service.client.get(
        f"/api/v1/audio-resources/{resource}/content", headers=service.auth()
    )
    assert downloaded.content == first
