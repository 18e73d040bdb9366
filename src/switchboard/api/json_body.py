"""JSON request bodies, parsed once, with the syntax and shape rules of 10 §11 (IN1, IN3).

Left to itself, FastAPI answers a body that is not JSON with 422, like a
validation error, and a body that is not UTF-8 with a generic 400. The API's
routers are built with `route_class=JsonRoute`, which hands FastAPI a
`JsonRequest`: its `json()` — the one parse FastAPI does anyway — decodes strict UTF-8,
parses, and checks nesting depth and array sizes, so the refusals are precise
and nothing is parsed twice:

* not UTF-8, or not JSON: 400 `malformed_json`, naming the line and column;
* nested deeper than 32 levels, or an array of more than 1,000 items: 422
  `limit_exceeded` with the `path` of the offending value;
* a body sent as anything but JSON to a route that takes JSON: 415.

The shape check walks the parsed value only when the raw text allows a
violation at all (more brackets than the depth limit, or as many commas as
the item limit), which ordinary bodies never do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from switchboard.api.limits import MAX_ARRAY_ITEMS, MAX_JSON_DEPTH
from switchboard.api.problems import ApiProblem

Part = str | int


class _Constant(ValueError):
    """`NaN`, `Infinity` or `-Infinity`: Python's parser reads them, JSON (RFC 8259) has none."""


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


#: The standard decoder, but refusing the non-JSON constants; built once (json.loads
#: with options would build a decoder per call).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)

#: Strings (skipped whole) or one of the constants outside them.
_CONSTANT = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(NaN|-?Infinity)')


def parse_json(body: bytes) -> Any:
    """The body's JSON value, or an `ApiProblem` saying where and why it cannot be one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_column(body, error.start)
        raise _malformed(
            f"The body is not UTF-8: {error.reason} (byte 0x{body[error.start]:02x}) at "
            f"line {line}, column {column}.",
            line,
            column,
        ) from None
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise _not_json(error) from None
    except _Constant as constant:
        found = next((m for m in _CONSTANT.finditer(text) if m.group(1) == str(constant)), None)
        at = found.start(1) if found else 0
        raise _not_json(json.JSONDecodeError(f"{constant} is not a JSON value", text, at)) from None
    except RecursionError:
        # Nested so deep that the parser gave up (hundreds of levels): far past the limit.
        raise _too_deep(_deep_path(text)) from None
    if isinstance(value, list | dict) and (
        text.count("[") + text.count("{") > MAX_JSON_DEPTH or text.count(",") >= MAX_ARRAY_ITEMS
    ):
        _check_shape(value, 1, [])
    return value


class JsonRequest(Request):
    """A request whose `json()` is `parse_json` (FastAPI calls it for JSON bodies)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """A route that reads its JSON body through `JsonRequest` and refuses other media types.

    Routes without a body, or taking a form, are served exactly as FastAPI would (no
    extra call).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handle

        async def handle_json(request: Request) -> Response:
            json_request = JsonRequest(request.scope, request.receive)
            content_type = request.headers.get("content-type")
            # An empty body is left to validation: optional bodies may be omitted.
            if not is_json(content_type) and await json_request.body():
                raise ApiProblem(
                    415,
                    "unsupported_media_type",
                    f"This endpoint takes a JSON body (Content-Type: application/json); "
                    f"got {(content_type or 'no Content-Type')[:100]}.",
                    headers={"Accept": "application/json"},  # RFC 9110 §15.5.16
                )
            return await handle(json_request)

        return handle_json


def is_json(content_type: str | None) -> bool:
    """`application/json` or `application/<something>+json`, parameters aside (as FastAPI)."""
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _check_shape(value: list[Any] | dict[str, Any], depth: int, at: list[Part]) -> None:
    """Refuse the first value nested deeper than the limit or array longer than it.

    `at` is the path to `value`, extended and restored in place: the walk runs on
    every large body, so it allocates nothing until it finds something to refuse.
    """
    if depth > MAX_JSON_DEPTH:
        raise _too_deep(tuple(at))
    if isinstance(value, list):
        if len(value) > MAX_ARRAY_ITEMS:
            where = _path(tuple(at))
            message = (
                f"{where or 'body'}: an array holds at most {MAX_ARRAY_ITEMS} items; "
                f"this one has {len(value)}."
            )
            raise _limit(where, message)
        items: Any = enumerate(value)
    else:
        items = value.items()
    for part, item in items:
        if type(item) in _CONTAINERS:
            at.append(part)
            _check_shape(item, depth + 1, at)
            at.pop()


#: What `json` makes of arrays and objects (exactly these types, never subclasses).
_CONTAINERS = frozenset({list, dict})


#: What the depth scan needs to see: whole strings (keys, and brackets inside text
#: that must not count), brackets and commas; numbers, literals and colons pass by.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def _deep_path(text: str) -> tuple[Part, ...]:
    """Where the first value nested deeper than the limit starts, found without parsing."""
    kinds: list[str] = []  # "[" or "{" per open container
    at: list[Part] = []  # the current index or key in each open container
    expect_key = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            if len(kinds) == MAX_JSON_DEPTH:
                return tuple(at)
            kinds.append(token)
            at.append(0 if token == "[" else "")
            expect_key = token == "{"
        elif token in ("]", "}"):
            if kinds:
                kinds.pop()
                at.pop()
            expect_key = False
        elif token == ",":
            if kinds and kinds[-1] == "[":
                at[-1] = int(at[-1]) + 1
            expect_key = bool(kinds) and kinds[-1] == "{"
        elif expect_key:
            at[-1] = json.loads(token)
            expect_key = False
    return ()


def _too_deep(at: tuple[Part, ...]) -> ApiProblem:
    where = _path(at)
    return _limit(
        where,
        f"{where or 'body'}: JSON may nest at most {MAX_JSON_DEPTH} levels deep; "
        f"this value opens level {MAX_JSON_DEPTH + 1}.",
    )


def _limit(where: str, message: str) -> ApiProblem:
    return ApiProblem(
        422,
        "limit_exceeded",
        message,
        errors=[{"code": "limit_exceeded", "path": where, "message": message}],
    )


def _not_json(error: json.JSONDecodeError) -> ApiProblem:
    return _malformed(
        f"The body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.",
        error.lineno,
        error.colno,
    )


def _malformed(message: str, line: int, column: int) -> ApiProblem:
    return ApiProblem(
        400,
        "malformed_json",
        message,
        errors=[{"code": "malformed_json", "path": "", "message": message}],
        extra={"line": line, "column": column},
    )


def _path(at: tuple[Part, ...]) -> str:
    """`a.b[2].c`, as validation errors name fields (`problems`); the body itself is ''."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of the first undecodable byte, the column in characters
    like the JSON parser's (everything before that byte is valid UTF-8)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8")) + 1
    return data.count(b"\n", 0, offset) + 1, column
