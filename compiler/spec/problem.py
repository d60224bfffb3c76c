"""A rule across keys that a spec breaks, and the did-you-mean its message may carry: what every
rules module (rules.py, job_key_rules.py and the others validate.py runs) returns."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from .loader import KeyPath


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest choice, or nothing when none is close."""
    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


@dataclass(frozen=True)
class Problem:
    """A rule across keys that the spec breaks. `reads` lists the keys the rule looked at, so that
    it can stay quiet when one of them was set aside for failing the schema."""

    path: KeyPath
    message: str
    reads: tuple[KeyPath, ...]
    at_key: bool = False
