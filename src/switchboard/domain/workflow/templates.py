"""Built-in workflow templates (04 §6), as functions of a few parameters.

Each function returns a draft `Workflow` for the given id and OU; the caller
(the API, later) stores it as the tenant's copy. Every template validates its
own result before returning it and raises `ValidationFailed` if a parameter
made it invalid (a menu key that is not a key, a text over its limit), so a
template can never hand out a broken document.

Texts are English defaults meant to be replaced; `language` sets the prompt
language where the tenant's default is not wanted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from switchboard.domain.enums import Direction, Modality
from switchboard.domain.workflow.activities import option_exit
from switchboard.domain.workflow.document import JsonValue, Node, Workflow, WorkflowDocument
from switchboard.domain.workflow.issues import require_no_errors
from switchboard.domain.workflow.validate import validate_workflow

__all__ = [
    "TEMPLATES",
    "LanguageChoice",
    "chat_queue",
    "email_queue",
    "external_task_queue",
    "ivr_menu",
    "menu_with_language_choice",
    "opening_hours_queue",
    "outbound_with_workflow",
    "queue_ivr_voicemail",
    "queue_with_music_loop",
    "simple_queue",
]


def _n(
    node_id: str,
    activity: str,
    exits: Mapping[str, str] | None = None,
    **settings: JsonValue,
) -> Node:
    return Node(id=node_id, type=activity, settings=dict(settings), exits=dict(exits or {}))


def _prompt(text: str, language: str | None) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {"text": text}
    if language is not None:
        out["language"] = language
    return out


def _finish(
    workflow_id: str,
    ou_id: str,
    name: str,
    modality: Modality,
    nodes: Sequence[Node],
    direction: Direction = Direction.INBOUND,
) -> Workflow:
    workflow = Workflow(
        id=workflow_id,
        ou_id=ou_id,
        name=name,
        modality=modality,
        direction=direction,
        document=WorkflowDocument(tuple(nodes)),
    )
    require_no_errors(validate_workflow(workflow))
    return workflow


# --------------------------------------------------------------------------- the three asked for


def queue_ivr_voicemail(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Queue IVR Voicemail",
    welcome_text: str = "Welcome. The next available person will be with you shortly.",
    closed_text: str = "We are closed at the moment.",
    voicemail_text: str = "Please leave a message after the tone.",
    calendar: str = "service",
    max_queue_time_s: int = 300,
    language: str | None = None,
) -> Workflow:
    """Open: welcome, then queue; closed or nobody answering: voicemail (04 §6)."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.AUDIO,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "hours"}),
            _n(
                "hours",
                "check_opening_hours",
                {"open": "welcome", "special": "welcome", "closed": "closed", "holiday": "closed"},
                calendar=calendar,
            ),
            _n(
                "welcome", "announcement", {"next": "queue"}, prompt=_prompt(welcome_text, language)
            ),
            _n(
                "queue",
                "queue",
                {"timeout": "voicemail", "no_users": "voicemail", "full": "voicemail"},
                distribution_type="direct_conference",
                max_queue_time_s=max_queue_time_s,
            ),
            _n(
                "closed",
                "announcement",
                {"next": "voicemail"},
                prompt=_prompt(closed_text, language),
            ),
            _n(
                "voicemail",
                "voice_message",
                {"recorded": "end", "no_recording": "end"},
                prompt=_prompt(voicemail_text, language),
            ),
            _n("end", "disconnect"),
        ],
    )


def opening_hours_queue(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Opening hours → queue / closed announcement",
    closed_text: str = "We are closed at the moment. Please call again during our opening hours.",
    sorry_text: str = "Sorry, nobody can take your call right now. Please try again later.",
    calendar: str = "service",
    max_queue_time_s: int = 300,
    language: str | None = None,
) -> Workflow:
    """Open or special: queue; closed or holiday: an announcement, then hang up."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.AUDIO,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "hours"}),
            _n(
                "hours",
                "check_opening_hours",
                {"open": "queue", "special": "queue", "closed": "closed", "holiday": "closed"},
                calendar=calendar,
            ),
            _n(
                "queue",
                "queue",
                {"timeout": "sorry", "no_users": "sorry", "full": "sorry"},
                max_queue_time_s=max_queue_time_s,
            ),
            _n("closed", "announcement", {"next": "end"}, prompt=_prompt(closed_text, language)),
            _n("sorry", "announcement", {"next": "end"}, prompt=_prompt(sorry_text, language)),
            _n("end", "disconnect"),
        ],
    )


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """One branch of the language menu: the key, its language and what it says."""

    key: str
    language: str
    welcome_text: str
    sorry_text: str


_DEFAULT_LANGUAGES: Final = (
    LanguageChoice(
        "1",
        "en-US",
        "Welcome. The next available person will be with you shortly.",
        "Sorry, nobody can take your call right now. Goodbye.",
    ),
    LanguageChoice(
        "2",
        "fr-FR",
        "Bienvenue. La prochaine personne disponible va vous répondre.",
        "Désolés, personne ne peut prendre votre appel pour le moment. Au revoir.",
    ),
)


def menu_with_language_choice(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Menu with language choice",
    menu_text: str = "For English, press 1. Pour le français, appuyez sur le 2.",
    languages: Sequence[LanguageChoice] = _DEFAULT_LANGUAGES,
    language_parameter_id: str | None = None,
    max_queue_time_s: int = 300,
) -> Workflow:
    """A key chooses the language; each language is welcomed and queued in it.

    Every language has its own queue node: paths never share a queue, so each
    path queues once (V6) and the goodbye is spoken in the caller's language.
    With `language_parameter_id` the chosen tag is stored in that custom
    parameter, so users see which language the caller picked. No key or a
    wrong key chooses the first language.
    """
    if not languages:
        raise ValueError("menu_with_language_choice needs at least one language")
    nodes: list[Node] = [
        _n("start", "start", {"next": "accept"}),
        _n("accept", "accept", {"next": "menu"}),
        _n(
            "menu",
            "input_customer",
            {
                **{option_exit(c.key): _entry(c, language_parameter_id) for c in languages},
                "invalid": _entry(languages[0], language_parameter_id),
                "no_input": _entry(languages[0], language_parameter_id),
            },
            prompt={"text": menu_text},
            options=[c.key for c in languages],
        ),
    ]
    for choice in languages:
        suffix = option_exit(choice.key).removeprefix("option_")
        if language_parameter_id is not None:
            nodes.append(
                _n(
                    f"language_{suffix}",
                    "set_parameter",
                    {"next": f"welcome_{suffix}"},
                    parameter_id=language_parameter_id,
                    value=choice.language,
                )
            )
        nodes += [
            _n(
                f"welcome_{suffix}",
                "announcement",
                {"next": f"queue_{suffix}"},
                prompt=_prompt(choice.welcome_text, choice.language),
            ),
            _n(
                f"queue_{suffix}",
                "queue",
                {
                    "timeout": f"sorry_{suffix}",
                    "no_users": f"sorry_{suffix}",
                    "full": f"sorry_{suffix}",
                },
                max_queue_time_s=max_queue_time_s,
            ),
            _n(
                f"sorry_{suffix}",
                "announcement",
                {"next": "end"},
                prompt=_prompt(choice.sorry_text, choice.language),
            ),
        ]
    nodes.append(_n("end", "disconnect"))
    return _finish(workflow_id, ou_id, name, Modality.AUDIO, nodes)


def _entry(choice: LanguageChoice, parameter_id: str | None) -> str:
    suffix = option_exit(choice.key).removeprefix("option_")
    return f"language_{suffix}" if parameter_id is not None else f"welcome_{suffix}"


# --------------------------------------------------------------------------- the rest of 04 §6


def simple_queue(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Simple Queue",
    sorry_text: str = "Sorry, nobody is available right now. Please try again later.",
    language: str | None = None,
) -> Workflow:
    """Queue; if nobody answers, say so and hang up."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.AUDIO,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "queue"}),
            _n("queue", "queue", {"timeout": "sorry", "no_users": "sorry", "full": "sorry"}),
            _n("sorry", "announcement", {"next": "end"}, prompt=_prompt(sorry_text, language)),
            _n("end", "disconnect"),
        ],
    )


def ivr_menu(
    *,
    workflow_id: str,
    ou_id: str,
    option_1_service_id: str,
    option_2_service_id: str,
    name: str = "IVR Menu",
    menu_text: str = "For sales, press 1. For support, press 2.",
    language: str | None = None,
) -> Workflow:
    """Keys 1 and 2 transfer to two services; anything else queues here."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.AUDIO,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "menu"}),
            _n(
                "menu",
                "input_customer",
                {"option_1": "to_1", "option_2": "to_2", "invalid": "queue", "no_input": "queue"},
                prompt=_prompt(menu_text, language),
                options=["1", "2"],
            ),
            _n(
                "to_1",
                "transfer",
                {"failed": "queue"},
                target_type="service",
                target=option_1_service_id,
            ),
            _n(
                "to_2",
                "transfer",
                {"failed": "queue"},
                target_type="service",
                target=option_2_service_id,
            ),
            _n("queue", "queue", {"timeout": "end", "no_users": "end", "full": "end"}),
            _n("end", "disconnect"),
        ],
    )


def queue_with_music_loop(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Queue with Music Loop",
    music_audio_resource_id: str | None = None,
    hold_text: str = "Please hold, you are next in line.",
    voicemail_text: str = "Please leave a message after the tone.",
    max_queue_time_s: int = 300,
    language: str | None = None,
) -> Workflow:
    """queue_task, then loop music until a user accepts or the queue gives up.

    The loop passes an announcement, a waiting activity, so it is allowed
    (V12); the queue itself stays outside the loop (V6).
    """
    music: dict[str, JsonValue] = (
        {"source": "audio_resource", "audio_resource_id": music_audio_resource_id}
        if music_audio_resource_id is not None
        else _prompt(hold_text, language)
    )
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.AUDIO,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "queue"}),
            _n(
                "queue",
                "queue_task",
                {"next": "music", "full": "voicemail"},
                max_queue_time_s=max_queue_time_s,
            ),
            _n("music", "announcement", {"next": "check"}, prompt=music),
            _n(
                "check",
                "check_task",
                {"waiting": "music", "timeout": "voicemail", "no_users": "voicemail"},
            ),
            _n(
                "voicemail",
                "voice_message",
                {"recorded": "end", "no_recording": "end"},
                prompt=_prompt(voicemail_text, language),
            ),
            _n("end", "disconnect"),
        ],
    )


def chat_queue(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Chat Queue",
    greeting: str = "Hello {{customer.first_name}}, someone will be with you shortly.",
    sorry_text: str = "Sorry, nobody is available right now. Please try again later.",
) -> Workflow:
    """Greet, queue directly; if nobody takes the chat, apologise and close."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.CHAT,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "greeting"}),
            _n("greeting", "message", {"next": "queue"}, text=greeting),
            _n(
                "queue",
                "queue",
                {"timeout": "sorry", "no_users": "sorry", "full": "sorry"},
                distribution_type="direct",
            ),
            _n("sorry", "message", {"next": "end"}, text=sorry_text),
            _n("end", "disconnect"),
        ],
    )


def email_queue(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Email Queue",
    delay_body: str = (
        "Thank you for your message. We are busy at the moment and will answer as soon as we can."
    ),
) -> Workflow:
    """Queue a day; a mail nobody took gets a delay notice before it is closed."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.EMAIL,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "queue"}),
            _n(
                "queue",
                "queue",
                {"timeout": "reply", "no_users": "reply", "full": "reply"},
                distribution_type="direct",
                max_queue_time_s=86400,
            ),
            _n("reply", "email_reply", {"next": "end"}, body=delay_body),
            _n("end", "disconnect"),
        ],
    )


def external_task_queue(
    *, workflow_id: str, ou_id: str, name: str = "External Task Queue"
) -> Workflow:
    """Queue directly; a task nobody took is ended."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.EXTERNAL_TASK,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "queue"}),
            _n(
                "queue",
                "queue",
                {"timeout": "end", "no_users": "end", "full": "end"},
                distribution_type="direct",
            ),
            _n("end", "disconnect"),
        ],
    )


def outbound_with_workflow(
    *,
    workflow_id: str,
    ou_id: str,
    name: str = "Outbound with Workflow",
    intro_text: str = "Hello, this is a call from {{system.service.display_name}}. Please hold.",
    sorry_text: str = "Sorry, nobody can take the call right now. We will call again.",
    language: str | None = None,
) -> Workflow:
    """An outbound call: introduce, queue to a user, apologise if nobody came."""
    return _finish(
        workflow_id,
        ou_id,
        name,
        Modality.AUDIO,
        [
            _n("start", "start", {"next": "accept"}),
            _n("accept", "accept", {"next": "intro"}),
            _n("intro", "announcement", {"next": "queue"}, prompt=_prompt(intro_text, language)),
            _n(
                "queue",
                "queue",
                {"timeout": "sorry", "no_users": "sorry", "full": "sorry"},
                distribution_type="direct_conference",
            ),
            _n("sorry", "announcement", {"next": "end"}, prompt=_prompt(sorry_text, language)),
            _n("end", "disconnect"),
        ],
        direction=Direction.OUTBOUND,
    )


#: Every template by its display name (04 §6), for listing and instantiating.
TEMPLATES: Final[Mapping[str, Callable[..., Workflow]]] = {
    "Queue IVR Voicemail": queue_ivr_voicemail,
    "Opening hours → queue / closed announcement": opening_hours_queue,
    "Menu with language choice": menu_with_language_choice,
    "Simple Queue": simple_queue,
    "IVR Menu": ivr_menu,
    "Queue with Music Loop": queue_with_music_loop,
    "Chat Queue": chat_queue,
    "Email Queue": email_queue,
    "External Task Queue": external_task_queue,
    "Outbound with Workflow": outbound_with_workflow,
}
