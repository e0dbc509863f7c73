"""Chinese words for the engine's codes: effects, statuses, reasons, events, record fields,
and the activities, rules and lists of the loaded packs."""

from __future__ import annotations

from typing import Any

from web.context import catalog, packs

# effect → (css tone, headline, what it means for the activity)
EFFECTS: dict[str, tuple[str, str, str]] = {
    "prohibited": ("red", "不得参与", "该主体在核查日处于失信名单有效期内，依规不得参与此项活动。"),
    "restricted": ("red-amber", "不得参与（除非实施部门另有决定）",
                   "该主体在核查日处于失信名单有效期内，原则上不得参与；实施部门可依其规定另行决定。"),
    "heightened_supervision": ("amber", "可以参与 · 列为重点监管对象",
                               "不构成参与限制，但应提高检查频次、加强监管。"),
    "reference": ("amber", "可以参与 · 须参考失信记录", "不构成参与限制，但须将失信记录作为重要参考。"),
    "none": ("green", "可以参与", "核查日无在效的失信名单记录。"),
}
EFFECT_NAMES = {"prohibited": "禁止", "restricted": "限制", "heightened_supervision": "重点监管",
                "reference": "参考", "none": "无"}

CASE_STATUSES = {"proposed": "待告知", "notified": "已告知 · 陈述申辩期", "decided": "已决定列入",
                 "rejected": "不予列入", "withdrawn": "已撤回", "lapsed": "已过时效"}
LISTING_STATUSES = {"in_force": "在效", "pending": "尚未生效", "expired": "已期满移出",
                    "removed_early": "已提前移出", "withdrawn": "已撤销（自始无效）"}
EVENTS = {"listed": "列入", "removed_early": "提前移出", "withdrawn": "撤销列入", "restored": "恢复列入",
          "expired": "期满移出", "corrected": "更正", "early_removal_refused": "提前移出申请未获批准"}
CHANGE_KINDS = {**EVENTS, "removed_early": "提前移出"}
REASONS = {"out_of_scope": "不适用", "no_effective_penalty": "无生效的行政处罚", "below_threshold": "未达数量标准",
           "outside_window": "不在统计期间内", "no_matching_record": "无符合条件的记录",
           "set_aside": "相关记录已被撤销", "no_pack": "行为发生时尚无适用的规定"}
TIERS = {"target": "联合惩戒对象", "blacklist": "黑名单"}
AUDIT = {"case.proposed": "引擎提出列入建议", "case.notified": "送达告知书", "case.decided": "决定列入",
         "case.rejected": "决定不予列入", "case.withdrawn": "撤回（证据不再成立）", "case.lapsed": "已过时效"}
RECORD_TYPES = {"accident": "生产安全事故", "penalty": "行政处罚"}
GRADES = {"general": "一般", "larger": "较大", "major": "重大", "especially_major": "特别重大"}
REPORTING = {"on_time": "按时报告", "late": "迟报", "concealed": "瞒报", "false": "谎报"}
VIOLATIONS = {
    "accident.liability": "对生产安全事故负有责任", "accident.concealed": "瞒报事故",
    "accident.false_report": "谎报事故", "accident.late_report": "迟报事故",
    "accident.no_rescue_or_fled": "不立即组织抢救或逃匿", "accident.scene_destroyed": "破坏事故现场、毁灭证据",
    "permit.none": "未依法取得安全生产许可", "permit.suspended_or_revoked": "许可被暂扣或吊销期间生产经营",
    "agency.qualification_abuse": "出借资质", "agency.false_report": "出具虚假报告",
    "penalty.refused_execution": "拒不执行处罚", "hazard.major_unrectified": "重大事故隐患未整改",
    "hazard.occupational_over_limit": "职业病危害严重超标", "order.suspension_ignored": "拒不执行停产停业指令",
    "supervision.evaded": "拒绝、阻碍监督检查", "facilities.not_accepted": "安全设施未经验收即投入使用",
    "mining.beyond_boundary": "越界开采", "other": "其他",
}
RECORD_FIELDS = {
    "occurred_on": "发生日期", "deaths": "死亡人数", "serious_injuries": "重伤人数",
    "direct_loss_cny": "直接经济损失（元）", "grade": "事故等级", "liability": "责任事故",
    "reporting": "报告情况", "report_approved_on": "调查报告批复日期", "document_no": "处罚决定书文号",
    "authority": "处罚机关", "decided_on": "处罚决定日期", "conduct_on": "违法行为日期",
    "accident_id": "关联事故", "violations": "违法行为", "fine_cny": "罚款（元）",
    "fine_multiple": "罚款倍数", "serious": "情节严重", "executed": "处罚已履行",
}


def activities() -> list[tuple[str, str]]:
    """`(domain, activity name)` for every domain of the catalogue, in its order."""
    names: dict[str, str] = {}
    for pack in packs():
        for measure in pack.measures:
            names.setdefault(measure.domain, measure.activity)
    out = []
    for domain in catalog().domains():
        if domain not in names:
            for pack in packs():
                found = catalog().measure(pack.id, domain)
                if found is not None:
                    names[domain] = found.activity
                    break
        out.append((domain, names.get(domain, domain)))
    return out


def activity(domain: str) -> str:
    return dict(activities()).get(domain, domain)


def rule_title(rule_id: str | None) -> str:
    for pack in packs():
        for rule in pack.rules:
            if rule.id == rule_id:
                return str(rule.title)
    return ""


def list_name(code: str | None) -> str:
    for pack in packs():
        if pack.list_code == code:
            return str(pack.list_name)
    return code or ""


def pack_document(pack_id: str | None) -> str:
    for pack in packs():
        if pack.id == pack_id:
            return str(pack.document)
    return pack_id or ""


def value(name: str, raw: Any) -> str:
    """One record field shown to a person."""
    if raw is None or raw == "":
        return "—"
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if name == "grade":
        return GRADES.get(str(raw), str(raw))
    if name == "reporting":
        return REPORTING.get(str(raw), str(raw))
    if name == "violations" and isinstance(raw, list):
        return "；".join(VIOLATIONS.get(str(v), str(v)) for v in raw)
    if name == "authority" and isinstance(raw, dict):
        return str(raw.get("name") or raw.get("region") or "—")
    if isinstance(raw, int) and name.endswith("_cny"):
        return f"{raw:,}"
    return str(raw)


def mask_name(name: str) -> str:
    """A person's name on the public page: the surname and one mark per other character."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def filters() -> dict[str, Any]:
    """Jinja filters and globals for the templates."""
    return {
        "case_status": lambda s: CASE_STATUSES.get(s, s), "listing_status": lambda s: LISTING_STATUSES.get(s, s),
        "event_kind": lambda s: EVENTS.get(s, s), "reason": lambda s: REASONS.get(s, s),
        "tier": lambda s: TIERS.get(s, s or "—") if s else "—", "effect_name": lambda s: EFFECT_NAMES.get(s, s),
        "audit_action": lambda s: AUDIT.get(s, s), "record_type": lambda s: RECORD_TYPES.get(s, s),
        "list_name": list_name, "rule_title": rule_title, "activity": activity, "pack_document": pack_document,
        "field_label": lambda s: RECORD_FIELDS.get(s, s), "field_value": value, "mask_name": mask_name,
        "change_kind": lambda s: CHANGE_KINDS.get(s, s),
    }
