"""Domain errors: every refusal carries a machine-readable code and a sentence."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain refused an operation.

    `code` is stable and machine-readable (used by the API and tests); `message`
    is a sentence a supervisor understands; `detail` carries the facts behind it.
    """

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class InvalidTransition(DomainError):
    """A state machine was asked to move along an edge it does not have."""

    code = "invalid_transition"


class NotFound(DomainError):
    code = "not_found"


class Refused(DomainError):
    """A well-formed command that the current live state does not allow."""

    code = "refused"
