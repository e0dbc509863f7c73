"""Hypothesis strategies: random but plausible record sets over a few fixed subjects."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from rules.language import VIOLATION_CODES
from rules_factories import accident, agency, main_person, penalty, person, unit

SUBJECTS = [
    unit(11, "甲化工有限公司", "chemicals", main=main_person("赵某")),
    unit(12, "乙机械有限公司", None),
    unit(13, "丁建筑工程有限公司", "construction", main=main_person("钱某")),
    agency(91, "丙检测有限公司"),
    person("孙某", "610402********1234"),
    person("周某", "610402********5678"),
]
UNITS = SUBJECTS[:4]
ANCHORS = [date(2015, 6, 1), date(2016, 9, 1), date(2017, 4, 20), date(2019, 1, 1),
           date(2023, 8, 1), date(2024, 3, 1)]

days = st.builds(lambda anchor, offset: anchor + timedelta(days=offset),
                 st.sampled_from(ANCHORS), st.integers(0, 540))


@st.composite
def accidents(draw: st.DrawFn, index: int) -> dict[str, Any]:
    return accident(
        f"A{index:02d}", draw(st.sampled_from(UNITS)), draw(days).isoformat(),
        draw(st.integers(0, 12)), draw(st.sampled_from([0, 2, 12, 60])),
        draw(st.sampled_from([0, 1_000_000, 12_000_000, 60_000_000])),
        liability=draw(st.booleans() | st.just(True)),
        reporting=draw(st.sampled_from(["on_time", "on_time", "late", "concealed", "false"])),
        status=draw(st.sampled_from(["effective"] * 5 + ["revoked"])))


@st.composite
def penalties(draw: st.DrawFn, index: int, accident_ids: list[str]) -> dict[str, Any]:
    decided = draw(days)
    conduct = draw(st.none() | st.just(decided - timedelta(days=draw(st.integers(0, 90)))))
    return penalty(
        f"P{index:02d}", draw(st.sampled_from(SUBJECTS)), decided.isoformat(),
        tuple(draw(st.lists(st.sampled_from(VIOLATION_CODES), min_size=1, max_size=3,
                            unique=True))),
        accident_id=draw(st.none() | st.sampled_from(accident_ids)) if accident_ids else None,
        conduct_on=conduct.isoformat() if conduct else None,
        fine_multiple=draw(st.sampled_from([None, None, 2.0, 3.5])),
        serious=draw(st.booleans()),
        status=draw(st.sampled_from(["effective"] * 5 + ["revoked"])))


@st.composite
def record_sets(draw: st.DrawFn, max_accidents: int = 6,
                max_penalties: int = 6) -> list[dict[str, Any]]:
    found = [draw(accidents(i)) for i in range(draw(st.integers(0, max_accidents)))]
    ids = [a["record_id"] for a in found]
    found += [draw(penalties(i, ids)) for i in range(draw(st.integers(0, max_penalties)))]
    return found


as_of_days = st.sampled_from([date(2016, 12, 31), date(2018, 6, 30), date(2023, 12, 31),
                              date(2025, 6, 30)])
