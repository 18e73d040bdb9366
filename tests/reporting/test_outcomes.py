"""The outcome tables and the first-match derivation of 08 §3, as data and as rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switchboard.reporting.outcomes import (
    OUTCOME_GROUP,
    Facts,
    Outcome,
    OutcomeGroup,
    UserOutcome,
    UserOutcomeGroup,
    service_outcome,
)

#: 08 §3.2, outcome id -> group id, as the spec's table lists them.
SPEC_GROUPS = {
    **dict.fromkeys(range(1, 5), 3),
    **dict.fromkeys(range(5, 10), 1),
    **dict.fromkeys(range(10, 14), 2),
    **dict.fromkeys(range(14, 20), 4),
    **dict.fromkeys(range(20, 23), 5),
    23: 6,
    24: 6,
    **dict.fromkeys(range(25, 30), 7),
}

NOTHING = Facts(
    outbound=False,
    deciding_user_outcome=None,
    voice_message=False,
    callback_scheduled=False,
    transfer_succeeded=False,
    transfer_failed=False,
    end_reason="workflow_disconnect",
    end_detail=None,
    user_held_at_cancel=False,
    where_left=None,
    last_queue_exit=None,
)


def test_every_outcome_is_in_its_group_of_the_spec() -> None:
    assert {int(o): int(g) for o, g in OUTCOME_GROUP.items()} == SPEC_GROUPS
    assert [g.handled for g in OutcomeGroup] == [True, True, False, False, False, True, False]
    assert [o.group for o in UserOutcome].count(UserOutcomeGroup.MISSED) == 3


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, Outcome.COMPLETED_BY_WORKFLOW),
        ({"last_queue_exit": "no_users"}, Outcome.NO_USERS_AVAILABLE),
        ({"last_queue_exit": "cancelled"}, Outcome.COMPLETED_BY_WORKFLOW),
        ({"where_left": "queue", "last_queue_exit": "timeout"}, Outcome.CUSTOMER_HANGUP_IN_QUEUE),
        ({"end_reason": "error", "end_detail": "call_lost"}, Outcome.PROVIDER_ERROR),
        ({"end_reason": "error", "end_detail": "loop_guard"}, Outcome.SYSTEM_ERROR),
        ({"end_reason": "rejected"}, Outcome.REJECTED_BY_SYSTEM),
        ({"end_reason": "cancelled", "user_held_at_cancel": True}, Outcome.ABANDONED),
        ({"transfer_failed": True, "where_left": "ivr"}, Outcome.TRANSFER_FAILED),
        ({"transfer_failed": True, "transfer_succeeded": True}, Outcome.TRANSFERRED_BY_SYSTEM),
        ({"voice_message": True, "transfer_failed": True}, Outcome.VOICE_MESSAGE_RECORDED),
        (
            {"deciding_user_outcome": UserOutcome.ACCEPTED, "where_left": "queue"},
            Outcome.USER_ACCEPTED,
        ),
        (
            {"deciding_user_outcome": UserOutcome.INTERNAL_TRANSFER_FAILED},
            Outcome.USER_INTERNAL_TRANSFER_FAILED,
        ),
        ({"outbound": True}, Outcome.OUTBOUND_FAILED),
        (
            {"outbound": True, "deciding_user_outcome": UserOutcome.ACCEPTED},
            Outcome.OUTBOUND_CONNECTED,
        ),
    ],
)
def test_the_first_matching_rule_decides(facts: dict[str, object], expected: Outcome) -> None:
    assert service_outcome(replace(NOTHING, **facts)) is expected  # type: ignore[arg-type]
