"""Placeholders in texts and parameter subjects (04 §4 RT4).

Texts spoken, sent or mailed by a workflow may contain `{{param.<ID>}}`,
`{{system.<field>}}` and `{{customer.<field>}}`; `check_parameter` reads the
same names without braces. The validator resolves them here so that a typo
shows up when the designer saves, not as a silently empty string in a call.

The system and customer fields are closed lists (decision). They follow the
session data document (05 §2) and the customer object (02 §2), flattened to
the names a designer types: `system.service.name`, `customer.company`.
`system.consent.<purpose>` is open-ended because `record_consent` may name a
custom purpose, and so is `customer.custom_fields.<name>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CUSTOMER_FIELDS",
    "PARAMETER_ID_RE",
    "SYSTEM_FIELDS",
    "Placeholder",
    "find_placeholders",
    "parse_subject",
]

#: Custom parameter ids (01 §8).
PARAMETER_ID_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)

SYSTEM_FIELDS: Final = frozenset(
    {
        "task.id",
        "task.kind",
        "task.created",
        "task.transfer_count",
        "service.id",
        "service.name",
        "service.display_name",
        "service.upn",
        "service.tel_number",
        "origin_service.id",
        "origin_service.name",
        "caller.id",
        "caller.tel_number",
        "caller.upn",
        "caller.is_anonymous",
        "destination.tel_number",
        "destination.upn",
        "email_subject",
    }
)
_SYSTEM_PREFIXES: Final = ("consent.",)

CUSTOMER_FIELDS: Final = frozenset(
    {
        "first_name",
        "last_name",
        "display_name",
        "company",
        "department",
        "job_title",
        "street_address",
        "post_code",
        "city",
        "state",
        "country",
        "primary_tel_number",
        "upn",
        "im_address",
        "email",
    }
)
_CUSTOMER_PREFIXES: Final = ("custom_fields.",)

_PLACEHOLDER_RE: Final = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_OPEN_OR_CLOSE: Final = re.compile(r"\{\{|\}\}")
_NAME_RE: Final = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One name found in a text; `problem` is None when the name is well-formed
    and known (a `param.` name still has to exist in the tenant)."""

    raw: str
    namespace: str | None
    field: str | None
    problem: str | None
    stray: bool = False

    @property
    def parameter_id(self) -> str | None:
        return self.field if self.namespace == "param" and self.problem is None else None


def parse_subject(name: str) -> Placeholder:
    """Classify `param.X`, `system.a.b` or `customer.y`; say what is wrong if anything."""
    raw = name
    name = name.strip()
    namespace, dot, rest = name.partition(".")
    if not dot or namespace not in ("param", "system", "customer"):
        return Placeholder(raw, None, None, "has no param., system. or customer. prefix")
    if not _NAME_RE.fullmatch(rest):
        return Placeholder(raw, namespace, rest, f"has no name after {namespace}.")
    if namespace == "param":
        if not PARAMETER_ID_RE.fullmatch(rest):
            return Placeholder(
                raw,
                namespace,
                rest,
                "has no parameter id after param. (a letter, then letters, digits or _; "
                "at most 64)",
            )
        return Placeholder(raw, namespace, rest, None)
    if namespace == "system":
        if rest not in SYSTEM_FIELDS and not rest.startswith(_SYSTEM_PREFIXES):
            return Placeholder(raw, namespace, rest, "names no system field")
        return Placeholder(raw, namespace, rest, None)
    if rest not in CUSTOMER_FIELDS and not rest.startswith(_CUSTOMER_PREFIXES):
        return Placeholder(raw, namespace, rest, "names no customer field")
    return Placeholder(raw, namespace, rest, None)


def find_placeholders(text: str) -> Iterator[Placeholder]:
    """Every `{{...}}` in `text` in order, then any unmatched `{{` or `}}`."""
    for match in _PLACEHOLDER_RE.finditer(text):
        yield parse_subject(match.group(1))
    leftover = _PLACEHOLDER_RE.sub("", text)
    stray = _OPEN_OR_CLOSE.search(leftover)
    if stray is not None:
        yield Placeholder(stray.group(0), None, None, "is unmatched", stray=True)
