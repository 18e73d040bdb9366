"""Refusals of the OData layer, with what the OData JSON error format needs (08 OD10)."""

from __future__ import annotations

from functools import partial
from typing import Any


class ODataError(Exception):
    """A refused request: `status`, a machine-readable `code`, a sentence, and the query
    option or property at fault as `target` (`$filter`, `ServiceId`, …)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []
        self.headers = headers or {}

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        """Pickled whole, so a refusal made in a worker process reaches the API process
        (`switchboard.reporting.odata.workers`) as it was raised."""
        rebuild = partial(
            type(self),
            self.status,
            self.code,
            self.message,
            target=self.target,
            details=self.details,
            headers=self.headers,
        )
        return (rebuild, ())


def bad_request(
    message: str, *, target: str | None = None, code: str = "invalid_query"
) -> ODataError:
    return ODataError(400, code, message, target=target)


def not_implemented(message: str, *, target: str | None = None) -> ODataError:
    """What the feed deliberately does not offer (08 OD7): 501 `not_implemented`."""
    return ODataError(501, "not_implemented", message, target=target)
