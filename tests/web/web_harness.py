"""The demo tenant on a real service, in process, and its people signed in.

The UI is tested on the data `make run` shows: `ensure_demo` creates the demo
tenant (services, agents, codes, accounts) exactly as `switchboard serve --demo`
does. People sign in through the API's sign-in route; their cookie is then sent
explicitly per request, so one test can play several people at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from switchboard.api.demo import DEMO_PASSWORD, DEMO_TENANT_ID, DemoInfo, ensure_demo
from switchboard.api.tenancy import Settings, Tenancy
from switchboard.engine.engine import Engine
from switchboard.web.app import create_app

ORIGIN = "http://testserver"


@dataclass(frozen=True)
class Person:
    user_id: str
    cookie: str
    csrf_token: str

    def headers(self, *, htmx: bool = False) -> dict[str, str]:
        sent = {"Cookie": f"sb_session={self.cookie}"}
        if htmx:
            sent["HX-Request"] = "true"
        return sent

    def unsafe(self) -> dict[str, str]:
        return {**self.headers(), "X-CSRF-Token": self.csrf_token, "Origin": ORIGIN}


@dataclass
class Demo:
    client: TestClient
    tenancy: Tenancy
    info: DemoInfo

    @property
    def engine(self) -> Engine:
        return self.tenancy.hosts[DEMO_TENANT_ID].engine

    def sign_in(self, username: str) -> Person:
        answer = self.client.post(
            "/api/v1/auth/sign-in", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        token = answer.cookies.get("sb_session")
        self.client.cookies.clear()
        assert token
        return Person(answer.json()["user_id"], token, answer.json()["csrf_token"])

    def get(self, path: str, person: Person | None = None, **kw: Any) -> httpx.Response:
        headers = person.headers(htmx=kw.pop("htmx", False)) if person else {}
        answer: httpx.Response = self.client.get(
            path, headers=headers, follow_redirects=False, **kw
        )
        return answer

    def api(self, method: str, path: str, person: Person, body: Any = None) -> httpx.Response:
        answer: httpx.Response = self.client.request(
            method, path, json=body, headers=person.unsafe()
        )
        return answer

    def wait_for_state(self, task_id: str, *states: str, timeout_s: float = 20) -> None:
        """Until the task is in one of `states` (the support line plays its welcome first)."""
        end = time.monotonic() + timeout_s
        while True:
            task = self.engine.state.task(task_id)
            if task is not None and task.state.value in states:
                return
            assert time.monotonic() < end, f"task {task_id} is {task and task.state}, not {states}"
            time.sleep(0.05)

    def open_all_hours(self) -> None:
        """Support and the front desk answer at any hour (the demo keeps office hours), so
        that tests do not depend on the time they run at."""
        for service_id in ("svc-support", "svc-front"):
            service = self.key("GET", f"/api/v1/services/{service_id}")
            for field in ("id", "version"):
                service.pop(field, None)
            service.update(primary_calendar_id="cal-always", secondary_calendar_id=None)
            self.key("PUT", f"/api/v1/services/{service_id}", service)

    def key(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {self.info.api_key}"}
        )
        assert answer.status_code < 300, (method, path, answer.text)
        return answer.json() if answer.content else None


def make_tenancy(tmp_path: Path) -> Tenancy:
    tenancy = Tenancy(
        Settings(
            db_url=f"sqlite:///{tmp_path / 'web.sqlite3'}",
            var_dir=tmp_path,
            secret_key=b"web-test-pepper-0123456789abcdef",
            mode="test",
            demo=True,
        )
    )
    tenancy.open()
    return tenancy


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    tenancy = make_tenancy(tmp_path)
    info = ensure_demo(tenancy)
    with TestClient(create_app(tenancy=tenancy), base_url=ORIGIN) as client:
        yield Demo(client, tenancy, info)
