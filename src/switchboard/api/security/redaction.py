"""Keeping secrets out of logs: a structlog processor (spec 10 §8, SE1-SE2).

Secrets reach logs in two ways: as a value under a telling key (``password=...``,
``headers={"Authorization": ...}``) and embedded in free text (an exception message that
quotes a URL with ``?api_key=``, a debug line that prints a request). :func:`redact_secrets`
handles both: values under sensitive key names are replaced wholesale, and every string
anywhere in the event - including nested dicts, lists and tuples - is scanned for the shapes
of Switchboard's secrets and of bearer tokens.

The processor errs on the side of hiding too much: a key called ``token_count`` is redacted
too. A log line with a useless field is a small cost; a leaked credential is not.

Install it as the **last processor before the renderer**, after ``format_exc_info`` and similar
steps, so that text those steps produce (formatted tracebacks) is scanned as well::

    structlog.configure(processors=[..., structlog.processors.format_exc_info,
                                    redact_secrets, structlog.processors.JSONRenderer()])

Only ``str`` and ``bytes`` values, exceptions and the standard containers are inspected; other
objects are passed through unchanged, so log such objects by their fields, not whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from structlog.typing import EventDict, WrappedLogger

__all__ = [
    "REDACTED",
    "SENSITIVE_KEY_PARTS",
    "is_sensitive_key",
    "redact_secrets",
    "redact_text",
    "redact_value",
]

REDACTED: Final = "[redacted]"

SENSITIVE_KEY_PARTS: Final[tuple[str, ...]] = (
    # The key names of SE2 ...
    "password",
    "secret",  # also covers client_secret and webhook_secret
    "token",  # access_token, refresh_token, id_token, csrf_token
    "authorization",
    "apikey",  # api_key, api-key, X-API-Key, apiKey once separators are dropped
    "cookie",  # cookie, set-cookie
    # ... and a few more names under which SE1's secrets travel.
    "passwd",
    "signature",  # webhook signatures
    "privatekey",
    "pepper",
    "credential",
)
"""Matched as substrings of the key, lower-cased and with ``_``, ``-``, ``.`` and spaces removed,
so every spelling (``client_secret``, ``Client-Secret``, ``clientSecret``) is caught."""

_SEPARATORS: Final = re.compile(r"[-_. ]")

# One combined pattern so each string is scanned once. Group names say how to replace a match.
# The JWT branch never starts inside a run of letters and digits and never backtracks
# (possessive quantifiers), so long runs of token-like text cannot make the scan quadratic.
_VALUE_PATTERN: Final = re.compile(
    r"""
      (?P<bearer>(?i:\bbearer)\s+)[A-Za-z0-9\-._~+/]+=*       # Authorization: Bearer <token>
    | (?P<query>[?&;](?i:api_key|access_token|id_token|client_secret)=)[^&;\s#"']*
    | sbk_[A-Za-z0-9_\-]+                                      # Switchboard API keys (K1)
    | whsec_[A-Za-z0-9+/=_\-]+                                 # webhook signing secrets
    | (?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]++\.[A-Za-z0-9_\-]*+\.[A-Za-z0-9_\-]*+  # JWT
      (?:\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)?  # ... plus JWE's two extra parts
    """,
    re.VERBOSE,
)

# Nesting deeper than this is almost certainly a reference cycle; the whole subtree is
# redacted rather than risking a RecursionError inside logging (or an unchecked leak).
_MAX_DEPTH: Final = 32


def is_sensitive_key(key: object) -> bool:
    """Return whether a mapping key (or header name) names a secret."""
    if isinstance(key, bytes | bytearray):
        key = bytes(key).decode("latin-1")
    if not isinstance(key, str):
        return False
    compact = _SEPARATORS.sub("", key.lower())
    return any(part in compact for part in SENSITIVE_KEY_PARTS)


def _replace(match: re.Match[str]) -> str:
    prefix = match.group("bearer") or match.group("query") or ""
    return prefix + REDACTED


def redact_text(text: str) -> str:
    """Mask every secret-shaped substring of *text* (``Bearer`` and query names are kept)."""
    return _VALUE_PATTERN.sub(_replace, text)


def _is_header_pair(item: object) -> bool:
    """A ``(name, value)`` pair as in raw header lists, e.g. ``[(b"cookie", b"...")]``."""
    return isinstance(item, tuple | list) and len(item) == 2 and is_sensitive_key(item[0])


def redact_value(value: Any, _depth: int = 0) -> Any:
    """Return *value* with secrets masked; containers are copied, never changed in place.

    Copying matters because the logged objects are usually still in use by the caller - a
    request's header dict, a settings object - and redacting them in place would break the
    application, not just its logs.
    """
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="backslashreplace")
        masked = redact_text(text)
        return value if masked == text else masked
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if is_sensitive_key(key) and item is not None
            else redact_value(item, _depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, tuple | list):
        if _is_header_pair(value):
            items = [redact_value(value[0], _depth + 1), REDACTED]
        else:
            items = [redact_value(item, _depth + 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, set | frozenset):
        return type(value)(redact_value(item, _depth + 1) for item in value)
    if isinstance(value, BaseException):
        text = str(value)
        masked = redact_text(text)
        return value if masked == text else f"{type(value).__name__}: {masked}"
    return value


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact secrets by key name and by value pattern (SE2).

    Top-level keys whose name looks sensitive get ``"[redacted]"`` whatever their value (except
    ``None``, which reveals nothing and is useful to see); every other value, the ``event``
    message included, is scanned recursively by :func:`redact_value`. The event dict itself is
    structlog's private copy, so it is updated in place and returned as processors should.
    """
    for key in list(event_dict):
        value = event_dict[key]
        if is_sensitive_key(key) and value is not None:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(value)
    return event_dict
