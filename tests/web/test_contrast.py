"""Text in the UI's palette is readable: WCAG 2 contrast of at least 4.5:1 for every pair used.

The colours are read from `static/app.css` itself (its custom properties and the
rules that pair a text colour with a background), so a change of palette that
makes text hard to read for a whole shift fails here.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

CSS = resources.files("switchboard.web").joinpath("static", "app.css").read_text()
VARS = dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})\s*;", CSS))
#: WCAG 2.x AA for normal text.
MINIMUM = 4.5


def _colour(value: str) -> str:
    value = value.strip()
    if value.startswith("var(--"):
        return str(VARS[value[6:-1]])
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", value), value
    return value


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted(
        (_luminance(_colour(foreground)), _luminance(_colour(background))), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def _rule_pairs() -> list[tuple[str, str, str]]:
    """Every rule that sets both a background and a text colour, as (selector, fg, bg)."""
    pairs = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", CSS):
        background = re.search(r"background:\s*(#[0-9a-fA-F]{6}|var\(--[a-z0-9-]+\))", body)
        colour = re.search(r"(?<![-a-z])color:\s*(#[0-9a-fA-F]{6}|var\(--[a-z0-9-]+\))", body)
        if background and colour:
            pairs.append((selector.strip(), colour.group(1), background.group(1)))
    return pairs


#: Text colours on the surfaces they are used on, beyond the rules that set both.
PAIRS = [
    ("var(--text)", "var(--bg)"),
    ("var(--text)", "var(--surface)"),
    ("var(--text)", "var(--surface-2)"),
    ("var(--muted)", "var(--bg)"),
    ("var(--muted)", "var(--surface)"),
    ("var(--muted)", "var(--surface-2)"),
    ("var(--primary)", "var(--surface)"),
    ("var(--primary)", "var(--bg)"),
    ("#ffffff", "var(--primary)"),
    ("#ffffff", "var(--success)"),
    ("#ffffff", "var(--danger)"),
    ("var(--success)", "var(--surface)"),
    ("var(--danger)", "var(--surface)"),
    ("var(--warning-text)", "#fffaf0"),  # the ring countdown on the offers card
    ("#e6eefb", "#102a4c"),  # navigation links on the top bar
    ("#5d6877", "#e9edf2"),  # a disabled button's label
]


@pytest.mark.parametrize(("foreground", "background"), PAIRS)
def test_text_on_its_background_is_readable(foreground: str, background: str) -> None:
    ratio = contrast(foreground, background)
    assert ratio >= MINIMUM, f"{foreground} on {background}: {ratio:.2f}:1"


@pytest.mark.parametrize(("selector", "foreground", "background"), _rule_pairs())
def test_every_rule_that_colours_text_and_background_is_readable(
    selector: str, foreground: str, background: str
) -> None:
    ratio = contrast(foreground, background)
    assert ratio >= MINIMUM, f"{selector}: {foreground} on {background} is {ratio:.2f}:1"


def test_the_palette_is_read_from_the_stylesheet() -> None:
    assert {"text", "bg", "surface", "primary", "muted", "focus"} <= set(VARS)
    assert len(_rule_pairs()) >= 10
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
