"""The audio-content repository on SQLite and PostgreSQL: one recording per resource,
replaced whole, kept apart per tenant, removed with its resource."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from switchboard.store.audio import AudioContentRepository
from switchboard.store.repositories import Tenant

WAV = b"RIFF....WAVEfmt " + bytes(range(256)) * 4
MP3 = b"\xff\xfb\x90\x00" + b"\x00" * 413


def test_put_then_get_returns_the_same_bytes_and_their_digest(
    migrated: Engine, new_tenant: Callable[[str], Tenant]
) -> None:
    audio = AudioContentRepository(migrated, new_tenant("Acme").id)
    at = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)

    audio.put("greeting", WAV, "audio/wav", now=at)
    stored = audio.get("greeting")

    assert stored is not None
    assert stored.data == WAV
    assert stored.content_type == "audio/wav"
    assert stored.sha256 == hashlib.sha256(WAV).hexdigest()
    assert stored.uploaded_at == at


def test_a_second_upload_replaces_the_first(
    migrated: Engine, new_tenant: Callable[[str], Tenant]
) -> None:
    audio = AudioContentRepository(migrated, new_tenant("Acme").id)
    audio.put("greeting", WAV, "audio/wav")
    audio.put("greeting", MP3, "audio/mpeg")

    stored = audio.get("greeting")
    assert stored is not None
    assert (stored.data, stored.content_type) == (MP3, "audio/mpeg")


def test_nothing_uploaded_reads_as_none(
    migrated: Engine, new_tenant: Callable[[str], Tenant]
) -> None:
    assert AudioContentRepository(migrated, new_tenant("Acme").id).get("greeting") is None


def test_another_tenant_neither_reads_nor_removes_the_recording(
    migrated: Engine, new_tenant: Callable[[str], Tenant]
) -> None:
    mine = AudioContentRepository(migrated, new_tenant("Acme").id)
    theirs = AudioContentRepository(migrated, new_tenant("Other").id)
    mine.put("greeting", WAV, "audio/wav")

    assert theirs.get("greeting") is None
    assert theirs.remove("greeting") is False
    assert mine.get("greeting") is not None


def test_remove_forgets_the_recording_once(
    migrated: Engine, new_tenant: Callable[[str], Tenant]
) -> None:
    audio = AudioContentRepository(migrated, new_tenant("Acme").id)
    audio.put("greeting", WAV, "audio/wav")

    assert audio.remove("greeting") is True
    assert audio.get("greeting") is None
    assert audio.remove("greeting") is False
