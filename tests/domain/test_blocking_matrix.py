"""The task-blocking matrix (spec 02 §5), checked cell by cell and against the spec text.

The expected table below is typed out by hand on purpose: if one cell of the data in
`switchboard.domain.blocking_matrix` changes, exactly one parametrized case fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from switchboard.domain import blocking_matrix
from switchboard.domain.blocking_matrix import CONSULTING_ROW, KINDS, MATRIX, Cell
from switchboard.domain.enums import SessionState, TaskKind

SPEC_FILE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "02-tasks-and-states.md"
)

# Column order of the published table.
COLUMNS: tuple[TaskKind, ...] = (
    TaskKind.AUDIO_INBOUND,
    TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF,
    TaskKind.AUDIO_OUTBOUND_SCHEDULED,
    TaskKind.AUDIO_OUTBOUND_WITH_WORKFLOW,
    TaskKind.EXTERNAL_TASK,
    TaskKind.CHAT_INBOUND,
    TaskKind.EMAIL_INBOUND,
)

B, N, X = "blocking", "non-blocking", "n/a"

# 8 rows × 7 columns, copied from spec 02 §5 by hand.
EXPECTED: dict[SessionState, tuple[str, str, str, str, str, str, str]] = {
    # columns: audio in, call on behalf, scheduled, with workflow, external, chat, email
    SessionState.INCOMING: (B, B, B, B, B, B, B),
    SessionState.DIALING_OUT: (X, B, B, X, X, X, X),
    SessionState.CONNECTED: (B, B, B, B, B, B, B),
    SessionState.TRANSFERRING: (B, X, X, X, X, X, X),
    SessionState.ON_HOLD: (B, B, B, B, X, X, X),
    SessionState.PARKED: (N, N, N, N, N, N, N),
    SessionState.UNPARKING: (B, B, B, B, X, X, X),
    SessionState.IN_ACW: (B, B, B, B, X, X, X),
}

# The supplementary `consulting` row (rule 4): blocking for audio kinds, n/a elsewhere.
EXPECTED_CONSULTING: tuple[str, ...] = (B, B, B, B, X, X, X)

CELLS = [
    pytest.param(state, kind, row[col], id=f"{state.value}-{kind.value}")
    for state, row in EXPECTED.items()
    for col, kind in enumerate(COLUMNS)
]


def test_expected_table_has_56_cells() -> None:
    assert len(EXPECTED) == 8
    assert all(len(row) == 7 for row in EXPECTED.values())
    assert len(CELLS) == 56


@pytest.mark.parametrize(("state", "kind", "expected"), CELLS)
def test_cell(state: SessionState, kind: TaskKind, expected: str) -> None:
    assert MATRIX[(state, kind)] is Cell(expected)
    assert blocking_matrix.cell(state, kind) is Cell(expected)
    assert blocking_matrix.is_blocking(state, kind) is (expected == B)
    assert blocking_matrix.is_reachable(state, kind) is (expected != X)


def test_matrix_holds_exactly_the_56_published_cells() -> None:
    assert set(MATRIX) == {(state, kind) for state in EXPECTED for kind in COLUMNS}
    assert len(MATRIX) == 56


def test_column_order_matches_the_published_table() -> None:
    assert KINDS == COLUMNS
    assert set(KINDS) == set(TaskKind)


def test_matrix_is_read_only() -> None:
    with pytest.raises(TypeError):
        MATRIX[(SessionState.PARKED, TaskKind.AUDIO_INBOUND)] = Cell.BLOCKING  # type: ignore[index]


# --- the data equals the table in the spec ---------------------------------------------


def _kind_from_header(header: str) -> TaskKind:
    """'audio outbound call-on-behalf' -> TaskKind.AUDIO_OUTBOUND_CALL_ON_BEHALF."""
    return TaskKind(re.sub(r"[\s-]+", "_", header.strip()))


def _spec_matrix() -> dict[tuple[SessionState, TaskKind], str]:
    if not SPEC_FILE.is_file():
        pytest.skip(f"spec file not found at {SPEC_FILE}; cannot compare the matrix with it")
    text = SPEC_FILE.read_text(encoding="utf-8")
    section = re.search(r"^## 5\..*?(?=^## 6\.)", text, flags=re.M | re.S)
    assert section is not None, "section 5 (blocking matrix) not found in the spec"
    rows = [line for line in section.group(0).splitlines() if line.startswith("|")]
    assert len(rows) >= 3, "no markdown table in section 5"

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    header, separator, *body = rows
    assert set("".join(cells(separator))) <= {"-", ":"}
    kinds = [_kind_from_header(h) for h in cells(header)[1:]]
    table: dict[tuple[SessionState, TaskKind], str] = {}
    for line in body:
        state_name, *values = cells(line)
        assert len(values) == len(kinds), f"ragged row in spec table: {line!r}"
        for kind, value in zip(kinds, values, strict=True):
            table[(SessionState(state_name), kind)] = value
    return table


def test_spec_table_has_8_rows_and_7_columns() -> None:
    spec = _spec_matrix()
    assert len({state for state, _ in spec}) == 8
    assert len({kind for _, kind in spec}) == 7


def test_data_equals_the_spec_table() -> None:
    spec = _spec_matrix()
    actual = {key: cell.value for key, cell in MATRIX.items()}
    assert actual == spec


def test_hand_written_table_equals_the_spec_table() -> None:
    spec = _spec_matrix()
    expected = {
        (state, kind): row[col]
        for state, row in EXPECTED.items()
        for col, kind in enumerate(COLUMNS)
    }
    assert expected == spec


# --- supplementary consulting row, and `ended` ---------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [pytest.param(k, e, id=k.value) for k, e in zip(COLUMNS, EXPECTED_CONSULTING, strict=True)],
)
def test_consulting_row(kind: TaskKind, expected: str) -> None:
    assert blocking_matrix.cell(SessionState.CONSULTING, kind) is Cell(expected)
    assert blocking_matrix.is_blocking(SessionState.CONSULTING, kind) is (expected == B)
    assert blocking_matrix.is_reachable(SessionState.CONSULTING, kind) is (expected != X)


def test_consulting_row_is_stored_beside_the_matrix_not_inside_it() -> None:
    assert tuple(c.value for c in CONSULTING_ROW) == EXPECTED_CONSULTING
    assert all(state is not SessionState.CONSULTING for state, _ in MATRIX)


def test_consulting_blocks_exactly_the_audio_kinds() -> None:
    blocking = {k for k in TaskKind if blocking_matrix.is_blocking(SessionState.CONSULTING, k)}
    assert blocking == {k for k in TaskKind if k.is_audio}


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
def test_ended_never_blocks(kind: TaskKind) -> None:
    assert blocking_matrix.cell(SessionState.ENDED, kind) is Cell.NON_BLOCKING
    assert not blocking_matrix.is_blocking(SessionState.ENDED, kind)
    assert all(state is not SessionState.ENDED for state, _ in MATRIX)


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda k: k.value)
def test_every_session_state_has_a_cell(kind: TaskKind) -> None:
    for state in SessionState:
        assert isinstance(blocking_matrix.cell(state, kind), Cell)


def test_parked_is_the_only_non_blocking_live_row() -> None:
    non_blocking_rows = {
        state
        for state in SessionState
        if state is not SessionState.ENDED
        and all(not blocking_matrix.is_blocking(state, k) for k in TaskKind)
    }
    assert non_blocking_rows == {SessionState.PARKED}
