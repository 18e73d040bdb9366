"""Local-account passwords: argon2id hashing, the password policy and sign-in delays.

Spec 10 §1.3 (L1-L3). Local accounts exist for standalone deployments without an identity
provider, so Switchboard itself has to do what an IdP would otherwise do for it: store
passwords in a form that is expensive to brute-force, refuse passwords that an attacker would
try first, and slow down guessing against a single account without letting an attacker lock
real users out.

The functions are deliberately synchronous and side-effect free apart from the CPU and memory
spent by argon2. One hash or verification costs tens of milliseconds and 64 MiB of memory by
design, so an async caller should run them in a worker thread rather than on the event loop.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import Final, Literal

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "DUMMY_HASH",
    "FAILURE_WINDOW_SECONDS",
    "FREE_FAILURES",
    "HASH_LEN",
    "MAX_DELAY_SECONDS",
    "MAX_LENGTH",
    "MEMORY_COST_KIB",
    "MIN_LENGTH",
    "PARALLELISM",
    "PASSWORD_HASHER",
    "SALT_LEN",
    "TIME_COST",
    "PolicyProblem",
    "check_password_policy",
    "common_passwords",
    "hash_password",
    "login_delay",
    "needs_rehash",
    "verify_against_dummy",
    "verify_password",
]

# --- L1: argon2id parameters --------------------------------------------------------------
# These are the values of RFC 9106's "second recommended option" (the low-memory profile).
# They are spelled out instead of taken from argon2-cffi's defaults so that a library upgrade
# that changes its defaults cannot silently change what we store; changing them here is a
# deliberate act, after which ``needs_rehash`` upgrades each hash at the user's next sign-in.
TIME_COST: Final = 3
MEMORY_COST_KIB: Final = 64 * 1024  # 64 MiB, argon2 counts memory in KiB
PARALLELISM: Final = 4
SALT_LEN: Final = 16
HASH_LEN: Final = 32

PASSWORD_HASHER: Final = argon2.PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=HASH_LEN,
    salt_len=SALT_LEN,
    type=argon2.Type.ID,
)
"""The one configured hasher; every hash Switchboard writes comes from here."""

# A real argon2id hash, made with the parameters above from a random password that was thrown
# away. Verifying a sign-in attempt for an account that does not exist against it costs the
# same time and memory as a real verification, so response timing does not reveal which user
# names exist (L3). It is a constant rather than computed at import time so that importing this
# module stays cheap; a test checks that its parameters still match ``PASSWORD_HASHER``.
DUMMY_HASH: Final = (
    "$argon2id$v=19$m=65536,t=3,p=4$23+RREYBq3H23NbfxinmBQ"
    "$shH6rvE6Xn2wzYKQMQ1Q5le9luJfdfmNx4KY+G2xNUQ"
)


def hash_password(password: str) -> str:
    """Return the encoded argon2id hash (``$argon2id$v=19$m=...``) to store for *password*.

    The encoded form carries its own salt and parameters, which is what lets
    :func:`needs_rehash` notice old hashes later. Policy checks are not repeated here: they
    belong to the places where a user chooses a password, not to every code path that hashes.
    """
    return PASSWORD_HASHER.hash(password)


def verify_password(hash: str, password: str) -> bool:
    """Return whether *password* matches the stored *hash*.

    Every failure mode - a wrong password, a corrupted or foreign hash string - answers
    ``False`` instead of raising, because the caller's only correct reaction to any of them is
    "sign-in refused"; an exception would invite a code path that forgets to refuse.
    """
    try:
        return PASSWORD_HASHER.verify(hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_against_dummy(password: str) -> Literal[False]:
    """Spend the cost of one real verification, then refuse.

    Call this when the user name is unknown (or the account disabled) so that the answer takes
    as long as a wrong password for a real account would (L3).
    """
    verify_password(DUMMY_HASH, password)
    return False


def needs_rehash(hash: str) -> bool:
    """Return whether *hash* was made with parameters other than the current ones.

    Meant to be asked right after a successful :func:`verify_password`, the only moment the
    clear-text password is at hand to compute the replacement hash (L1). A hash that cannot
    even be parsed also answers ``True``: replacing it is the only useful thing to do.
    """
    try:
        return PASSWORD_HASHER.check_needs_rehash(hash)
    except (InvalidHashError, ValueError):
        return True


# --- L2: password policy ------------------------------------------------------------------
MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 256

PolicyProblem = Literal["too_short", "too_long", "contains_username", "too_common"]

# User-name fragments shorter than this are not searched for in the password: a user called
# "al" would otherwise be barred from every password containing "al", which protects nothing.
_MIN_USERNAME_FRAGMENT: Final = 3

# Leading and trailing decoration people add to a dictionary word to satisfy composition rules
# ("Summer2024!", "!!password123"). Stripping it finds the word the attacker will start from.
_DECORATION: Final = re.compile(r"^[\d\W_]+|[\d\W_]+$")
# A short unit repeated to reach the minimum length ("abcabcabcabc", "111111111111").
_REPEATED_UNIT: Final = re.compile(r"(.{1,4}?)\1+", re.DOTALL)
_DIGITS: Final = "0123456789"
_PACKAGE: Final = __name__.rpartition(".")[0]


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return the bundled list of common passwords, case-folded.

    The spec (L2) asks for a list of 10 000 entries; the bundled ``common_passwords.txt`` is a
    hand-written start of about 200 typical weak passwords and base words that the pattern
    rules in :func:`check_password_policy` extend. Replace the file with a full list (one
    password per line, ``#`` starts a comment) without touching the code.
    """
    text = resources.files(_PACKAGE).joinpath("common_passwords.txt").read_text("utf-8")
    entries = (line.strip() for line in text.splitlines())
    return frozenset(e.casefold() for e in entries if e and not e.startswith("#"))


def _is_common(password: str) -> bool:
    folded = password.casefold()
    common = common_passwords()
    if folded in common or _REPEATED_UNIT.fullmatch(folded) or _is_sequence(folded):
        return True
    base = _DECORATION.sub("", folded)
    return bool(base) and (base in common or _is_repeated_word(base, common))


def _is_repeated_word(text: str, common: frozenset[str]) -> bool:
    """Catch a listed word written several times ("passwordpassword")."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size] in common
    return False


def _is_sequence(text: str) -> bool:
    """Catch runs such as "abcdefghijkl" or "987654321098" (digits wrap around 9 -> 0).

    Whatever the length, a run is fully described by its first character and direction, so an
    attacker's generator enumerates all of them in no time.
    """
    if len(text) < 3:
        return False

    def direction(a: str, b: str) -> int:
        if a in _DIGITS and b in _DIGITS:
            delta = (int(b) - int(a)) % 10
            return {1: 1, 9: -1}.get(delta, 0)
        delta = ord(b) - ord(a)
        return delta if delta in (1, -1) else 0

    directions = {direction(a, b) for a, b in pairwise(text)}
    return directions in ({1}, {-1})


def _username_fragments(username: str) -> list[str]:
    """The whole user name and, for a UPN or e-mail address, its local part."""
    folded = username.strip().casefold()
    fragments = [folded]
    if "@" in folded:
        fragments.append(folded.split("@", 1)[0])
    return [f for f in fragments if len(f) >= _MIN_USERNAME_FRAGMENT]


def check_password_policy(password: str, username: str) -> list[PolicyProblem]:
    """Return every policy problem of *password* for the account *username* (L2).

    An empty list means the password is acceptable. All problems are reported at once, as
    stable machine-readable codes, so the UI can explain everything in one round trip and
    translate the codes itself:

    * ``too_short`` - fewer than 12 characters;
    * ``too_long`` - more than 256 characters (hashing cost does not depend on length, the cap
      only keeps request sizes and mistakes in check);
    * ``contains_username`` - contains the user name, or the local part of a UPN, ignoring
      case (fragments shorter than three characters are not searched);
    * ``too_common`` - in the bundled list, or a listed word with digits and symbols around it
      ("Password2024!"), or a short unit or listed word repeated ("abcabcabcabc").

    Length is counted in Unicode code points, which is what a user perceives as characters.
    """
    problems: list[PolicyProblem] = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    folded = password.casefold()
    if any(fragment in folded for fragment in _username_fragments(username)):
        problems.append("contains_username")
    # Over-long input is refused anyway; skipping the pattern checks keeps their cost bounded
    # (the HTTP layer may hand us up to a 1 MiB body).
    if len(password) <= MAX_LENGTH and _is_common(password):
        problems.append("too_common")
    return problems


# --- L3: sign-in throttling -----------------------------------------------------------------
FAILURE_WINDOW_SECONDS: Final = 15 * 60
"""Failures are counted over this sliding window by the caller."""
FREE_FAILURES: Final = 5
"""Below this many failures in the window no delay applies (typing mistakes are normal)."""
MAX_DELAY_SECONDS: Final = 15 * 60.0


def login_delay(failures_in_window: int) -> float:
    """Return how many seconds the next sign-in attempt for an account must wait.

    ``failures_in_window`` is the number of failed attempts for the account within the last
    :data:`FAILURE_WINDOW_SECONDS`. Up to four failures cost nothing; the fifth starts a delay
    of 1 s that doubles with every further failure (2 s, 4 s, ...) and stops growing at
    15 minutes. There is deliberately no permanent lock-out: an attacker who knows a user name
    could otherwise lock that user out at will (L3). Once failures age out of the window the
    delay shrinks again by itself.
    """
    if failures_in_window < FREE_FAILURES:
        return 0.0
    exponent = failures_in_window - FREE_FAILURES
    # Compare the exponent before computing 2**n so that a huge failure count cannot build a
    # huge integer; 2**10 s already exceeds the cap.
    if exponent >= 10:
        return MAX_DELAY_SECONDS
    return min(float(2**exponent), MAX_DELAY_SECONDS)
