"""Errors as RFC 9457 `application/problem+json`, in one place.

Every refusal leaves the API in the same shape: `type`, `title`, `status`, a
`detail` sentence, the request id as `instance`, a machine-readable `code`, and
for invalid input an `errors` list of `{code, path, message}` naming each field
and what was expected (01 §1, 10 §11). Domain errors carry their own code and
sentence; this module only chooses the HTTP status.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from switchboard.domain.errors import DomainError, NotFound
from switchboard.domain.validation import ValidationFailed
from switchboard.runtime.host import HostUnavailable

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

#: Domain codes that mean "the request's input is wrong" (422), as opposed to
#: "the current state does not allow it" (409).
INPUT_CODES = frozenset(
    {
        "required",
        "invalid_type",
        "too_long",
        "too_short",
        "out_of_range",
        "invalid_format",
        "not_unique",
        "unknown_reference",
        "reference_not_visible",
        "immutable_field",
        "not_applicable",
        "invalid_combination",
        "limit_exceeded",
        "unknown_field",
        "unknown_type",
    }
)


class ProblemError(BaseModel):
    """One invalid field: what was wrong (`code`), where (`path`) and a sentence."""

    code: str
    path: str
    message: str


class Problem(BaseModel):
    """The body of every error response (RFC 9457); extra members are allowed."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[ProblemError] = Field(default_factory=list)  # present when input was invalid


#: The error statuses every authenticated route can answer with, documented once:
#: routers pass this to `APIRouter(responses=...)`; `install` files them under
#: `application/problem+json` in the OpenAPI document.
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": title}
    for status, title in {
        400: "Malformed request (e.g. a body that is not UTF-8 or not JSON)",
        401: "Authentication required",
        403: "Not permitted",
        404: "Not found",
        409: "Conflict with the current state",
        412: "Precondition failed",
        414: "URL too long",
        422: "Invalid input",
        429: "Too many requests",
        431: "Request headers too large",
        503: "Temporarily unavailable",
    }.items()
}

#: Answers only an operation with a JSON request body gives; `install` adds them to those.
BODY_RESPONSES: dict[int, str] = {
    413: "Request body too large",
    415: "Body is not JSON (Content-Type)",
}


class ApiProblem(StarletteHTTPException):
    """A refusal decided by the HTTP layer itself (auth, preconditions, paging, input limits).

    An HTTP exception so that FastAPI passes it on when it is raised while the body
    is read or parsed (`api.json_body`, `api.limits`) instead of answering a generic 400.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.extra = extra
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers


def unavailable(error: HostUnavailable) -> ApiProblem:
    """A tenant not taking work, as the 503 a request or a stream ends with."""
    retry_after = str(max(1, math.ceil(error.retry_after)))
    return ApiProblem(503, error.code, str(error), headers={"Retry-After": retry_after})


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    return str(rid)


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://switchboard.dev/problems/{code}",
        "title": _TITLES.get(status, "Request refused"),
        "status": status,
        "detail": detail,
        "instance": request_id(request),
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_response(request: Request, error: ApiProblem) -> JSONResponse:
    """The problem document of a refusal the HTTP layer decided."""
    return problem(
        request,
        error.status,
        error.code,
        error.detail,
        errors=error.errors,
        headers=error.headers,
        extra=error.extra,
    )


_TITLES = {
    400: "Malformed request",
    401: "Authentication required",
    403: "Not permitted",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    412: "Precondition failed",
    413: "Content too large",
    414: "URL too long",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    431: "Request headers too large",
    500: "Internal error",
    503: "Temporarily unavailable",
}


def status_for(error: DomainError) -> int:
    if isinstance(error, ValidationFailed):
        return 422
    if isinstance(error, NotFound) or error.code.endswith("_not_found"):
        return 404
    if error.code in INPUT_CODES:
        return 422
    if error.code == "version_conflict":
        return 409
    if error.code == "service_capacity_reached":
        return 429
    return 409  # Refused, InvalidTransition and other state conflicts


def _domain_errors(error: DomainError) -> list[dict[str, str]]:
    if isinstance(error, ValidationFailed):
        return [{"code": i.code, "path": i.path, "message": i.message} for i in error.issues]
    field = error.detail.get("field")
    if error.code in INPUT_CODES:
        return [{"code": error.code, "path": str(field or ""), "message": error.message}]
    return []


def _pydantic_path(location: tuple[Any, ...]) -> str:
    parts = [p for p in location if p not in ("body", "query", "path", "header")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_PYDANTIC_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_long",
    "too_short": "too_short",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "enum": "invalid_format",
    "literal_error": "invalid_format",
    "string_pattern_mismatch": "invalid_format",
    "json_invalid": "invalid_type",
    "string_unicode": "invalid_format",
}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document, and say so in
    the OpenAPI document."""
    _document_problems(app)

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, error: ApiProblem) -> JSONResponse:
        return problem_response(request, error)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        extra = {k: v for k, v in error.detail.items() if k != "issues" and _jsonable(v)}
        return problem(
            request,
            status_for(error),
            error.code,
            error.message,
            errors=_domain_errors(error),
            extra={"detail_data": extra} if extra else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = []
        for item in error.errors():
            # A model-level check names the offending field in its context (schemas.Input).
            inner = (item.get("ctx") or {}).get("loc", ())
            path = _pydantic_path(tuple(item.get("loc", ())) + tuple(inner))
            code = _PYDANTIC_CODES.get(str(item.get("type")), "invalid_type")
            message = f"{path or 'body'}: {item.get('msg', 'invalid value')}."
            errors.append({"code": code, "path": path, "message": message})
        first = errors[0]["message"] if errors else "The request is invalid."
        return problem(request, 422, "validation_failed", first, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        headers = dict(error.headers) if error.headers else None
        return problem(request, error.status_code, code, str(error.detail), headers=headers)

    @app.exception_handler(HostUnavailable)
    async def _unavailable(request: Request, error: HostUnavailable) -> JSONResponse:
        return problem_response(request, unavailable(error))

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return problem(
            request, 500, "internal_error", "Something went wrong; quote the request id."
        )


def _document_problems(app: FastAPI) -> None:
    """Declare error bodies as `application/problem+json`, the media type they are sent with,
    and the refusals of a request body (`BODY_RESPONSES`) on the operations that take one.

    FastAPI files an additional response's model under the route's own media type
    (`application/json`); the generated document is corrected once, when first built.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        body_problem = {PROBLEM: {"schema": {"$ref": f"#/components/schemas/{Problem.__name__}"}}}
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                if "application/json" in operation.get("requestBody", {}).get("content", {}):
                    for status, title in BODY_RESPONSES.items():
                        operation["responses"].setdefault(
                            str(status), {"description": title, "content": body_problem}
                        )
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    body = content.get("application/json", {}).get("schema", {})
                    if body.get("$ref", "").endswith(f"/{Problem.__name__}"):
                        content[PROBLEM] = content.pop("application/json")
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None))
