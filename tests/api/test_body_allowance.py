"""A route may declare a larger body limit (`BodyAllowance`); every other route keeps 1 MiB."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from switchboard.api.limits import BodyAllowance, InputLimits


async def _size(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def _client() -> TestClient:
    app = Starlette(
        routes=[
            Route("/things/{thing_id}/content", _size, methods=["PUT"]),
            Route("/things/{thing_id}", _size, methods=["PUT"]),
        ]
    )
    allowance = BodyAllowance("PUT", "/things/{thing_id}/content", 3000)
    return TestClient(InputLimits(app, max_body=1000, allowances=[allowance]))


def test_the_allowance_applies_to_its_route_only() -> None:
    client = _client()
    assert client.put("/things/a/content", content=b"x" * 2500).json() == {"size": 2500}
    over = client.put("/things/a/content", content=b"x" * 3001)
    assert over.status_code == 413 and over.json()["limit"] == 3000
    elsewhere = client.put("/things/a", content=b"x" * 1001)
    assert elsewhere.status_code == 413 and elsewhere.json()["limit"] == 1000
    # A parameter is one path segment: a longer path is another route.
    nested = client.put("/things/a/b/content", content=b"x" * 1001)
    assert nested.status_code == 413


def test_a_chunked_body_is_counted_against_the_allowance() -> None:
    client = _client()

    def chunks(total: int) -> Iterator[bytes]:
        for _ in range(total // 500):
            yield b"x" * 500

    assert client.put("/things/a/content", content=chunks(2500)).json() == {"size": 2500}
    assert client.put("/things/a/content", content=chunks(3500)).status_code == 413
