"""The activity catalogue (04 §3) as data: settings, exits, where each runs.

Everything the validator, the JSON Schema, the documentation and (later) the
interpreter know about an activity is declared here once. Adding an activity
means adding one `Activity` to `CATALOGUE`; nothing else lists activities.

Choices made where the spec leaves room (decisions, also in docs/workflows.md):

* `announcement` keeps its prompt in a `prompt` object like every other
  activity, instead of spreading the prompt fields over its settings, so an
  editor has one prompt form.
* `input_customer.options` is the list of keys the menu accepts. Each key
  declares the exit `option_<key>` (`option_star` for `*`, `option_pound` for
  `#`); a map from key to exit name would only repeat what the key decides.
* A prompt speaks `text` (source `tts`) or plays `audio_resource_id` (source
  `audio_resource`), never both, so nobody wonders which one runs.
* `check_parameter` needs `value` for every operator except `in` (which takes
  `values`) and `is_empty`/`is_default` (which take neither); `greater_than`
  and `less_than` need a numeric `value`, `matches` a regular expression that
  compiles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from switchboard.domain.enums import DistributionType, Modality, Priority, UserOrdering
from switchboard.domain.validation import is_int
from switchboard.domain.workflow.document import JsonValue
from switchboard.domain.workflow.kinds import WorkflowKind
from switchboard.domain.workflow.placeholders import PARAMETER_ID_RE, parse_subject
from switchboard.domain.workflow.references import RefKind
from switchboard.domain.workflow.settings import (
    MISSING,
    BoolSetting,
    ByModality,
    ChoiceSetting,
    IntSetting,
    ListSetting,
    ObjectSetting,
    RefSetting,
    Setting,
    TextSetting,
)
from switchboard.domain.workflow.site import NodeScope, Site

__all__ = [
    "CATALOGUE",
    "DISTRIBUTION_TYPES_BY_MODALITY",
    "DTMF_KEYS",
    "TRANSFER_TARGETS_BY_MODALITY",
    "Activity",
    "Exit",
    "join_or",
    "option_exit",
]

A, C, E, X = Modality.AUDIO, Modality.CHAT, Modality.EMAIL, Modality.EXTERNAL_TASK
AI, AO, CH, EM, ET = (
    WorkflowKind.AUDIO_INBOUND,
    WorkflowKind.AUDIO_OUTBOUND,
    WorkflowKind.CHAT_INBOUND,
    WorkflowKind.EMAIL_INBOUND,
    WorkflowKind.EXTERNAL_TASK_INBOUND,
)
ALL: Final = frozenset(WorkflowKind)
VOICE: Final = frozenset({AI, AO})

DTMF_KEYS: Final = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#")
_KEY_NAMES: Final = {"*": "star", "#": "pound"}

#: Distribution types each modality supports (03 §2).
DISTRIBUTION_TYPES_BY_MODALITY: Final[Mapping[Modality, tuple[str, ...]]] = {
    A: ("broadcast", "direct", "direct_conference", "pickup"),
    C: ("broadcast", "direct", "pickup"),
    E: ("direct", "pickup"),
    X: ("broadcast", "direct", "pickup"),
}
#: Transfer target types each modality supports (04 §3.16).
TRANSFER_TARGETS_BY_MODALITY: Final[Mapping[Modality, tuple[str, ...]]] = {
    A: ("user", "service", "external_number", "upn"),
    C: ("user", "service"),
    E: ("user", "service"),
    X: ("user", "service"),
}

_E164 = r"^\+[1-9][0-9]{7,14}$"
_UPN = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"


def option_exit(key: str) -> str:
    """The exit an `input_customer` key leads to: `option_1`, `option_star`."""
    return f"option_{_KEY_NAMES.get(key, key)}"


@dataclass(frozen=True, slots=True)
class Exit:
    name: str
    doc: str


Rule = Callable[[Mapping[str, JsonValue], NodeScope], None]


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity of the catalogue.

    `pre_accept` activities may run before the task is accepted (04 §2 V4);
    `waits` marks the activities that pause for the customer or the clock, the
    only ones a loop may go through (V12). `option_exits` adds one exit per
    key of the `options` setting (`input_customer`).
    """

    key: str
    doc: str
    kinds: frozenset[WorkflowKind]
    exits: tuple[Exit, ...] = ()
    settings: tuple[Setting, ...] = ()
    pre_accept: bool = False
    waits: bool = False
    option_exits: bool = False
    rules: tuple[Rule, ...] = ()

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    def declared_exits(self, settings: Mapping[str, JsonValue]) -> tuple[str, ...] | None:
        """The exits this node must wire, or None when its options are unreadable.

        With unreadable options the option exits are unknown: the validator
        then accepts any `option_*` exit and demands none (the options
        themselves are reported).
        """
        fixed = tuple(e.name for e in self.exits)
        if not self.option_exits:
            return fixed
        options = settings.get("options")
        if not isinstance(options, list) or not all(
            isinstance(k, str) and k in DTMF_KEYS for k in options
        ):
            return None
        keys = [k for k in options if isinstance(k, str)]
        return tuple(dict.fromkeys(option_exit(k) for k in keys)) + fixed


# --------------------------------------------------------------------------- shared settings


def _prompt_source_rule(value: Mapping[str, JsonValue], site: Site) -> None:
    source = value.get("source", "tts")
    if source == "tts":
        needed, unwanted = "text", "audio_resource_id"
    elif source == "audio_resource":
        needed, unwanted = "audio_resource_id", "text"
    else:
        return  # an unknown source was reported by its own check
    if needed not in value:
        site.at(needed).error(
            "required", f"{site.name}.{needed} is required when source is {source}."
        )
    if unwanted in value:
        site.at(unwanted).error(
            "not_applicable",
            f"{site.name}.{unwanted} does not apply when source is {source}; remove it.",
        )


_PROMPT_SCHEMA_RULE: Final[dict[str, JsonValue]] = {
    "if": {"properties": {"source": {"const": "audio_resource"}}, "required": ["source"]},
    "then": {"required": ["audio_resource_id"], "not": {"required": ["text"]}},
    "else": {"required": ["text"], "not": {"required": ["audio_resource_id"]}},
}


def prompt(
    name: str,
    doc: str,
    *,
    required: bool = True,
    modalities: frozenset[Modality] | None = None,
) -> ObjectSetting:
    """A prompt object: text to speak or an audio resource to play (04 §3)."""
    return ObjectSetting(
        name=name,
        doc=doc,
        required=required,
        modalities=modalities,
        what="a prompt object with source and text or audio_resource_id",
        fields=(
            ChoiceSetting(
                name="source",
                doc="tts speaks text; audio_resource plays a stored recording.",
                choices=("tts", "audio_resource"),
                default="tts",
            ),
            TextSetting(
                name="text",
                doc="What to say (source tts); placeholders allowed.",
                max_len=2000,
                placeholders=True,
            ),
            TextSetting(
                name="language",
                doc="BCP 47 language tag; default: the tenant language.",
                max_len=35,
                pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
                pattern_hint="a BCP 47 language tag such as en-US",
            ),
            TextSetting(name="voice", doc="Synthesis voice; default: the language's.", max_len=64),
            RefSetting(
                name="audio_resource_id",
                doc="Recording to play (source audio_resource).",
                ref=RefKind.AUDIO_RESOURCE,
            ),
        ),
        rules=(_prompt_source_rule,),
        schema_rules=(_PROMPT_SCHEMA_RULE,),
    )


def _param(name: str, doc: str, *, required: bool) -> RefSetting:
    return RefSetting(name=name, doc=doc, ref=RefKind.PARAMETER, required=required)


def _seconds(name: str, doc: str, default: int | ByModality, low: int, high: int) -> IntSetting:
    return IntSetting(name=name, doc=doc, default=default, low=low, high=high, unit="seconds")


def _texts(
    name: str,
    doc: str,
    max_len: int,
    *,
    required: bool = False,
    min_len: int = 1,
    default: str | None = None,
    modalities: frozenset[Modality] | None = None,
) -> TextSetting:
    """A text the workflow renders, so placeholders are checked."""
    return TextSetting(
        name=name,
        doc=doc,
        max_len=max_len,
        min_len=min_len,
        placeholders=True,
        required=required,
        default=MISSING if default is None else default,
        modalities=modalities,
    )


def join_or(items: tuple[str, ...], word: str = "or") -> str:
    """Join names for a message: "a, b or c" (or "a, b and c")."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _queue_settings() -> tuple[Setting, ...]:
    return (
        ChoiceSetting(
            name="distribution_type",
            doc="How users are offered the task (03 §2); must suit the modality.",
            choices=tuple(t.value for t in DistributionType),
            default=ByModality({A: "direct_conference", C: "direct", E: "direct", X: "direct"}),
        ),
        ChoiceSetting(
            name="priority",
            doc="Priority while queued; null keeps the task's priority.",
            choices=tuple(p.label for p in Priority),
            default=None,
            nullable=True,
        ),
        _seconds("rona_timeout_s", "Ring time of one offer before RONA.", 20, 5, 30),
        _seconds(
            "max_queue_time_s",
            "Longest wait before the timeout exit.",
            ByModality({A: 300, C: 300, E: 86400, X: 86400}),
            5,
            604800,
        ),
        BoolSetting(
            name="exit_when_no_users",
            doc="Leave through no_users when no member of the service is online.",
            default=False,
        ),
        ChoiceSetting(
            name="user_ordering",
            doc="Candidate order; null uses the service's.",
            choices=tuple(o.value for o in UserOrdering),
            default=None,
            nullable=True,
        ),
    )


def _distribution_rule(settings: Mapping[str, JsonValue], scope: NodeScope) -> None:
    value = settings.get("distribution_type")
    kind = scope.kind
    if kind is None or not isinstance(value, str):
        return
    allowed = DISTRIBUTION_TYPES_BY_MODALITY[kind.modality]
    if value in (t.value for t in DistributionType) and value not in allowed:
        scope.setting("distribution_type").error(
            "distribution_type_not_supported",
            f"distribution_type {value} is not available for {kind.modality.value} tasks; "
            f"use {join_or(allowed)}.",
        )


# --------------------------------------------------------------------------- activity rules


def _digits_rule(settings: Mapping[str, JsonValue], scope: NodeScope) -> None:
    low = settings.get("min_digits", 1)
    high = settings.get("max_digits", 16)
    if is_int(low) and is_int(high) and 1 <= low <= 32 and 1 <= high <= 32 and high < low:
        scope.setting("max_digits").error(
            "invalid_setting", f"max_digits ({high}) must be at least min_digits ({low})."
        )


def _compiles(value: str, site: Site) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        site.error("invalid_setting", f"{site.name} is not a valid regular expression: {exc}.")


def _subject_check(value: str, site: Site) -> None:
    found = parse_subject(value)
    if found.problem is not None:
        site.error("invalid_setting", f"{site.name} {value!r} {found.problem}.")
    elif found.parameter_id is not None:
        site.reference(RefKind.PARAMETER, found.parameter_id)


_VALUE_FREE: Final = ("is_empty", "is_default")
_NUMERIC: Final = ("greater_than", "less_than")
_OPERATORS: Final = (
    "equals",
    "not_equals",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "in",
    "greater_than",
    "less_than",
    "is_empty",
    "is_default",
)


def _needs(
    settings: Mapping[str, JsonValue],
    scope: NodeScope,
    name: str,
    *,
    wanted: bool,
    because: str,
    expected: str = "",
) -> None:
    """Report `name` missing although `because` needs it, or present although it does not."""
    if wanted and name not in settings:
        scope.setting(name).error("required", f"{name} is required when {because}{expected}.")
    elif not wanted and name in settings:
        scope.setting(name).error(
            "not_applicable", f"{name} does not apply when {because}; remove it."
        )


def _operator_rule(settings: Mapping[str, JsonValue], scope: NodeScope) -> None:
    operator = settings.get("operator")
    if not isinstance(operator, str) or operator not in _OPERATORS:
        return
    because = f"operator is {operator}"
    _needs(
        settings,
        scope,
        "value",
        wanted=operator not in (*_VALUE_FREE, "in"),
        because=because,
        expected="; expected the text to compare with",
    )
    _needs(
        settings,
        scope,
        "values",
        wanted=operator == "in",
        because=because,
        expected="; expected a list of 1 to 100 texts",
    )
    value = settings.get("value")
    if not isinstance(value, str):
        return
    site = scope.setting("value")
    if operator == "matches":
        _compiles(value, site)
    elif operator in _NUMERIC:
        try:
            float(value)
        except ValueError:
            site.error("invalid_setting", f"value must be a number for {operator}; got {value!r}.")


def _consent_rule(settings: Mapping[str, JsonValue], scope: NodeScope) -> None:
    purpose = settings.get("purpose", "transfer_on_user_exit")
    if purpose in ("transfer_on_user_exit", "recording", "custom"):
        _needs(
            settings,
            scope,
            "purpose_name",
            wanted=purpose == "custom",
            because=f"purpose is {purpose}",
        )
    grant = settings.get("grant_key", "1")
    deny = settings.get("deny_key", "2")
    if grant == deny and grant in DTMF_KEYS:
        scope.setting("deny_key").error(
            "invalid_setting", f"deny_key must differ from grant_key; both are {grant!r}."
        )


def _condition_rule(settings: Mapping[str, JsonValue], scope: NodeScope) -> None:
    condition = settings.get("condition", "changed")
    if condition in ("changed", "equals"):
        _needs(
            settings,
            scope,
            "value",
            wanted=condition == "equals",
            because=f"condition is {condition}",
            expected="; expected the value to wait for",
        )


def _transfer_rule(settings: Mapping[str, JsonValue], scope: NodeScope) -> None:
    target_type = settings.get("target_type")
    if not isinstance(target_type, str) or target_type not in TRANSFER_TARGETS_BY_MODALITY[A]:
        return
    kind = scope.kind
    if kind is not None:
        allowed = TRANSFER_TARGETS_BY_MODALITY[kind.modality]
        if target_type not in allowed:
            scope.setting("target_type").error(
                "target_not_supported",
                f"target_type {target_type} is not available for {kind.modality.value} tasks; "
                f"use {join_or(allowed)}.",
            )
    if "keep_queue_position" in settings and target_type != "service":
        scope.setting("keep_queue_position").error(
            "not_applicable",
            f"keep_queue_position applies only to service targets, not {target_type}; remove it.",
        )
    target = settings.get("target")
    if not isinstance(target, str) or not target.strip() or len(target) > 256:
        return
    site = scope.setting("target")
    if target_type == "user":
        site.reference(RefKind.USER, target)
    elif target_type == "service":
        site.reference(RefKind.SERVICE, target)
    elif target_type == "external_number" and not re.fullmatch(_E164, target):
        site.error(
            "invalid_setting",
            f"target must be an E.164 number, '+' then 8 to 15 digits; got {target!r}.",
        )
    elif target_type == "upn" and not re.fullmatch(_UPN, target):
        site.error("invalid_setting", f"target must look like name@contoso.com; got {target!r}.")


def _service_calendar_rule(settings: Mapping[str, JsonValue], scope: NodeScope) -> None:
    """Warn when a service running this workflow has no calendar (04 §3.7)."""
    refs = scope.refs
    if refs is None or settings.get("calendar", "service") != "service":
        return
    lacking = sorted(
        service_id
        for service_id, service in refs.services.items()
        if scope.workflow_id in service.workflow_ids and not service.has_calendar
    )
    if not lacking:
        return
    names = join_or(tuple(repr(s) for s in lacking), "and")
    who = f"service {names} has" if len(lacking) == 1 else f"services {names} have"
    scope.setting("calendar").warn(
        "calendar_missing",
        f"calendar 'service' uses the calendars of the task's service, but {who} none, "
        "so this node always takes the open exit there.",
    )


def _notify_rule(value: Mapping[str, JsonValue], site: Site) -> None:
    kind = value.get("type")
    if kind == "email":
        address = value.get("address")
        if "address" not in value:
            site.at("address").error(
                "required", f"{site.name}.address is required when type is email."
            )
        elif isinstance(address, str) and not re.fullmatch(_UPN, address):
            site.at("address").error(
                "invalid_setting",
                f"{site.name}.address must look like name@contoso.com; got {address!r}.",
            )
    elif kind == "event" and "address" in value:
        site.at("address").error(
            "not_applicable", f"{site.name}.address does not apply when type is event; remove it."
        )


# --------------------------------------------------------------------------- the catalogue

_NEXT = (Exit("next", "Continue."),)

CATALOGUE: Final[Mapping[str, Activity]] = {
    a.key: a
    for a in (
        Activity(
            key="start",
            doc="Entry point; exactly one per workflow.",
            kinds=ALL,
            exits=(Exit("next", "The first activity."),),
            pre_accept=True,
        ),
        Activity(
            key="accept",
            doc="System acceptance: answers the call, opens the chat or claims the mail; "
            "sets accepted_at and emits task.accepted.",
            kinds=ALL,
            exits=_NEXT,
        ),
        Activity(
            key="announcement",
            doc="Plays a prompt.",
            kinds=VOICE,
            waits=True,
            exits=_NEXT,
            settings=(
                prompt("prompt", "What to play."),
                IntSetting(name="repeat", doc="How often to play it.", default=1, low=1, high=10),
                BoolSetting(
                    name="barge_in", doc="A key press ends the announcement.", default=False
                ),
            ),
        ),
        Activity(
            key="message",
            doc="Sends a chat message.",
            kinds=frozenset({CH}),
            waits=True,
            exits=_NEXT,
            settings=(
                _texts("text", "The message; placeholders allowed.", 4000, required=True),
                _seconds("delay_s", "Pause after sending.", 1, 1, 600),
            ),
        ),
        Activity(
            key="input_customer",
            doc="A key-press menu.",
            kinds=VOICE,
            waits=True,
            option_exits=True,
            exits=(
                Exit("invalid", "A key that is not an option, after the last retry."),
                Exit("no_input", "No key pressed, after the last retry."),
            ),
            settings=(
                prompt("prompt", "The menu prompt."),
                ListSetting(
                    name="options",
                    doc="Keys the menu accepts (`0`-`9`, `*`, `#`); each declares the exit "
                    "`option_<key>`.",
                    required=True,
                    item=ChoiceSetting(name="key", doc="A key.", choices=DTMF_KEYS),
                    min_items=1,
                    max_items=12,
                    unique=True,
                ),
                _seconds("timeout_s", "Wait for a key press.", 5, 1, 60),
                IntSetting(
                    name="retries",
                    doc="Replays after an invalid or missing key.",
                    default=2,
                    low=0,
                    high=5,
                ),
                prompt("invalid_prompt", "Played after an invalid key.", required=False),
                prompt("no_input_prompt", "Played when no key was pressed.", required=False),
                _param("store_parameter_id", "Parameter that stores the key.", required=False),
            ),
        ),
        Activity(
            key="collect_information",
            doc="Collects digits into a parameter.",
            kinds=VOICE,
            waits=True,
            exits=(
                Exit("collected", "Digits stored in the parameter."),
                Exit("invalid", "Digits did not match, after the last retry."),
                Exit("no_input", "Nothing entered, after the last retry."),
            ),
            settings=(
                prompt("prompt", "Asks for the digits."),
                _param("parameter_id", "Parameter that stores the digits.", required=True),
                IntSetting(name="min_digits", doc="Fewest digits.", default=1, low=1, high=32),
                IntSetting(
                    name="max_digits",
                    doc="Most digits; at least min_digits.",
                    default=16,
                    low=1,
                    high=32,
                ),
                ChoiceSetting(
                    name="terminator",
                    doc="Key that ends the input early.",
                    choices=("#", "*", "none"),
                    default="#",
                ),
                _seconds("first_digit_timeout_s", "Wait for the first digit.", 10, 1, 60),
                _seconds("inter_digit_timeout_s", "Wait between digits.", 5, 1, 20),
                IntSetting(
                    name="retries", doc="Asks again after bad input.", default=1, low=0, high=5
                ),
                TextSetting(
                    name="pattern",
                    doc="Regular expression the digits must match.",
                    max_len=256,
                    extra_check=_compiles,
                ),
            ),
            rules=(_digits_rule,),
        ),
        Activity(
            key="check_opening_hours",
            doc="Branches on the opening state (04 §5).",
            kinds=ALL,
            pre_accept=True,
            exits=(
                Exit("open", "An open period (or no calendar)."),
                Exit("closed", "A closed period, or closed by default."),
                Exit("holiday", "A holiday period."),
                Exit("special", "A special opening."),
            ),
            settings=(
                RefSetting(
                    name="calendar",
                    doc="'service' (the service's primary/secondary calendars) or a calendar id.",
                    ref=RefKind.CALENDAR,
                    literals=("service",),
                    default="service",
                ),
            ),
            rules=(_service_calendar_rule,),
        ),
        Activity(
            key="check_parameter",
            doc="Compares a parameter, system or customer field.",
            kinds=ALL,
            pre_accept=True,
            exits=(Exit("match", "The comparison holds."), Exit("no_match", "It does not.")),
            settings=(
                TextSetting(
                    name="subject",
                    doc="`param.<ID>`, `system.<field>` or `customer.<field>`.",
                    required=True,
                    max_len=128,
                    extra_check=_subject_check,
                ),
                ChoiceSetting(
                    name="operator", doc="How to compare.", required=True, choices=_OPERATORS
                ),
                TextSetting(name="value", doc="Text to compare with.", min_len=0, max_len=5120),
                ListSetting(
                    name="values",
                    doc="Texts for operator in.",
                    item=TextSetting(name="value", doc="A text.", min_len=0, max_len=5120),
                    min_items=1,
                    max_items=100,
                ),
                BoolSetting(name="case_sensitive", doc="Compare letters exactly.", default=False),
            ),
            rules=(_operator_rule,),
        ),
        Activity(
            key="set_parameter",
            doc="Stores a value in a custom parameter.",
            kinds=ALL,
            pre_accept=True,
            exits=_NEXT,
            settings=(
                _param("parameter_id", "Parameter to set.", required=True),
                _texts(
                    "value",
                    "Template of the value; placeholders allowed.",
                    5120,
                    min_len=0,
                    default="",
                ),
            ),
        ),
        Activity(
            key="availability_based_routing",
            doc="Branches on whether members of a service could take the task.",
            kinds=frozenset({AI, AO, CH, ET}),
            pre_accept=True,
            exits=(
                Exit("available", "At least one member is selectable."),
                Exit("all_busy", "Members are online but none is selectable."),
                Exit("nobody_online", "No member is online."),
            ),
            settings=(
                RefSetting(
                    name="service_id",
                    doc="Service to look at; null is the task's service.",
                    ref=RefKind.SERVICE,
                    default=None,
                    nullable=True,
                ),
                ChoiceSetting(
                    name="modality",
                    doc="Modality to check; null is the task's.",
                    choices=tuple(m.value for m in Modality),
                    default=None,
                    nullable=True,
                ),
            ),
        ),
        Activity(
            key="queue",
            doc="Queues the task and waits; acceptance by a user ends the workflow.",
            kinds=ALL,
            exits=(
                Exit("timeout", "max_queue_time_s elapsed."),
                Exit("no_users", "No member online (with exit_when_no_users)."),
                Exit("full", "The service queue is at max_queue_size."),
            ),
            settings=(
                *_queue_settings(),
                ListSetting(
                    name="waiting_prompts",
                    doc="Prompts looped while waiting (audio).",
                    item=prompt("prompt", "A prompt."),
                    min_items=1,
                    max_items=20,
                    modalities=frozenset({A}),
                ),
                _texts(
                    "waiting_message",
                    "Message sent on entering the queue (chat).",
                    4000,
                    modalities=frozenset({C}),
                ),
            ),
            rules=(_distribution_rule,),
        ),
        Activity(
            key="queue_task",
            doc="Queues the task and continues at once; acceptance stops the workflow.",
            kinds=ALL,
            exits=(Exit("next", "Queued; continue."), Exit("full", "The queue is full.")),
            settings=_queue_settings(),
            rules=(_distribution_rule,),
        ),
        Activity(
            key="check_task",
            doc="Reports how the task queued by queue_task is doing.",
            kinds=ALL,
            exits=(
                Exit("waiting", "Still queued."),
                Exit("timeout", "max_queue_time_s elapsed."),
                Exit("no_users", "No member online."),
            ),
        ),
        Activity(
            key="cancel_task",
            doc="Takes the task out of the queue and withdraws its offers.",
            kinds=ALL,
            exits=_NEXT,
        ),
        Activity(
            key="wait_for_parameter",
            doc="Waits until a parameter changes (or takes a value).",
            kinds=ALL,
            waits=True,
            exits=(Exit("updated", "The condition holds."), Exit("timeout", "It did not.")),
            settings=(
                _param("parameter_id", "Parameter to watch.", required=True),
                ChoiceSetting(
                    name="condition",
                    doc="changed, or equals value.",
                    choices=("changed", "equals"),
                    default="changed",
                ),
                TextSetting(name="value", doc="Value for equals.", min_len=0, max_len=5120),
                _seconds("timeout_s", "Longest wait.", 60, 1, 3600),
            ),
            rules=(_condition_rule,),
        ),
        Activity(
            key="transfer",
            doc="Hands the task to a user, a service, a number or a UPN; "
            "success ends the workflow.",
            kinds=ALL,
            pre_accept=True,
            exits=(Exit("failed", "The transfer failed."),),
            settings=(
                ChoiceSetting(
                    name="target_type",
                    doc="user, service, external_number (E.164) or upn; "
                    "chat, email and external tasks: user or service.",
                    required=True,
                    choices=TRANSFER_TARGETS_BY_MODALITY[A],
                ),
                TextSetting(
                    name="target",
                    doc="User id, service id, E.164 number or UPN.",
                    required=True,
                    max_len=256,
                ),
                BoolSetting(
                    name="leave", doc="Stop tracking the task once handed over.", default=False
                ),
                _seconds("ring_timeout_s", "Ring time of the target.", 30, 5, 120),
                BoolSetting(
                    name="keep_queue_position",
                    doc="Keep the queue position at the target service.",
                    default=False,
                ),
                prompt(
                    "prompt",
                    "Played before transferring (audio).",
                    required=False,
                    modalities=frozenset({A}),
                ),
            ),
            rules=(_transfer_rule,),
        ),
        Activity(
            key="voice_message",
            doc="Records a voice message for the mailbox.",
            kinds=frozenset({AI}),
            exits=(
                Exit("recorded", "A message was recorded."),
                Exit("no_recording", "Nothing was recorded."),
            ),
            settings=(
                prompt("prompt", "Played before the beep."),
                _seconds("max_duration_s", "Longest recording.", 120, 5, 600),
                _seconds("silence_timeout_s", "Silence that ends the recording.", 5, 1, 30),
                BoolSetting(name="beep", doc="Beep before recording.", default=True),
                TextSetting(
                    name="stop_keys",
                    doc="Keys that end the recording.",
                    min_len=0,
                    max_len=12,
                    pattern=r"^[0-9*#]*$",
                    pattern_hint="made of the keys 0-9, * and #",
                    default="#",
                ),
                _param(
                    "store_parameter_id", "Parameter that stores the recording.", required=False
                ),
                RefSetting(
                    name="mailbox",
                    doc="'service' or a user id.",
                    ref=RefKind.USER,
                    literals=("service",),
                    default="service",
                ),
                ListSetting(
                    name="notify",
                    doc="Who hears about a new message.",
                    item=ObjectSetting(
                        name="target",
                        doc="A notification target.",
                        what="an object with type email or event",
                        fields=(
                            ChoiceSetting(
                                name="type",
                                doc="email or event.",
                                required=True,
                                choices=("email", "event"),
                            ),
                            TextSetting(name="address", doc="Mail address.", max_len=256),
                        ),
                        rules=(_notify_rule,),
                    ),
                    min_items=0,
                    max_items=10,
                    default=[],
                ),
            ),
        ),
        Activity(
            key="record_consent",
            doc="Asks for consent by key press; stores `system.consent.<purpose>`.",
            kinds=VOICE,
            exits=(Exit("granted", "Consent given."), Exit("not_granted", "Refused or silent.")),
            settings=(
                ChoiceSetting(
                    name="purpose",
                    doc="What the consent is for.",
                    choices=("transfer_on_user_exit", "recording", "custom"),
                    default="transfer_on_user_exit",
                ),
                TextSetting(
                    name="purpose_name",
                    doc="Name of a custom purpose.",
                    max_len=64,
                    pattern=rf"^{PARAMETER_ID_RE.pattern}$",
                    pattern_hint="a letter, then letters, digits or _",
                ),
                prompt("prompt", "Asks for consent."),
                ChoiceSetting(
                    name="grant_key", doc="Key that grants.", choices=DTMF_KEYS, default="1"
                ),
                ChoiceSetting(
                    name="deny_key", doc="Key that refuses.", choices=DTMF_KEYS, default="2"
                ),
                _seconds("timeout_s", "Wait for a key press.", 10, 1, 60),
            ),
            rules=(_consent_rule,),
        ),
        Activity(
            key="disconnect",
            doc="Ends the task (workflow_disconnect); email closes without reply.",
            kinds=ALL,
            pre_accept=True,
            settings=(
                prompt(
                    "final_prompt",
                    "Played before hanging up (audio).",
                    required=False,
                    modalities=frozenset({A}),
                ),
                _texts(
                    "final_message",
                    "Sent before closing (chat).",
                    4000,
                    modalities=frozenset({C}),
                ),
            ),
        ),
        Activity(
            key="email_reply",
            doc="Replies to the customer's mail.",
            kinds=frozenset({EM}),
            exits=_NEXT,
            settings=(
                _texts(
                    "subject",
                    "Subject; placeholders allowed.",
                    255,
                    default="Re: {{system.email_subject}}",
                ),
                _texts("body", "Body; placeholders allowed.", 20000, required=True),
            ),
        ),
    )
}
