"""The golden table: for each rule, a case that fires it and the nearest that must not.

Each case names the subject it checks, the exact set of rules that fire for it, and the
reason expected for chosen rules that do not. The comment cites the article.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules_factories import accident, agency, main_person, penalty, person, unit

U = unit(1, "甲化工有限公司", "chemicals")
U_UNKNOWN = unit(2, "乙机械有限公司", None)
U_BUILD = unit(3, "丁建筑工程有限公司", "construction")
U_MAIN = unit(4, "戊矿业有限公司", "mining", main=main_person("王某"))
CONTRACTOR = unit(5, "己检修有限公司", "machinery")
AG = agency(90, "丙安全评价有限公司")
P = person("李某", "610402********9465")

MEM = "2025-06-30"
AJ = "2023-12-31"
AW = "2017-12-31"


@dataclass(frozen=True)
class Case:
    id: str
    cite: str
    records: list[dict[str, Any]]
    fires: frozenset[str]
    reasons: dict[str | None, str] = field(default_factory=dict)
    as_of: str = MEM
    subject: str | None = None
    prior: dict[str, int] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)  # rule -> {proposal field: value}


def case(id: str, cite: str, records: list[dict[str, Any]], fires: set[str] | frozenset[str],
         **kw: Any) -> Case:
    return Case(id, cite, records, frozenset(fires), **kw)


def major(rid: str = "ACC-1", on: str = "2024-05-06", subject: dict[str, Any] = U,
          deaths: int = 10, **kw: Any) -> dict[str, Any]:
    return accident(rid, subject, on, deaths, **kw)


def pen(rid: str = "PEN-1", on: str = "2024-09-20", subject: dict[str, Any] = U,
        violations: tuple[str, ...] = ("accident.liability",), **kw: Any) -> dict[str, Any]:
    return penalty(rid, subject, on, violations, **kw)


CASES: list[Case] = [
    # --- cn-2023-mem11 (应急管理部令第11号) -----------------------------------------
    # Art 5(1): a major liability accident with a penalty naming it lists the unit.
    case("mem11.a1 fires: 10 deaths, penalised", "mem11 Art 5(1)",
         [major(), pen(accident_id="ACC-1")], {"mem11.a1"},
         reasons={"mem11.a2": "below_threshold", "mem11.a5": "out_of_scope",
                  "mem11.b2": "out_of_scope", "mem11.b1": "no_matching_record"},
         expect={"mem11.a1": {"evidence": ["ACC-1", "PEN-1"], "period_start": "2024-09-20",
                              "period_end": "2027-09-19", "early_removal_from": "2025-09-20",
                              "scope_unconfirmed": False, "tier": None,
                              "list": "serious_untrustworthy"}}),
    # Art 5(1): "重大以上" includes especially major (30 deaths).
    case("mem11.a1 fires: especially major", "mem11 Art 5(1); 493号令 Art 3",
         [major(deaths=30), pen(accident_id="ACC-1")], {"mem11.a1"}),
    # Art 5(1): a death fewer (9) is a larger accident only.
    case("mem11.a1 not: 9 deaths is larger", "mem11 Art 5(1); 493号令 Art 3",
         [major(deaths=9), pen(accident_id="ACC-1")], set(),
         reasons={"mem11.a1": "below_threshold", "mem11.a2": "below_threshold"}),
    # Art 3-4: no penalty, no listing.
    case("mem11.a1 not: no penalty", "mem11 Art 3-4, Art 5(1)",
         [major()], set(), reasons={"mem11.a1": "no_effective_penalty",
                                    "mem11.b4": "no_effective_penalty"}),
    # Art 3-4 / §9: a revoked penalty supports nothing.
    case("mem11.a1 not: penalty revoked", "mem11 Art 3-4; regulations §9",
         [major(), pen(accident_id="ACC-1", status="revoked")], set(),
         reasons={"mem11.a1": "no_effective_penalty"}),
    # Art 5(1): only a liability accident (责任事故) counts.
    case("mem11.a1 not: no liability", "mem11 Art 5(1)",
         [major(liability=False), pen(accident_id="ACC-1")], set(),
         reasons={"mem11.a1": "no_matching_record"}),
    # Art 2: construction is outside the sectors.
    case("mem11.a1 not: construction out of scope", "mem11 Art 2",
         [major(subject=U_BUILD), pen(subject=U_BUILD, accident_id="ACC-1")], set(),
         reasons={"mem11.a1": "out_of_scope", "mem11.b4": "out_of_scope"}),
    # Art 2 / §9: industry unknown is in scope, flagged scope_unconfirmed.
    case("mem11.a1 fires: industry unknown", "mem11 Art 2; regulations §9 Scope",
         [major(subject=U_UNKNOWN), pen(subject=U_UNKNOWN, accident_id="ACC-1")], {"mem11.a1"},
         expect={"mem11.a1": {"scope_unconfirmed": True}}),
    # §9: a penalty decided after as_of is set aside.
    case("mem11.a1 not: penalty after as_of", "mem11 Art 5(1); regulations §9",
         [major(), pen(on="2025-07-01", accident_id="ACC-1")], set(),
         reasons={"mem11.a1": "set_aside"}),
    # §1/§9: an accident of 2023-09-30 is aj49's; a mem11 penalty for other conduct makes
    # mem11 govern, and a1 names the other regime.
    case("mem11.a1 not: accident in aj49 dates", "regulations §1, §9 Which pack",
         [major(on="2023-09-30"), pen(accident_id="ACC-1", on="2024-02-01"),
          pen("PEN-2", on="2024-03-01", violations=("other",))],
         {"aj49.t1", "aj49.bl1"}, reasons={"mem11.a1": "no_matching_record"}),
    # §9: a liability accident counts for every subject a penalty naming it is against.
    case("mem11.a1 fires: contractor penalised for it", "mem11 Art 5(1); regulations §9",
         [major(), pen("PEN-9", subject=CONTRACTOR, accident_id="ACC-1")], {"mem11.a1"},
         subject=CONTRACTOR["key"], expect={"mem11.a1": {"evidence": ["ACC-1", "PEN-9"]}}),
    # Art 5(2): two larger accidents 2024-03-15 and 2025-03-14 are within 12 months.
    case("mem11.a2 fires: 12 months less a day", "mem11 Art 5(2); regulations §3",
         [accident("ACC-1", U, "2024-03-15", 3), accident("ACC-2", U, "2025-03-14", 4),
          pen(on="2025-04-01", accident_id="ACC-2")], {"mem11.a2"},
         expect={"mem11.a2": {"evidence": ["ACC-1", "ACC-2", "PEN-1"],
                              "period_start": "2025-04-01", "period_end": "2028-03-31"}}),
    # Art 5(2): a day later (2025-03-15) falls outside the window.
    case("mem11.a2 not: a day later", "mem11 Art 5(2); regulations §3",
         [accident("ACC-1", U, "2024-03-15", 3), accident("ACC-2", U, "2025-03-15", 4),
          pen(on="2025-04-01", accident_id="ACC-2")], set(),
         reasons={"mem11.a2": "outside_window"}),
    # regulations §3: from 2024-02-29 the bound is 2025-02-28 (clamped), so 02-27 is in...
    case("mem11.a2 fires: leap day, 2025-02-27", "mem11 Art 5(2); regulations §3",
         [accident("ACC-1", U, "2024-02-29", 3), accident("ACC-2", U, "2025-02-27", 3),
          pen(on="2025-03-01", accident_id="ACC-1")], {"mem11.a2"}),
    # ...and 2025-02-28 is not.
    case("mem11.a2 not: leap day, 2025-02-28", "mem11 Art 5(2); regulations §3",
         [accident("ACC-1", U, "2024-02-29", 3), accident("ACC-2", U, "2025-02-28", 3),
          pen(on="2025-03-01", accident_id="ACC-1")], set(),
         reasons={"mem11.a2": "outside_window"}),
    # Art 5(2): one larger accident is below the count of 2.
    case("mem11.a2 not: one larger accident", "mem11 Art 5(2)",
         [accident("ACC-1", U, "2024-03-15", 3), pen(accident_id="ACC-1")], set(),
         reasons={"mem11.a2": "below_threshold", "mem11.a1": "below_threshold"}),
    # Art 5(2): a larger and a general accident are one short.
    case("mem11.a2 not: second accident general", "mem11 Art 5(2); 493号令 Art 3",
         [accident("ACC-1", U, "2024-03-15", 3), accident("ACC-2", U, "2024-06-15", 2),
          pen(accident_id="ACC-1")], set(), reasons={"mem11.a2": "below_threshold"}),
    # Art 3-4 with Art 5(2): two larger accidents but no penalty naming either.
    case("mem11.a2 not: no penalty names them", "mem11 Art 3-4, Art 5(2)",
         [accident("ACC-1", U, "2024-03-15", 3), accident("ACC-2", U, "2024-06-15", 3),
          pen(violations=("other",))], set(), reasons={"mem11.a2": "no_effective_penalty"}),
    # §9 Which pack: an accident of 2023-09-15 does not count towards a mem11 window.
    case("mem11.a2 not: first accident under aj49", "mem11 Art 5(2); regulations §9",
         [accident("ACC-1", U, "2023-09-15", 3), accident("ACC-2", U, "2024-03-01", 3),
          pen(on="2024-05-01", accident_id="ACC-2")], {"aj49.t1"},
         reasons={"mem11.a2": "no_matching_record"}),
    # §9: a revoked accident supports nothing.
    case("mem11.a2 not: second accident revoked", "mem11 Art 5(2); regulations §9",
         [accident("ACC-1", U, "2024-03-15", 3),
          accident("ACC-2", U, "2024-06-15", 3, status="revoked"),
          pen(accident_id="ACC-1")], set(), reasons={"mem11.a2": "no_matching_record"}),
    # Art 5(3): a fine of 2 times the base under Work Safety Law Art 114 para 2.
    case("mem11.a3 fires: fine multiple 2", "mem11 Art 5(3); 安全生产法 Art 114",
         [pen(violations=("accident.liability",), fine_multiple=2.0)], {"mem11.a3"}),
    # Art 5(3): no raised fine.
    case("mem11.a3 not: no fine multiple", "mem11 Art 5(3)",
         [pen()], set(), reasons={"mem11.a3": "no_matching_record"}),
    # Art 3-4: the raised fine was revoked.
    case("mem11.a3 not: revoked", "mem11 Art 3-4, Art 5(3)",
         [pen(fine_multiple=2.5, status="revoked")], set(),
         reasons={"mem11.a3": "no_effective_penalty"}),
    # §9: decided after as_of.
    case("mem11.a3 not: after as_of", "mem11 Art 5(3); regulations §9",
         [pen(on="2025-07-01", fine_multiple=3.0), pen("PEN-0", on="2024-01-05")], set(),
         reasons={"mem11.a3": "set_aside"}),
    # Art 5(4): concealing an accident.
    case("mem11.a4 fires: concealed", "mem11 Art 5(4)",
         [pen(violations=("accident.concealed",))], {"mem11.a4"}),
    # Art 5(4): a penalty naming an accident reported falsely (谎报).
    case("mem11.a4 fires: accident reported false", "mem11 Art 5(4)",
         [accident("ACC-1", U, "2024-03-15", 1, reporting="false"),
          pen(accident_id="ACC-1")], {"mem11.a4"}),
    # Art 5(4): late reporting (迟报) is not a trigger here.
    case("mem11.a4 not: late report", "mem11 Art 5(4)",
         [accident("ACC-1", U, "2024-03-15", 1, reporting="late"),
          pen(accident_id="ACC-1", violations=("accident.late_report",))], set(),
         reasons={"mem11.a4": "no_matching_record"}),
    # Art 5(4): the responsible persons penalised personally.
    case("mem11.a4 fires: person penalised", "mem11 Art 5(4); regulations §9",
         [pen(subject=P, violations=("accident.concealed",))], {"mem11.a4"}),
    # Art 5(5): the main person fled.
    case("mem11.a5 fires: person fled", "mem11 Art 5(5)",
         [pen(subject=P, violations=("accident.no_rescue_or_fled",))], {"mem11.a5"},
         reasons={"mem11.b2": "no_matching_record"}),
    # Art 5(5): it lists the main person, never the unit.
    case("mem11.a5 not: unit", "mem11 Art 5(5)",
         [pen(violations=("accident.no_rescue_or_fled",))], set(),
         reasons={"mem11.a5": "out_of_scope"}),
    # Art 6(1): no permit.
    case("mem11.b1 fires: no permit", "mem11 Art 6(1)",
         [pen(violations=("permit.none",))], {"mem11.b1"}),
    # Art 6(1): operating while the permit is suspended.
    case("mem11.b1 fires: permit suspended", "mem11 Art 6(1)",
         [pen(violations=("permit.suspended_or_revoked",))], {"mem11.b1"}),
    # Art 3-4, 6(1): revoked penalty.
    case("mem11.b1 not: revoked", "mem11 Art 3-4, Art 6(1)",
         [pen(violations=("permit.none",), status="revoked")], set(),
         reasons={"mem11.b1": "no_effective_penalty"}),
    # Art 2, 6(1): construction out of scope.
    case("mem11.b1 not: out of scope", "mem11 Art 2, Art 6(1)",
         [pen(subject=U_BUILD, violations=("permit.none",))], set(),
         reasons={"mem11.b1": "out_of_scope"}),
    # §1: conduct on 2023-09-30 is judged under aj49 (t2), not mem11.
    case("mem11.b1 not: conduct a day before mem11", "regulations §1, §9 Which pack",
         [pen(on="2023-11-01", conduct_on="2023-09-30", violations=("permit.none",))],
         {"aj49.t2"}, as_of="2024-01-31"),
    # §1: conduct on 2023-10-01 is mem11's.
    case("mem11.b1 fires: conduct on 2023-10-01", "regulations §1; mem11 Art 6(1)",
         [pen(on="2023-11-01", conduct_on="2023-10-01", violations=("permit.none",))],
         {"mem11.b1"}, as_of="2024-01-31"),
    # Art 6(2): an agency lends its qualification.
    case("mem11.b2 fires: agency", "mem11 Art 6(2)",
         [pen(subject=AG, violations=("agency.qualification_abuse",))], {"mem11.b2"},
         expect={"mem11.b2": {"scope_unconfirmed": False}}),
    # Art 6(2): its directly responsible person.
    case("mem11.b2 fires: agency staff", "mem11 Art 6(2)",
         [pen(subject=P, violations=("agency.false_report",))], {"mem11.b2"}),
    # Art 6(2): a unit is not an agency.
    case("mem11.b2 not: unit", "mem11 Art 6(2)",
         [pen(violations=("agency.false_report",))], set(),
         reasons={"mem11.b2": "out_of_scope"}),
    # Art 6(3): refusing to execute a penalty.
    case("mem11.b3 fires", "mem11 Art 6(3)",
         [pen(violations=("penalty.refused_execution",))], {"mem11.b3"}),
    # Art 6(3): nothing refused.
    case("mem11.b3 not", "mem11 Art 6(3)",
         [pen(violations=("other",))], set(), reasons={"mem11.b3": "no_matching_record"}),
    # Art 6(4): the department marked it serious.
    case("mem11.b4 fires", "mem11 Art 6(4)",
         [pen(violations=("other",), serious=True)], {"mem11.b4"}),
    # Art 6(4): not marked serious.
    case("mem11.b4 not", "mem11 Art 6(4)",
         [pen(violations=("other",))], set(), reasons={"mem11.b4": "no_matching_record"}),
    # §9: a person penalty naming an accident of a construction unit follows that unit.
    case("mem11 person follows unit out of scope", "mem11 Art 2; regulations §9 Scope",
         [major(subject=U_BUILD), pen("PEN-7", subject=P, accident_id="ACC-1", serious=True)],
         set(), subject=P["key"], reasons={"mem11.a1": "out_of_scope", "mem11.b1": "out_of_scope",
                                           "mem11.b2": "out_of_scope", "mem11.b4": "out_of_scope"}),
    # §9: a person penalty naming no accident is in scope.
    case("mem11 person without accident in scope", "mem11 Art 6(4); regulations §9 Scope",
         [pen("PEN-7", subject=P, serious=True)], {"mem11.b4"}),
    # §9 Who is proposed: the main person gets the unit's a1, same evidence and period.
    case("mem11 main person listed with a1", "mem11 Art 5(1); regulations §9",
         [major(subject=U_MAIN), pen(subject=U_MAIN, accident_id="ACC-1")], {"mem11.a1"},
         subject=main_person("王某")["key"],
         expect={"mem11.a1": {"evidence": ["ACC-1", "PEN-1"], "period_end": "2027-09-19"}}),
    # Art 5(4): a4 does not list the main person.
    case("mem11 main person not listed for a4", "mem11 Art 5(4)",
         [pen(subject=U_MAIN, violations=("accident.concealed",))], {"mem11.a4"},
         subject=U_MAIN["key"]),
    # --- cn-2017-aj49 (安监总办〔2017〕49号) ----------------------------------------
    # Art 2(1): a larger liability accident; no penalty needed.
    case("aj49.t1 fires: larger accident", "aj49 Art 2(1)",
         [accident("ACC-1", U, "2020-06-01", 3)], {"aj49.t1"}, as_of=AJ,
         reasons={"aj49.bl1": "below_threshold", "aj49.bl2": "below_threshold",
                  "aj49.bl3": "no_matching_record"},
         expect={"aj49.t1": {"tier": "target", "list": "joint_punishment",
                             "period_end": "2021-05-31", "early_removal_from": None}}),
    # Art 2(1): a death fewer: a general accident.
    case("aj49.t1 not: 2 deaths", "aj49 Art 2(1)",
         [accident("ACC-1", U, "2020-06-01", 2)], set(), as_of=AJ,
         reasons={"aj49.t1": "below_threshold"}),
    # Art 2(1): three general accidents with deaths within a year.
    case("aj49.t1 fires: 3 fatal accidents", "aj49 Art 2(1)",
         [accident("ACC-1", U, "2020-01-10", 1), accident("ACC-2", U, "2020-05-10", 1),
          accident("ACC-3", U, "2021-01-09", 2)], {"aj49.t1"}, as_of=AJ,
         expect={"aj49.t1": {"evidence": ["ACC-1", "ACC-2", "ACC-3"]}}),
    # Art 2(1): the third a day too late.
    case("aj49.t1 not: third a day late", "aj49 Art 2(1); regulations §3",
         [accident("ACC-1", U, "2020-01-10", 1), accident("ACC-2", U, "2020-05-10", 1),
          accident("ACC-3", U, "2021-01-10", 2)], set(), as_of=AJ,
         reasons={"aj49.t1": "outside_window"}),
    # Art 2(1): one of the three caused no death.
    case("aj49.t1 not: one without deaths", "aj49 Art 2(1)",
         [accident("ACC-1", U, "2020-01-10", 1), accident("ACC-2", U, "2020-05-10", 0, 1),
          accident("ACC-3", U, "2020-09-10", 2)], set(), as_of=AJ,
         reasons={"aj49.t1": "below_threshold"}),
    # Art 2(2): no permit.
    case("aj49.t2 fires", "aj49 Art 2(2)",
         [pen(on="2019-03-01", violations=("permit.none",))], {"aj49.t2"}, as_of=AJ),
    # Art 2(2): a suspended permit is not t2.
    case("aj49.t2 not: suspended", "aj49 Art 2(2)",
         [pen(on="2019-03-01", violations=("permit.suspended_or_revoked",))], set(), as_of=AJ,
         reasons={"aj49.t2": "no_matching_record"}),
    # Art 2(2): revoked.
    case("aj49.t2 not: revoked", "aj49 Art 2(2); regulations §9",
         [pen(on="2019-03-01", violations=("permit.none",), status="revoked")], set(),
         as_of=AJ, reasons={"aj49.t2": "no_effective_penalty"}),
    # Art 2(3): hazard not rectified.
    case("aj49.t3 fires", "aj49 Art 2(3)",
         [pen(on="2019-03-01", violations=("hazard.occupational_over_limit",))], {"aj49.t3"},
         as_of=AJ),
    # Art 2(4): evading supervision.
    case("aj49.t4 fires", "aj49 Art 2(4)",
         [pen(on="2019-03-01", violations=("supervision.evaded",))], {"aj49.t4"}, as_of=AJ),
    # Art 2(5): ignoring a suspension order.
    case("aj49.t5 fires", "aj49 Art 2(5)",
         [pen(on="2019-03-01", violations=("order.suspension_ignored",))], {"aj49.t5"},
         as_of=AJ),
    # Art 2(6): late reporting is a trigger under aj49; an accident record is enough.
    case("aj49.t6 fires: accident reported late", "aj49 Art 2(6)",
         [accident("ACC-1", U, "2020-06-01", 1, reporting="late")], {"aj49.t6"}, as_of=AJ),
    # Art 2(6): a penalty for late reporting.
    case("aj49.t6 fires: penalty late_report", "aj49 Art 2(6)",
         [pen(on="2019-03-01", violations=("accident.late_report",))], {"aj49.t6"}, as_of=AJ),
    # Art 2(6): on-time reporting.
    case("aj49.t6 not: on time", "aj49 Art 2(6)",
         [accident("ACC-1", U, "2020-06-01", 1)], set(), as_of=AJ,
         reasons={"aj49.t6": "no_matching_record"}),
    # Art 2(7): facilities not accepted.
    case("aj49.t7 fires", "aj49 Art 2(7)",
         [pen(on="2019-03-01", violations=("facilities.not_accepted",))], {"aj49.t7"},
         as_of=AJ),
    # Art 2(8): mining beyond the boundary.
    case("aj49.t8 fires", "aj49 Art 2(8)",
         [pen(on="2019-03-01", violations=("mining.beyond_boundary",))], {"aj49.t8"},
         as_of=AJ),
    # Art 2(9): scene destroyed.
    case("aj49.t9 fires", "aj49 Art 2(9)",
         [pen(on="2019-03-01", violations=("accident.scene_destroyed",))], {"aj49.t9"},
         as_of=AJ),
    # Art 2(10): an agency's false report.
    case("aj49.t10 fires", "aj49 Art 2(10)",
         [pen(on="2019-03-01", subject=AG, violations=("agency.false_report",))],
         {"aj49.t10"}, as_of=AJ),
    # Art 2: persons get no aj49 proposal.
    case("aj49 not: person", "aj49 Art 2; regulations §9 Scope",
         [pen(on="2019-03-01", subject=P, violations=("permit.none",))], set(), as_of=AJ,
         reasons={"aj49.t2": "out_of_scope"}),
    # Art 2: all units, construction included.
    case("aj49.t2 fires: construction unit", "aj49 Art 2",
         [pen(on="2019-03-01", subject=U_BUILD, violations=("permit.none",))], {"aj49.t2"},
         as_of=AJ),
    # Art 3: a major liability accident: blacklist tier.
    case("aj49.bl1 fires", "aj49 Art 3",
         [major(on="2019-03-21")], {"aj49.t1", "aj49.bl1"}, as_of=AJ,
         expect={"aj49.bl1": {"tier": "blacklist"}}),
    # Art 3: two larger liability accidents within a year.
    case("aj49.bl2 fires", "aj49 Art 3",
         [accident("ACC-1", U, "2020-01-10", 3), accident("ACC-2", U, "2021-01-09", 4)],
         {"aj49.t1", "aj49.bl2"}, as_of=AJ),
    # Art 3: a day too late.
    case("aj49.bl2 not: a day late", "aj49 Art 3; regulations §3",
         [accident("ACC-1", U, "2020-01-10", 3), accident("ACC-2", U, "2021-01-10", 4)],
         {"aj49.t1"}, as_of=AJ, reasons={"aj49.bl2": "outside_window"}),
    # Art 3: a larger accident marked especially bad by its penalty.
    case("aj49.bl3 fires", "aj49 Art 3",
         [accident("ACC-1", U, "2020-06-01", 3),
          pen(on="2020-09-01", accident_id="ACC-1", serious=True)],
         {"aj49.t1", "aj49.bl3"}, as_of=AJ),
    # Art 3: not marked serious.
    case("aj49.bl3 not: not serious", "aj49 Art 3",
         [accident("ACC-1", U, "2020-06-01", 3), pen(on="2020-09-01", accident_id="ACC-1")],
         {"aj49.t1"}, as_of=AJ, reasons={"aj49.bl3": "no_matching_record"}),
    # §9 Which pack: a penalty naming a 2023-09-15 accident is judged in aj49.
    case("aj49 penalty follows its accident's regime", "regulations §9 Which pack",
         [accident("ACC-1", U, "2023-09-15", 1),
          pen(on="2023-12-01", conduct_on="2023-10-05", accident_id="ACC-1",
              violations=("permit.none",))], {"aj49.t2"}, as_of=AJ),
    # --- cn-2015-aw14 (安委办〔2015〕14号) -----------------------------------------
    # c1: a major liability accident; period 1 year.
    case("aw14.c1 fires: major", "aw14 (1)",
         [major(on="2016-03-01")], {"aw14.c1"}, as_of=AW,
         expect={"aw14.c1": {"list": "blacklist", "period_end": "2017-02-28", "tier": None}}),
    # c1: 4 + 6 deaths within a year reach 10.
    case("aw14.c1 fires: deaths sum 10", "aw14 (1)",
         [accident("ACC-1", U, "2016-01-01", 4), accident("ACC-2", U, "2016-12-31", 6)],
         {"aw14.c1"}, as_of=AW),
    # c1: a death fewer (9).
    case("aw14.c1 not: deaths sum 9", "aw14 (1)",
         [accident("ACC-1", U, "2016-01-01", 4), accident("ACC-2", U, "2016-12-31", 5)],
         set(), as_of=AW, reasons={"aw14.c1": "below_threshold"}),
    # c1: a day later than 12 months.
    case("aw14.c1 not: a day late", "aw14 (1); regulations §3",
         [accident("ACC-1", U, "2016-01-01", 4), accident("ACC-2", U, "2017-01-01", 6)],
         set(), as_of=AW, reasons={"aw14.c1": "outside_window"}),
    # c1: second listing: 3 years.
    case("aw14.c1 second listing: 3 years", "aw14 (period)",
         [major(on="2016-03-01")], {"aw14.c1"}, as_of=AW, prior={U["key"]: 1},
         expect={"aw14.c1": {"period_end": "2019-02-28"}}),
    # c2: concealment.
    case("aw14.c2 fires: concealed", "aw14 (2)",
         [pen(on="2016-05-01", violations=("accident.concealed",))], {"aw14.c2"}, as_of=AW),
    # c2: an accident reported falsely.
    case("aw14.c2 fires: reported false", "aw14 (2)",
         [accident("ACC-1", U, "2016-05-01", 0, 1, reporting="false")], {"aw14.c2"}, as_of=AW),
    # c2: late reporting is not c2.
    case("aw14.c2 not: late", "aw14 (2)",
         [accident("ACC-1", U, "2016-05-01", 0, 1, reporting="late")], set(), as_of=AW,
         reasons={"aw14.c2": "no_matching_record"}),
    # c3: hazard.
    case("aw14.c3 fires", "aw14 (3)",
         [pen(on="2016-05-01", violations=("hazard.major_unrectified",))], {"aw14.c3"},
         as_of=AW),
    # c4: permit suspended or revoked.
    case("aw14.c4 fires", "aw14 (4)",
         [pen(on="2016-05-01", violations=("permit.suspended_or_revoked",))], {"aw14.c4"},
         as_of=AW),
    # c4: no permit at all is not c4.
    case("aw14.c4 not: permit.none", "aw14 (4)",
         [pen(on="2016-05-01", violations=("permit.none",))], set(), as_of=AW,
         reasons={"aw14.c4": "no_matching_record"}),
    # c5: serious.
    case("aw14.c5 fires", "aw14 (5)",
         [pen(on="2016-05-01", serious=True)], {"aw14.c5"}, as_of=AW),
    # §1: 2017-05-08 is still aw14...
    case("aw14 last day 2017-05-08", "regulations §1",
         [pen(on="2017-05-08", serious=True)], {"aw14.c5"}, as_of=AW),
    # ...2017-05-09 is aj49's.
    case("aj49 first day 2017-05-09", "regulations §1",
         [pen(on="2017-05-09", violations=("permit.none",), serious=True),
          pen("PEN-0", on="2016-01-01")], {"aj49.t2"},
         as_of=AW, reasons={"aw14.c5": "no_matching_record"}),
    # §1: conduct before 2015-07-29 is out of every pack.
    case("no pack before 2015-07-29", "regulations §1",
         [major(on="2015-07-28")], set(), as_of=AW, reasons={None: "no_pack"}),
    # §1: 2015-07-29 is aw14's first day.
    case("aw14 first day 2015-07-29", "regulations §1; aw14 (1)",
         [major(on="2015-07-29")], {"aw14.c1"}, as_of=AW),
    # aw14 applies to units and agencies only.
    case("aw14 not: person", "aw14; regulations §9 Scope",
         [pen(on="2016-05-01", subject=P, serious=True)], set(), as_of=AW,
         reasons={"aw14.c5": "out_of_scope"}),
]
