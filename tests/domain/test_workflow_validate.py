"""The workflow validator against the rules of spec 04 §2.

Each case starts from a valid sample, breaks one thing and lists every issue
the validator must report: code, path, message and severity, exactly. A
case that yields more issues than listed fails as much as one that misses
an issue, so consequences of one mistake must not be reported twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from workflow_samples import PROMPT, REFS, chat, flow, hotline, node

from switchboard.domain.workflow import (
    References,
    ServiceRef,
    Severity,
    parse_workflow,
    validate_document,
    validate_workflow,
)
from workflow_nodes import node as n

Doc = dict[str, Any]
Expected = tuple[str, str, str] | tuple[str, str, str, str]


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], Doc]
    expected: list[Expected]
    refs: References | None = None


def changed(base: Callable[[], Doc], edit: Callable[[Doc], object]) -> Callable[[], Doc]:
    def build() -> Doc:
        document = base()
        edit(document)
        return document

    return build


def settings(node_id: str, **values: Any) -> Callable[[Doc], object]:
    return lambda d: node(d, node_id).setdefault("settings", {}).update(values)


def drop_setting(node_id: str, name: str) -> Callable[[Doc], object]:
    return lambda d: node(d, node_id)["settings"].pop(name)


def exits(node_id: str, **targets: str) -> Callable[[Doc], object]:
    return lambda d: node(d, node_id).setdefault("exits", {}).update(targets)


def drop_exit(node_id: str, name: str) -> Callable[[Doc], object]:
    return lambda d: node(d, node_id)["exits"].pop(name)


def shown(issues: list[Any]) -> list[Expected]:
    out: list[Expected] = []
    for issue in issues:
        if issue.severity is Severity.WARNING:
            out.append((issue.code, issue.path, issue.message, "warning"))
        else:
            out.append((issue.code, issue.path, issue.message))
    return out


WAITING = "announcement, message, input_customer, collect_information, wait_for_parameter"
ACTIVITIES = (
    "start, accept, announcement, message, input_customer, collect_information, "
    "check_opening_hours, check_parameter, set_parameter, availability_based_routing, queue, "
    "queue_task, check_task, cancel_task, wait_for_parameter, transfer, voice_message, "
    "record_consent, disconnect, email_reply"
)


def _two_starts(d: Doc) -> None:
    d["nodes"].insert(1, n("start2", "start", {"next": "acc"}))


def _orphan(d: Doc) -> None:
    d["nodes"].insert(8, n("orphan", "announcement", {"next": "bye"}, prompt=PROMPT))


def _busy_loop(d: Doc) -> None:
    node(d, "note")["exits"]["next"] = "chk"
    d["nodes"].append(
        n(
            "chk",
            "check_parameter",
            {"match": "note", "no_match": "q"},
            subject="param.Topic",
            operator="is_empty",
        )
    )


def _chain(length: int) -> Doc:
    nodes = [n("start", "start", {"next": "acc"}), n("acc", "accept", {"next": "a0"})]
    for i in range(length - 3):
        last = i == length - 4
        nodes.append(
            n(f"a{i}", "announcement", {"next": "bye" if last else f"a{i + 1}"}, prompt=PROMPT)
        )
    nodes.append(n("bye", "disconnect"))
    return flow(nodes)


def _check(**values: Any) -> Doc:
    return flow(
        [
            n("start", "start", {"next": "c"}),
            n("c", "check_parameter", {"match": "bye", "no_match": "bye"}, **values),
            n("bye", "disconnect"),
        ]
    )


def _consent(**values: Any) -> Doc:
    return flow(
        [
            n("start", "start", {"next": "acc"}),
            n("acc", "accept", {"next": "c"}),
            n(
                "c",
                "record_consent",
                {"granted": "bye", "not_granted": "bye"},
                prompt=PROMPT,
                **values,
            ),
            n("bye", "disconnect"),
        ]
    )


def _wait(**values: Any) -> Doc:
    return flow(
        [
            n("start", "start", {"next": "acc"}),
            n("acc", "accept", {"next": "w"}),
            n(
                "w",
                "wait_for_parameter",
                {"updated": "bye", "timeout": "bye"},
                parameter_id="CaseId",
                **values,
            ),
            n("bye", "disconnect"),
        ]
    )


def _transfer(**values: Any) -> Doc:
    return flow(
        [
            n("start", "start", {"next": "t"}),
            n("t", "transfer", {"failed": "bye"}, **values),
            n("bye", "disconnect"),
        ]
    )


CASES = [
    # ---- V1: activities, settings and their types
    Case(
        "unknown activity",
        changed(hotline, lambda d: node(d, "menu").update(type="menu")),
        [
            (
                "invalid_type",
                "nodes[menu].type",
                "Node 'menu' (menu): type 'menu' is not an activity; "
                f"expected one of {ACTIVITIES}.",
            )
        ],
    ),
    Case(
        "missing required setting",
        changed(hotline, drop_setting("menu", "options")),
        [
            (
                "required",
                "nodes[menu].settings.options",
                "Node 'menu' (input_customer): options is required; expected a list of 1 to 12 "
                "entries, each one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, *, #.",
            )
        ],
    ),
    Case(
        "extra setting",
        changed(hotline, settings("menu", timeout=5)),
        [
            (
                "unknown_field",
                "nodes[menu].settings.timeout",
                "Node 'menu' (input_customer): timeout is not a setting of input_customer; "
                "expected prompt, options, timeout_s, retries, invalid_prompt, no_input_prompt, "
                "store_parameter_id.",
            )
        ],
    ),
    Case(
        "setting on an activity without settings",
        changed(hotline, settings("acc", quick=True)),
        [
            (
                "unknown_field",
                "nodes[acc].settings.quick",
                "Node 'acc' (accept): quick is not a setting of accept; accept takes no settings.",
            )
        ],
    ),
    Case(
        "wrong type",
        changed(hotline, settings("menu", timeout_s="5")),
        [
            (
                "invalid_type",
                "nodes[menu].settings.timeout_s",
                "Node 'menu' (input_customer): timeout_s must be a whole number; got text '5'.",
            )
        ],
    ),
    Case(
        "boolean is not a number",
        changed(hotline, settings("menu", retries=True)),
        [
            (
                "invalid_type",
                "nodes[menu].settings.retries",
                "Node 'menu' (input_customer): retries must be a whole number; got boolean true.",
            )
        ],
    ),
    Case(
        "null where null means nothing",
        changed(hotline, settings("menu", timeout_s=None)),
        [
            (
                "invalid_type",
                "nodes[menu].settings.timeout_s",
                "Node 'menu' (input_customer): timeout_s must not be null; "
                "expected a whole number between 1 and 60 seconds.",
            )
        ],
    ),
    # ---- V10: ranges, lengths, choices, cross-setting rules
    Case(
        "out of range",
        changed(hotline, settings("menu", timeout_s=90)),
        [
            (
                "invalid_setting",
                "nodes[menu].settings.timeout_s",
                "Node 'menu' (input_customer): timeout_s must be between 1 and 60 seconds; got 90.",
            )
        ],
    ),
    Case(
        "unknown choice",
        changed(hotline, settings("q", user_ordering="fastest")),
        [
            (
                "invalid_setting",
                "nodes[q].settings.user_ordering",
                "Node 'q' (queue): user_ordering must be one of longest_idle, round_robin, "
                "most_skilled, random; got 'fastest'.",
            )
        ],
    ),
    Case(
        "text too long",
        changed(hotline, settings("closed", prompt={"text": "x" * 2001})),
        [
            (
                "invalid_setting",
                "nodes[closed].settings.prompt.text",
                "Node 'closed' (announcement): prompt.text must be 1 to 2000 characters; got 2001.",
            )
        ],
    ),
    Case(
        "blank text",
        changed(hotline, settings("closed", prompt={"text": "   "})),
        [
            (
                "invalid_setting",
                "nodes[closed].settings.prompt.text",
                "Node 'closed' (announcement): prompt.text must not be blank.",
            )
        ],
    ),
    Case(
        "menu options",
        changed(hotline, settings("menu", options=["1", "1", "x", 3])),
        [
            (
                "invalid_setting",
                "nodes[menu].settings.options[1]",
                "Node 'menu' (input_customer): options[1] repeats '1'; list each value once.",
            ),
            (
                "invalid_setting",
                "nodes[menu].settings.options[2]",
                "Node 'menu' (input_customer): options[2] must be one of "
                "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, *, #; got 'x'.",
            ),
            (
                "invalid_type",
                "nodes[menu].settings.options[3]",
                "Node 'menu' (input_customer): options[3] must be one of "
                "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, *, #; got number 3.",
            ),
        ],
    ),
    Case(
        "digits and pattern",
        changed(hotline, settings("info", min_digits=6, max_digits=4, pattern="[0-9")),
        [
            (
                "invalid_setting",
                "nodes[info].settings.pattern",
                "Node 'info' (collect_information): pattern is not a valid regular expression: "
                "unterminated character set at position 0.",
            ),
            (
                "invalid_setting",
                "nodes[info].settings.max_digits",
                "Node 'info' (collect_information): max_digits (4) must be at least "
                "min_digits (6).",
            ),
        ],
    ),
    Case(
        "prompt fields",
        changed(
            hotline,
            settings("menu", prompt={"voice": "", "language": "english", "x": 1}),
        ),
        [
            (
                "invalid_setting",
                "nodes[menu].settings.prompt.voice",
                "Node 'menu' (input_customer): prompt.voice must be 1 to 64 characters; got 0.",
            ),
            (
                "invalid_setting",
                "nodes[menu].settings.prompt.language",
                "Node 'menu' (input_customer): prompt.language must be a BCP 47 language tag "
                "such as en-US; got 'english'.",
            ),
            (
                "unknown_field",
                "nodes[menu].settings.prompt.x",
                "Node 'menu' (input_customer): prompt.x is not a field of prompt; "
                "expected source, text, language, voice, audio_resource_id.",
            ),
            (
                "required",
                "nodes[menu].settings.prompt.text",
                "Node 'menu' (input_customer): prompt.text is required when source is tts.",
            ),
        ],
    ),
    Case(
        "prompt source",
        changed(hotline, settings("closed", prompt={"source": "audio_resource", "text": "x"})),
        [
            (
                "required",
                "nodes[closed].settings.prompt.audio_resource_id",
                "Node 'closed' (announcement): prompt.audio_resource_id is required "
                "when source is audio_resource.",
            ),
            (
                "not_applicable",
                "nodes[closed].settings.prompt.text",
                "Node 'closed' (announcement): prompt.text does not apply when source is "
                "audio_resource; remove it.",
            ),
        ],
    ),
    Case(
        "voicemail notifications",
        changed(
            hotline,
            settings(
                "vm",
                notify=[
                    {"type": "email"},
                    {"type": "event", "address": "a@contoso.com"},
                    {"type": "sms"},
                    {"type": "email", "address": "nope"},
                    "x",
                ],
            ),
        ),
        [
            (
                "required",
                "nodes[vm].settings.notify[0].address",
                "Node 'vm' (voice_message): notify[0].address is required when type is email.",
            ),
            (
                "not_applicable",
                "nodes[vm].settings.notify[1].address",
                "Node 'vm' (voice_message): notify[1].address does not apply when type is "
                "event; remove it.",
            ),
            (
                "invalid_setting",
                "nodes[vm].settings.notify[2].type",
                "Node 'vm' (voice_message): notify[2].type must be one of email, event; got 'sms'.",
            ),
            (
                "invalid_setting",
                "nodes[vm].settings.notify[3].address",
                "Node 'vm' (voice_message): notify[3].address must look like "
                "name@contoso.com; got 'nope'.",
            ),
            (
                "invalid_type",
                "nodes[vm].settings.notify[4]",
                "Node 'vm' (voice_message): notify[4] must be an object with type email or "
                "event; got text 'x'.",
            ),
        ],
    ),
    Case(
        "operator in needs values",
        lambda: _check(subject="param.CaseId", operator="in", value="x"),
        [
            (
                "not_applicable",
                "nodes[c].settings.value",
                "Node 'c' (check_parameter): value does not apply when operator is in; remove it.",
            ),
            (
                "required",
                "nodes[c].settings.values",
                "Node 'c' (check_parameter): values is required when operator is in; "
                "expected a list of 1 to 100 texts.",
            ),
        ],
    ),
    Case(
        "operator matches needs a regular expression",
        lambda: _check(subject="param.CaseId", operator="matches", value="("),
        [
            (
                "invalid_setting",
                "nodes[c].settings.value",
                "Node 'c' (check_parameter): value is not a valid regular expression: "
                "missing ), unterminated subpattern at position 0.",
            )
        ],
    ),
    Case(
        "numeric comparison needs a number",
        lambda: _check(subject="system.task.transfer_count", operator="greater_than", value="two"),
        [
            (
                "invalid_setting",
                "nodes[c].settings.value",
                "Node 'c' (check_parameter): value must be a number for greater_than; got 'two'.",
            )
        ],
    ),
    Case(
        "subject namespace",
        lambda: _check(subject="sys.x", operator="is_empty"),
        [
            (
                "invalid_setting",
                "nodes[c].settings.subject",
                "Node 'c' (check_parameter): subject 'sys.x' has no param., system. or "
                "customer. prefix.",
            )
        ],
    ),
    Case(
        "custom consent needs a name; keys differ",
        lambda: _consent(purpose="custom", grant_key="3", deny_key="3"),
        [
            (
                "required",
                "nodes[c].settings.purpose_name",
                "Node 'c' (record_consent): purpose_name is required when purpose is custom.",
            ),
            (
                "invalid_setting",
                "nodes[c].settings.deny_key",
                "Node 'c' (record_consent): deny_key must differ from grant_key; both are '3'.",
            ),
        ],
    ),
    Case(
        "waiting for a value needs the value",
        lambda: _wait(condition="equals"),
        [
            (
                "required",
                "nodes[w].settings.value",
                "Node 'w' (wait_for_parameter): value is required when condition is equals; "
                "expected the value to wait for.",
            )
        ],
    ),
    Case(
        "transfer target shape",
        lambda: _transfer(
            target_type="external_number", target="0445550100", keep_queue_position=True
        ),
        [
            (
                "not_applicable",
                "nodes[t].settings.keep_queue_position",
                "Node 't' (transfer): keep_queue_position applies only to service targets, "
                "not external_number; remove it.",
            ),
            (
                "invalid_setting",
                "nodes[t].settings.target",
                "Node 't' (transfer): target must be an E.164 number, '+' then 8 to 15 digits; "
                "got '0445550100'.",
            ),
        ],
    ),
    Case(
        "transfer to a UPN",
        lambda: _transfer(target_type="upn", target="not-an-upn"),
        [
            (
                "invalid_setting",
                "nodes[t].settings.target",
                "Node 't' (transfer): target must look like name@contoso.com; got 'not-an-upn'.",
            )
        ],
    ),
    # ---- V7: exits
    Case(
        "exit pointing nowhere",
        changed(hotline, exits("q", timeout="vm2")),
        [
            (
                "unknown_exit_target",
                "nodes[q].exits.timeout",
                "Node 'q' (queue): exit 'timeout' points to 'vm2', which is not a node of "
                "this workflow.",
            )
        ],
    ),
    Case(
        "exit not wired",
        changed(hotline, drop_exit("q", "full")),
        [
            (
                "exit_not_connected",
                "nodes[q].exits.full",
                "Node 'q' (queue): exit 'full' is not connected; wire it to the node that "
                "should run next.",
            )
        ],
    ),
    Case(
        "option exit not wired",
        changed(hotline, settings("menu", options=["1", "2", "*"])),
        [
            (
                "exit_not_connected",
                "nodes[menu].exits.option_star",
                "Node 'menu' (input_customer): exit 'option_star' is not connected; "
                "wire it to the node that should run next.",
            )
        ],
    ),
    Case(
        "unknown exit",
        changed(hotline, exits("q", busy="vm")),
        [
            (
                "unknown_exit",
                "nodes[q].exits.busy",
                "Node 'q' (queue): exit 'busy' is not an exit of queue; "
                "expected timeout, no_users or full.",
            )
        ],
    ),
    Case(
        "exit of disconnect (not also a loop)",
        changed(hotline, exits("bye", next="vm")),
        [
            (
                "unknown_exit",
                "nodes[bye].exits.next",
                "Node 'bye' (disconnect): exit 'next' is not an exit of disconnect; "
                "disconnect has no exits.",
            )
        ],
    ),
    # ---- V2, V3, V14, V15: ids, start, size, reachability
    Case(
        "duplicate and malformed ids",
        lambda: flow(
            [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "bye"}),
                n("acc", "accept", {"next": "bye"}),
                n("bad id", "disconnect"),
                n("bye", "disconnect"),
            ]
        ),
        [
            (
                "duplicate_node_id",
                "nodes[2].id",
                "Node at index 2 (accept): id 'acc' is already used by the node at index 1; "
                "node ids must be unique.",
            ),
            (
                "invalid_format",
                "nodes[3].id",
                "Node at index 3 (disconnect): id must be 1 to 64 letters, digits, _ or -; "
                "got 'bad id'.",
            ),
        ],
    ),
    Case(
        "missing start",
        changed(hotline, lambda d: d["nodes"].pop(0)),
        [("start_count", "nodes", "A workflow needs exactly one start node; found none.")],
    ),
    Case(
        "two starts",
        changed(hotline, _two_starts),
        [
            (
                "start_count",
                "nodes",
                "A workflow needs exactly one start node; found 2: 'start', 'start2'.",
            )
        ],
    ),
    Case(
        "exit back to start (not also a repeated accept)",
        changed(hotline, exits("note", next="start")),
        [
            (
                "exit_to_start",
                "nodes[note].exits.next",
                "Node 'note' (set_parameter): exit 'next' points to the start node 'start'; "
                "nothing may lead back to start.",
            )
        ],
    ),
    Case(
        "unreachable node",
        changed(hotline, _orphan),
        [
            (
                "unreachable_node",
                "nodes[orphan]",
                "Node 'orphan' (announcement): no path from start reaches it, so it never runs.",
                "warning",
            )
        ],
    ),
    Case(
        "too few nodes",
        lambda: flow([n("start", "start")]),
        [
            (
                "too_short",
                "nodes",
                "A workflow needs at least 2 nodes (start and what follows); got 1.",
            ),
            (
                "exit_not_connected",
                "nodes[start].exits.next",
                "Node 'start' (start): exit 'next' is not connected; wire it to the node that "
                "should run next.",
            ),
        ],
    ),
    Case(
        "too many nodes",
        lambda: _chain(201),
        [("limit_exceeded", "nodes", "A workflow may have at most 200 nodes; got 201.")],
    ),
    # ---- V4–V6, V9, V12: paths and loops
    Case(
        "announcement before accept",
        lambda: flow(
            [
                n("start", "start", {"next": "hours"}),
                n(
                    "hours",
                    "check_opening_hours",
                    {"open": "ann", "closed": "acc", "holiday": "acc", "special": "acc"},
                ),
                n("acc", "accept", {"next": "ann"}),
                n("ann", "announcement", {"next": "bye"}, prompt=PROMPT),
                n("bye", "disconnect"),
            ]
        ),
        [
            (
                "accept_required_before",
                "nodes[ann]",
                "Node 'ann' (announcement): it needs an accepted task but can run before "
                "accept (via start → hours → ann); put an accept node before it.",
            )
        ],
    ),
    Case(
        "accept twice",
        lambda: flow(
            [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "acc2"}),
                n("acc2", "accept", {"next": "bye"}),
                n("bye", "disconnect"),
            ]
        ),
        [
            (
                "accept_repeated",
                "nodes[acc2]",
                "Node 'acc2' (accept): the task is already accepted when it runs "
                "(via start → acc → acc2); accept at most once on any path.",
            )
        ],
    ),
    Case(
        "queue after queue",
        lambda: flow(
            [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "q1"}),
                n("q1", "queue", {"timeout": "q2", "no_users": "bye", "full": "bye"}),
                n("q2", "queue_task", {"next": "bye", "full": "bye"}),
                n("bye", "disconnect"),
            ]
        ),
        [
            (
                "queue_more_than_once",
                "nodes[q2]",
                "Node 'q2' (queue_task): the task has already been queued when it runs "
                "(via start → acc → q1 → q2); a task enters a queue at most once per "
                "service session.",
            )
        ],
    ),
    Case(
        "queue in a loop",
        lambda: flow(
            [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "q1"}),
                n("q1", "queue", {"timeout": "ann", "no_users": "bye", "full": "bye"}),
                n("ann", "announcement", {"next": "q1"}, prompt=PROMPT),
                n("bye", "disconnect"),
            ]
        ),
        [
            (
                "queue_more_than_once",
                "nodes[q1]",
                "Node 'q1' (queue): the task has already been queued when it runs "
                "(via start → acc → q1 → ann → q1); a task enters a queue at most once per "
                "service session.",
            )
        ],
    ),
    Case(
        "check_task without queue_task",
        lambda: flow(
            [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "q"}),
                n("q", "queue", {"timeout": "chk", "no_users": "bye", "full": "bye"}),
                n("chk", "check_task", {"waiting": "bye", "timeout": "bye", "no_users": "bye"}),
                n("bye", "disconnect"),
            ]
        ),
        [
            (
                "requires_queue_task",
                "nodes[chk]",
                "Node 'chk' (check_task): it needs a queue_task before it on every path, but "
                "can run without one (via start → acc → q → chk).",
            )
        ],
    ),
    Case(
        "cancel_task into a loop",
        lambda: flow(
            [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "qt"}),
                n("qt", "queue_task", {"next": "cancel", "full": "bye"}),
                n("cancel", "cancel_task", {"next": "ann"}),
                n("ann", "announcement", {"next": "chk"}, prompt=PROMPT),
                n(
                    "chk",
                    "check_parameter",
                    {"match": "ann", "no_match": "bye"},
                    subject="customer.company",
                    operator="is_empty",
                ),
                n("bye", "disconnect"),
            ]
        ),
        [
            (
                "requires_disconnect",
                "nodes[cancel]",
                "Node 'cancel' (cancel_task): every path after it must end at a disconnect, "
                "but it can enter the loop ann → chk → ann.",
            )
        ],
    ),
    Case(
        "loop without a waiting activity",
        changed(hotline, _busy_loop),
        [
            (
                "cycle_without_wait",
                "nodes[note]",
                "Node 'note' (set_parameter): the loop note → chk → note has no waiting "
                f"activity ({WAITING}) and would repeat without end.",
            )
        ],
    ),
    # ---- V8, V10, V13: modality and direction
    Case(
        "key menu in a chat workflow",
        changed(
            chat,
            lambda d: d["nodes"].__setitem__(
                2,
                n(
                    "hi",
                    "input_customer",
                    {"option_1": "q", "invalid": "q", "no_input": "q"},
                    prompt=PROMPT,
                    options=["1"],
                ),
            ),
        ),
        [
            (
                "activity_not_supported",
                "nodes[hi].type",
                "Node 'hi' (input_customer): input_customer is not available in chat inbound "
                "workflows; it runs in audio inbound and audio outbound workflows.",
            )
        ],
    ),
    Case(
        "voicemail in an outbound workflow",
        changed(hotline, lambda d: d.update(direction="outbound")),
        [
            (
                "activity_not_supported",
                "nodes[vm].type",
                "Node 'vm' (voice_message): voice_message is not available in audio outbound "
                "workflows; it runs in audio inbound workflows.",
            )
        ],
    ),
    Case(
        "audio settings in a chat queue",
        changed(
            chat, settings("q", distribution_type="direct_conference", waiting_prompts=[PROMPT])
        ),
        [
            (
                "not_applicable",
                "nodes[q].settings.waiting_prompts",
                "Node 'q' (queue): waiting_prompts applies only to audio workflows, not to "
                "chat inbound ones.",
            ),
            (
                "distribution_type_not_supported",
                "nodes[q].settings.distribution_type",
                "Node 'q' (queue): distribution_type direct_conference is not available for "
                "chat tasks; use broadcast, direct or pickup.",
            ),
        ],
    ),
    Case(
        "phone transfer in a chat workflow",
        changed(
            chat,
            lambda d: d["nodes"].__setitem__(
                2,
                n(
                    "hi",
                    "transfer",
                    {"failed": "q"},
                    target_type="external_number",
                    target="+41445550100",
                    prompt=PROMPT,
                ),
            ),
        ),
        [
            (
                "not_applicable",
                "nodes[hi].settings.prompt",
                "Node 'hi' (transfer): prompt applies only to audio workflows, not to chat "
                "inbound ones.",
            ),
            (
                "target_not_supported",
                "nodes[hi].settings.target_type",
                "Node 'hi' (transfer): target_type external_number is not available for chat "
                "tasks; use user or service.",
            ),
        ],
    ),
    Case(
        "outbound chat",
        changed(chat, lambda d: d.update(direction="outbound")),
        [
            (
                "invalid_combination",
                "direction",
                "direction outbound is available only for audio workflows; chat workflows are "
                "inbound.",
            )
        ],
    ),
    # ---- entity fields
    Case(
        "entity fields",
        changed(hotline, lambda d: d.update(id=" ", name="  ", version=0)),
        [
            ("required", "id", "id is required; expected the workflow's id."),
            ("required", "name", "name is required; expected 1 to 128 characters."),
            ("out_of_range", "version", "version must be at least 1; got 0."),
        ],
    ),
    Case(
        "long name",
        changed(hotline, lambda d: d.update(name="x" * 129)),
        [("too_long", "name", "name must be at most 128 characters; got 129.")],
    ),
    # ---- V11: references, with the tenant's ids
    Case(
        "parameters: unknown and not visible",
        changed(
            hotline,
            lambda d: (
                settings("info", parameter_id="Nope")(d),
                settings("note", parameter_id="SalesOnly")(d),
            ),
        ),
        [
            (
                "unknown_reference",
                "nodes[info].settings.parameter_id",
                "Node 'info' (collect_information): parameter_id refers to parameter 'Nope', "
                "which does not exist.",
            ),
            (
                "reference_not_visible",
                "nodes[note].settings.parameter_id",
                "Node 'note' (set_parameter): parameter_id refers to parameter 'SalesOnly' of "
                "OU 'ou-sales', which is not visible from the workflow's OU 'root'; use one of "
                "that OU or an OU above it.",
            ),
        ],
        REFS,
    ),
    Case(
        "placeholders",
        changed(
            hotline,
            settings(
                "note",
                value="{{param.Nope}} {{system.nope}} {{customer.shoe_size}} {{foo}} "
                "{{param.1x}} {{param.CaseId",
            ),
        ),
        [
            (
                "unknown_placeholder",
                "nodes[note].settings.value",
                "Node 'note' (set_parameter): value uses placeholder {{param.Nope}}, but "
                "parameter 'Nope' does not exist.",
            ),
            (
                "unknown_placeholder",
                "nodes[note].settings.value",
                "Node 'note' (set_parameter): value uses placeholder {{system.nope}}, which "
                "names no system field.",
            ),
            (
                "unknown_placeholder",
                "nodes[note].settings.value",
                "Node 'note' (set_parameter): value uses placeholder {{customer.shoe_size}}, "
                "which names no customer field.",
            ),
            (
                "unknown_placeholder",
                "nodes[note].settings.value",
                "Node 'note' (set_parameter): value uses placeholder {{foo}}, which has no "
                "param., system. or customer. prefix.",
            ),
            (
                "unknown_placeholder",
                "nodes[note].settings.value",
                "Node 'note' (set_parameter): value uses placeholder {{param.1x}}, which has "
                "no parameter id after param. (a letter, then letters, digits or _; at most 64).",
            ),
            (
                "unknown_placeholder",
                "nodes[note].settings.value",
                "Node 'note' (set_parameter): value has an unmatched {{; placeholders are "
                "written {{param.CaseId}}.",
            ),
        ],
        REFS,
    ),
    Case(
        "calendar and audio resource",
        changed(
            hotline,
            lambda d: (
                settings("hours", calendar="cal-sales")(d),
                settings("closed", prompt={"source": "audio_resource", "audio_resource_id": "x"})(
                    d
                ),
            ),
        ),
        [
            (
                "reference_not_visible",
                "nodes[hours].settings.calendar",
                "Node 'hours' (check_opening_hours): calendar refers to calendar 'cal-sales' of "
                "OU 'ou-sales', which is not visible from the workflow's OU 'root'; use one of "
                "that OU or an OU above it.",
            ),
            (
                "unknown_reference",
                "nodes[closed].settings.prompt.audio_resource_id",
                "Node 'closed' (announcement): prompt.audio_resource_id refers to audio "
                "resource 'x', which does not exist.",
            ),
        ],
        REFS,
    ),
    Case(
        "transfer target service and voicemail user",
        changed(
            hotline,
            lambda d: (
                d["nodes"].insert(
                    6,
                    n("tr", "transfer", {"failed": "q"}, target_type="service", target="svc-x"),
                ),
                exits("menu", option_1="tr")(d),
                settings("vm", mailbox="user-bob")(d),
            ),
        ),
        [
            (
                "unknown_reference",
                "nodes[tr].settings.target",
                "Node 'tr' (transfer): target refers to service 'svc-x', which does not exist.",
            ),
            (
                "reference_not_visible",
                "nodes[vm].settings.mailbox",
                "Node 'vm' (voice_message): mailbox refers to user 'user-bob' of OU 'ou-sales', "
                "which is not visible from the workflow's OU 'root'; use one of that OU or an "
                "OU above it.",
            ),
        ],
        REFS,
    ),
    Case(
        "entity references",
        changed(hotline, lambda d: d.update(ou_id="ou-x", name="Other flow")),
        [
            (
                "not_unique",
                "name",
                "name must be unique in the tenant; 'Other flow' is already used by workflow "
                "'wf-other'.",
            ),
            ("unknown_reference", "ou_id", "ou_id refers to OU 'ou-x', which does not exist."),
        ],
        REFS,
    ),
    Case(
        "a service without a calendar",
        hotline,
        [
            (
                "calendar_missing",
                "nodes[hours].settings.calendar",
                "Node 'hours' (check_opening_hours): calendar 'service' uses the calendars of "
                "the task's service, but service 'svc-b' has none, so this node always takes "
                "the open exit there.",
                "warning",
            )
        ],
        References(
            ous=REFS.ous,
            parameters=REFS.parameters,
            services={
                **REFS.services,
                "svc-b": ServiceRef("root", workflow_ids=frozenset({"wf-hotline"})),
            },
        ),
    ),
]


def test_the_samples_are_valid() -> None:
    assert validate_document(hotline(), REFS) == []
    assert validate_document(hotline()) == []
    assert validate_document(chat(), REFS) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_document(case: Case) -> None:
    issues = validate_document(case.build(), case.refs)
    assert shown(issues) == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_issues_name_their_node(case: Case) -> None:
    """A path into a node by id carries that id; document-level issues carry none."""
    for issue in validate_document(case.build(), case.refs):
        if issue.path.startswith("nodes[") and not issue.path.split("]")[0][6:].isdigit():
            assert issue.node_id == issue.path[6:].split("]")[0]
            assert f"Node {issue.node_id!r}" in issue.message
        elif not issue.path.startswith("nodes["):
            assert issue.node_id is None
        assert issue.as_dict()["severity"] == issue.severity.value


def test_all_problems_at_once() -> None:
    """Independent mistakes in one document are all reported in one run."""
    document = hotline()
    document["name"] = ""
    settings("menu", timeout_s=90)(document)
    exits("q", timeout="vm2")(document)
    _orphan(document)
    codes = [issue.code for issue in validate_document(document)]
    assert codes == ["required", "invalid_setting", "unknown_exit_target", "unreachable_node"]


def test_references_are_skipped_without_a_snapshot() -> None:
    document = hotline()
    settings("info", parameter_id="Nope")(document)
    assert validate_document(document) == []
    assert [i.code for i in validate_document(document, REFS)] == ["unknown_reference"]


def test_a_workflow_sees_its_own_ou_and_the_ones_above() -> None:
    document = hotline()
    document["ou_id"] = "ou-sales"
    settings("note", parameter_id="SalesOnly")(document)
    assert validate_document(document, REFS) == []


def test_validate_workflow_takes_a_parsed_workflow() -> None:
    workflow = parse_workflow(hotline())
    assert validate_workflow(workflow, REFS) == []
