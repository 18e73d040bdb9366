"""Phone numbers to E.164 with `phonenumbers` (01 §11: normalised when parseable).

The domain checks only the shape of a phone value (text, its length); parsing
needs Google's numbering metadata, which lives at this edge. Without a region a
number parses only in international form (`+41 44 555 01 99`, `0041 …` is not
international to the library): a national number would need the tenant's
region, which the configuration does not carry yet, so it stays unnormalised
rather than being guessed.
"""

from __future__ import annotations

import phonenumbers

__all__ = ["to_e164"]


def to_e164(raw: str, region: str | None = None) -> str | None:
    """`raw` as E.164 (`+41445550199`) if it is a possible number, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
