"""Workflows over HTTP: CRUD in the 04 §1 form, drafts and publishing, issues, service
slots, templates and the schema."""

from __future__ import annotations

import copy
from typing import Any

from api_harness import Service, service

__all__ = ["service"]

API = "/api/v1"

SIMPLE: dict[str, Any] = {
    "name": "Hotline",
    "modality": "audio",
    "direction": "inbound",
    "nodes": [
        {"id": "start", "type": "start", "exits": {"next": "acc"}},
        {"id": "acc", "type": "accept", "exits": {"next": "q"}},
        {
            "id": "q",
            "type": "queue",
            "settings": {"max_queue_time_s": 120},
            "exits": {"timeout": "bye", "no_users": "bye", "full": "bye"},
        },
        {"id": "bye", "type": "disconnect", "name": "Goodbye"},
    ],
}


def _post(svc: Service, path: str, body: Any) -> dict[str, Any]:
    response = svc.client.post(f"{API}/{path}", json=body, headers=svc.auth())
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


def test_a_workflow_is_written_and_read_in_the_document_form(service: Service) -> None:
    created = service.client.post(f"{API}/workflows", json=SIMPLE, headers=service.auth())
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["Location"] == f"{API}/workflows/{body['id']}"
    assert created.headers["ETag"] == '"1"'
    assert body["version"] == 1 and body["status"] == "draft" and body["ou_id"] == "root"
    assert body["nodes"] == SIMPLE["nodes"]
    read = service.client.get(f"{API}/workflows/{body['id']}", headers=service.auth())
    assert read.status_code == 200 and read.json() == body
    listed = service.client.get(f"{API}/workflows?q=hot", headers=service.auth()).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]


def test_shape_problems_are_refused_with_document_paths(service: Service) -> None:
    bad = copy.deepcopy(SIMPLE)
    bad["nodes"][2]["exits"]["timeout"] = 5
    response = service.client.post(f"{API}/workflows", json=bad, headers=service.auth())
    assert response.status_code == 422
    assert [(e["code"], e["path"]) for e in response.json()["errors"]] == [
        ("invalid_type", "nodes[2].exits.timeout")
    ]
    sideways = {**SIMPLE, "direction": "none"}
    response = service.client.post(f"{API}/workflows", json=sideways, headers=service.auth())
    assert response.status_code == 422
    assert [(e["code"], e["path"]) for e in response.json()["errors"]] == [
        ("invalid_type", "direction")
    ]
    unknown = copy.deepcopy(SIMPLE)
    unknown["version"] = 3
    response = service.client.post(f"{API}/workflows", json=unknown, headers=service.auth())
    assert response.status_code == 422  # the server owns the version


def test_drafts_keep_errors_that_issues_show_and_publish_refuses(service: Service) -> None:
    broken = copy.deepcopy(SIMPLE)
    broken["nodes"][2]["settings"]["max_queue_time_s"] = 1
    wf = _post(service, "workflows", broken)
    issues = service.client.get(f"{API}/workflows/{wf['id']}/issues", headers=service.auth())
    assert issues.status_code == 200
    report = issues.json()
    assert report["publishable"] is False
    assert [(i["code"], i["path"]) for i in report["issues"]] == [
        ("invalid_setting", "nodes[q].settings.max_queue_time_s")
    ]
    refused = service.client.post(f"{API}/workflows/{wf['id']}/publish", headers=service.auth())
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "nodes[q].settings.max_queue_time_s"


def test_publish_then_edit_starts_the_next_version(service: Service) -> None:
    wf = _post(service, "workflows", SIMPLE)
    published = service.client.post(f"{API}/workflows/{wf['id']}/publish", headers=service.auth())
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["version"] == 1
    again = service.client.post(f"{API}/workflows/{wf['id']}/publish", headers=service.auth())
    assert again.status_code == 409 and again.json()["code"] == "already_published"
    edited = copy.deepcopy(SIMPLE)
    edited["nodes"][3]["name"] = "Bye"
    stale = service.client.put(
        f"{API}/workflows/{wf['id']}",
        json=edited,
        headers={**service.auth(), "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    put = service.client.put(
        f"{API}/workflows/{wf['id']}", json=edited, headers={**service.auth(), "If-Match": '"1"'}
    )
    assert put.status_code == 200, put.text
    assert (put.json()["version"], put.json()["status"]) == (2, "draft")
    assert put.headers["ETag"] == '"2"'
    moved = copy.deepcopy(edited)
    moved["modality"] = "chat"
    refused = service.client.put(f"{API}/workflows/{wf['id']}", json=moved, headers=service.auth())
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "immutable_field"


def test_services_use_published_workflows_of_their_kind(service: Service) -> None:
    wf = _post(service, "workflows", SIMPLE)
    svc = _post(
        service,
        "services",
        {"name": "Hotline", "upn": "hotline@a.test", "user_assignment_type": "teams_based"},
    )
    body = {k: v for k, v in svc.items() if k not in ("id", "version")}
    body["workflows"] = {"audio_inbound": wf["id"]}
    response = service.client.put(f"{API}/services/{svc['id']}", json=body, headers=service.auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "workflows.audio_inbound"
    _post(service, f"workflows/{wf['id']}/publish", None)
    response = service.client.put(f"{API}/services/{svc['id']}", json=body, headers=service.auth())
    assert response.status_code == 200, response.text
    in_use = service.client.delete(f"{API}/workflows/{wf['id']}", headers=service.auth())
    assert in_use.status_code == 409 and in_use.json()["code"] == "entity_in_use"


def test_templates_are_listed_and_instantiated_as_drafts(service: Service) -> None:
    listed = service.client.get(f"{API}/workflow-templates", headers=service.auth())
    assert listed.status_code == 200
    templates = {t["id"]: t for t in listed.json()}
    assert len(templates) == 10
    menu = templates["ivr_menu"]
    assert menu["kind"] == "audio_inbound" and menu["name"] == "IVR Menu"
    required = {p["name"] for p in menu["parameters"] if p["required"]}
    assert required == {"option_1_service_id", "option_2_service_id"}
    made = service.client.post(
        f"{API}/workflow-templates/opening_hours_queue",
        json={"name": "After hours", "parameters": {"max_queue_time_s": 60}},
        headers=service.auth(),
    )
    assert made.status_code == 201, made.text
    doc = made.json()
    assert (doc["name"], doc["status"], doc["version"]) == ("After hours", "draft", 1)
    queue = next(n for n in doc["nodes"] if n["id"] == "queue")
    assert queue["settings"]["max_queue_time_s"] == 60
    stored = service.client.get(made.headers["Location"], headers=service.auth())
    assert stored.status_code == 200 and stored.json() == doc


def test_template_parameters_are_checked_all_at_once(service: Service) -> None:
    response = service.client.post(
        f"{API}/workflow-templates/ivr_menu",
        json={"parameters": {"option_1_service_id": 5, "colour": "red"}},
        headers=service.auth(),
    )
    assert response.status_code == 422
    assert sorted((e["code"], e["path"]) for e in response.json()["errors"]) == [
        ("invalid_type", "parameters.option_1_service_id"),
        ("required", "parameters.option_2_service_id"),
        ("unknown_field", "parameters.colour"),
    ]
    missing = service.client.post(f"{API}/workflow-templates/nope", json={}, headers=service.auth())
    assert missing.status_code == 404 and missing.json()["code"] == "template_not_found"


def test_the_schema_is_served(service: Service) -> None:
    response = service.client.get(f"{API}/workflows/schema", headers=service.auth())
    assert response.status_code == 200
    assert response.json()["$id"] == "urn:switchboard:schema:workflow:1"


def test_read_only_keys_read_but_do_not_publish(service: Service) -> None:
    wf = _post(service, "workflows", SIMPLE)
    ro = service.auth(service.read_only_a)
    assert service.client.get(f"{API}/workflows/{wf['id']}", headers=ro).status_code == 200
    assert service.client.get(f"{API}/workflow-templates", headers=ro).status_code == 200
    refused = service.client.post(f"{API}/workflows/{wf['id']}/publish", headers=ro)
    assert refused.status_code == 403
    other = service.auth(service.key_b)
    hidden = service.client.post(f"{API}/workflows/{wf['id']}/publish", headers=other)
    assert hidden.status_code == 404


def test_a_workflow_runs_for_api_tasks_and_waits_for_a_parameter(service: Service) -> None:
    _post(service, "parameters", {"id": "Approval", "name": "Approval"})
    wf = _post(
        service,
        "workflows",
        {
            "name": "Approval flow",
            "modality": "external_task",
            "nodes": [
                {"id": "start", "type": "start", "exits": {"next": "acc"}},
                {"id": "acc", "type": "accept", "exits": {"next": "wait"}},
                {
                    "id": "wait",
                    "type": "wait_for_parameter",
                    "settings": {"parameter_id": "Approval", "timeout_s": 600},
                    "exits": {"updated": "q", "timeout": "bye"},
                },
                {
                    "id": "q",
                    "type": "queue",
                    "settings": {"distribution_type": "direct"},
                    "exits": {"timeout": "bye", "no_users": "bye", "full": "bye"},
                },
                {"id": "bye", "type": "disconnect"},
            ],
        },
    )
    _post(service, f"workflows/{wf['id']}/publish", None)
    svc = _post(
        service,
        "services",
        {
            "name": "Back office",
            "upn": "office@a.test",
            "user_assignment_type": "teams_based",
            "enabled_modalities": ["external_task"],
            "workflows": {"external_task_inbound": wf["id"]},
        },
    )
    task = _post(service, "tasks", {"service_id": svc["id"], "kind": "external_task"})
    assert task["state"] == "in_workflow"
    diagnosis = service.client.get(f"{API}/tasks/{task['id']}/diagnosis", headers=service.auth())
    assert diagnosis.json()["verdict"] == "in_workflow"
    assert diagnosis.json()["workflow"]["node_id"] == "wait"
    unknown = service.client.put(
        f"{API}/tasks/{task['id']}/parameters/Nope", json={"value": "x"}, headers=service.auth()
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_reference"
    done = service.client.put(
        f"{API}/tasks/{task['id']}/parameters/Approval",
        json={"value": "yes"},
        headers=service.auth(),
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "queued"
    assert done.json()["custom_context"] == {"Approval": "yes"}
