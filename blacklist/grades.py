"""Accident grades (国务院令第493号 Art 3): the highest band any one measure reaches."""

from __future__ import annotations

GRADES = ("general", "larger", "major", "especially_major")
GRADE_NAMES = {"general": "一般", "larger": "较大", "major": "重大", "especially_major": "特别重大"}

# Lower bounds of each band above `general`: (deaths, serious injuries, direct loss CNY).
# "以上" includes the bound, so a value equal to a bound is in the higher band.
_BOUNDS = (
    ("especially_major", 30, 100, 100_000_000),
    ("major", 10, 50, 50_000_000),
    ("larger", 3, 10, 10_000_000),
)


def derive_grade(deaths: int, serious_injuries: int, direct_loss_cny: int) -> str:
    """The grade the numbers imply."""
    for grade, d, i, loss in _BOUNDS:
        if deaths >= d or serious_injuries >= i or direct_loss_cny >= loss:
            return grade
    return "general"


def grade_rank(grade: str) -> int:
    return GRADES.index(grade)
