"""Codes and tags a user puts on their session of a task (01 §9): what may be chosen.

A user session carries at most one primary code, up to five secondary codes and
up to twenty tags (decision, 01 §9). Each must exist, be enabled, and be one the
governing service offers (`Service.codes`, `Service.tags`); anything else is
`not_applicable`. Every problem is reported at once, with the path of the field
in the request body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from switchboard.domain.config import Code, Service, Tag
from switchboard.domain.validation import Issue

MAX_SECONDARY_CODES = 5
MAX_TAGS = 20


def check_wrap_up(
    service: Service | None,
    codes: Mapping[str, Code],
    tags: Mapping[str, Tag],
    *,
    primary_code_id: str | None,
    secondary_code_ids: Sequence[str],
    tag_ids: Sequence[str],
) -> list[Issue]:
    """Every reason the choice cannot be stored; empty when it can."""
    issues: list[Issue] = []
    offered_codes = frozenset(service.codes) if service is not None else frozenset()
    offered_tags = frozenset(service.tags) if service is not None else frozenset()
    where = f"the service '{service.name}'" if service is not None else "this service"

    def check(
        path: str,
        entity_id: str,
        table: Mapping[str, Code | Tag],
        offered: frozenset[str],
        noun: str,
    ) -> None:
        entity = table.get(entity_id)
        if entity is None:
            issues.append(
                Issue("unknown_reference", path, f"{path}: there is no {noun} '{entity_id}'.")
            )
        elif not entity.enabled:
            issues.append(
                Issue("not_applicable", path, f"{path}: the {noun} '{entity.name}' is disabled.")
            )
        elif entity_id not in offered:
            issues.append(
                Issue(
                    "not_applicable",
                    path,
                    f"{path}: {where} does not offer the {noun} '{entity.name}'.",
                )
            )

    if primary_code_id is not None:
        check("primary_code_id", primary_code_id, codes, offered_codes, "code")
    if len(secondary_code_ids) > MAX_SECONDARY_CODES:
        issues.append(
            Issue(
                "limit_exceeded",
                "secondary_code_ids",
                f"secondary_code_ids: at most {MAX_SECONDARY_CODES} secondary codes; "
                f"got {len(secondary_code_ids)}.",
            )
        )
    seen: set[str] = set() if primary_code_id is None else {primary_code_id}
    for index, code_id in enumerate(secondary_code_ids):
        path = f"secondary_code_ids[{index}]"
        if code_id in seen:
            issues.append(
                Issue("not_unique", path, f"{path}: the code '{code_id}' is chosen twice.")
            )
            continue
        seen.add(code_id)
        check(path, code_id, codes, offered_codes, "code")
    if len(tag_ids) > MAX_TAGS:
        issues.append(
            Issue(
                "limit_exceeded",
                "tag_ids",
                f"tag_ids: at most {MAX_TAGS} tags; got {len(tag_ids)}.",
            )
        )
    seen_tags: set[str] = set()
    for index, tag_id in enumerate(tag_ids):
        path = f"tag_ids[{index}]"
        if tag_id in seen_tags:
            issues.append(Issue("not_unique", path, f"{path}: the tag '{tag_id}' is chosen twice."))
            continue
        seen_tags.add(tag_id)
        check(path, tag_id, tags, offered_tags, "tag")
    return issues
