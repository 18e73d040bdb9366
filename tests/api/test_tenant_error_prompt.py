"""The tenant-wide error prompt (04 RT6) as a tenant setting: text or an audio resource,
checked with paths, and an audio resource it plays cannot be deleted under it."""

from __future__ import annotations

from typing import Any

from api_harness import Service, service

__all__ = ["service"]


def _settings(svc: Service) -> dict[str, Any]:
    settings: dict[str, Any] = svc.client.get("/api/v1/tenant", headers=svc.auth()).json()[
        "settings"
    ]
    return settings


def _put(svc: Service, settings: dict[str, Any]) -> Any:
    return svc.client.put("/api/v1/tenant/settings", json=settings, headers=svc.auth())


def test_a_spoken_error_prompt_is_stored_and_read_back(service: Service) -> None:
    before = _settings(service)
    assert before["error_prompt"] is None
    prompt = {
        "text": "Sorry, something went wrong.",
        "audio_resource_id": None,
        "language": "de-CH",
    }
    put = _put(service, {**before, "error_prompt": prompt})
    assert put.status_code == 200, put.text
    assert _settings(service)["error_prompt"] == prompt


def test_every_problem_of_the_error_prompt_is_named_by_its_path(service: Service) -> None:
    before = _settings(service)
    both = _put(
        service, {**before, "error_prompt": {"text": "Sorry.", "audio_resource_id": "sound"}}
    )
    assert both.status_code == 422, both.text
    assert {(e["path"], e["code"]) for e in both.json()["errors"]} == {
        ("error_prompt", "invalid_combination")
    }
    bad = _put(
        service,
        {**before, "error_prompt": {"audio_resource_id": "no-such-sound", "language": "english!"}},
    )
    assert {(e["path"], e["code"]) for e in bad.json()["errors"]} == {
        ("error_prompt.audio_resource_id", "unknown_reference"),
        ("error_prompt.language", "invalid_format"),
    }
    long = _put(service, {**before, "error_prompt": {"text": "x" * 2001}})
    assert {(e["path"], e["code"]) for e in long.json()["errors"]} == {
        ("error_prompt.text", "too_long")
    }
    assert _settings(service) == before


def test_an_audio_resource_the_error_prompt_plays_cannot_be_deleted(service: Service) -> None:
    created = service.client.post(
        "/api/v1/audio-resources", json={"name": "Sorry"}, headers=service.auth()
    )
    assert created.status_code == 201, created.text
    resource = created.json()["id"]
    put = _put(service, {**_settings(service), "error_prompt": {"audio_resource_id": resource}})
    assert put.status_code == 200, put.text
    refused = service.client.delete(f"/api/v1/audio-resources/{resource}", headers=service.auth())
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "entity_in_use"
    assert "tenant:tenant-a" in refused.text
    cleared = _put(service, {**_settings(service), "error_prompt": None})
    assert cleared.status_code == 200
    gone = service.client.delete(f"/api/v1/audio-resources/{resource}", headers=service.auth())
    assert gone.status_code == 204, gone.text
