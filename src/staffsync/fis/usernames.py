"""The Auto Assign Staff Username policy, as pure functions.

Formula: ``username = pick_free(base(pattern, first, last), taken)`` where

* ``base`` fills the pattern's placeholders ``{first_name}``, ``{last_name}``,
  ``{first_initial}``, ``{last_initial}`` from the names, then folds to ASCII (NFKD,
  combining marks dropped), lowercases, and drops every character that is not a-z or 0-9,
  then cuts to ``MAX_LENGTH - 4`` characters so that a collision suffix still fits;
* ``pick_free`` returns ``base`` if it is not taken, else ``base + n`` for the smallest
  ``n >= 2`` that is not taken (``jsmith``, ``jsmith2``, ``jsmith3``, ...). ``taken``
  holds lowercased names, so the result is unique case-insensitively.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Container

MAX_LENGTH = 64
PLACEHOLDERS = frozenset({"first_name", "last_name", "first_initial", "last_initial"})
FALLBACK = "user"
_HAND_ENTERED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def base(pattern: str, first_name: str, last_name: str) -> str:
    """The pattern filled in and folded; ``FALLBACK`` if nothing alphanumeric is left."""
    first, last = first_name.strip(), last_name.strip()
    filled = pattern.format(
        first_name=first, last_name=last, first_initial=first[:1], last_initial=last[:1]
    )
    return fold(filled)[: MAX_LENGTH - 4] or FALLBACK


def fold(value: str) -> str:
    """ASCII, lowercase, a-z and 0-9 only: ``"José O'Brien"`` -> ``"joseobrien"``."""
    decomposed = unicodedata.normalize("NFKD", value)
    ascii_only = decomposed.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_only.lower())


def pick_free(candidate: str, taken: Container[str]) -> str:
    """``candidate`` if free, else ``candidate + n`` for the smallest free ``n >= 2``."""
    if candidate not in taken:
        return candidate
    n = 2
    while f"{candidate}{n}" in taken:
        n += 1
    return f"{candidate}{n}"


def check_pattern(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used, or None when it is fine."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError:
        return "Pattern has an unbalanced brace"
    unknown = fields - PLACEHOLDERS
    if unknown:
        return f"Unknown placeholder {{{sorted(unknown)[0]}}}; use " + ", ".join(
            f"{{{name}}}" for name in sorted(PLACEHOLDERS)
        )
    if not fields:
        return "Pattern must use at least one name placeholder"
    return None


def check_hand_entered(username: str) -> str | None:
    """Why a hand-entered username is refused, or None: 1-64 characters, letters, digits
    and ``. _ @ -``, starting with a letter or digit."""
    if not username:
        return "Username is required"
    if not _HAND_ENTERED.match(username):
        return "Username may use letters, digits and . _ @ - (at most 64 characters)"
    return None
