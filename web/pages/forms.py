"""Form handling: the API's marshmallow schemas read the form, and every message lands next
to its field in Chinese; domain errors become messages on the page."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from marshmallow import Schema, ValidationError

from blacklist.errors import DomainError
from blacklist.identifiers import InvalidIdentifierError, normalize_uscc

_MESSAGES = {
    "Missing data for required field.": "必填",
    "Not a valid date.": "请填写有效日期（年-月-日）",
    "Not a valid boolean.": "请选择是或否",
    "Field may not be null.": "必填",
    "Not a valid string.": "请填写文字",
    "Unknown field.": "未知字段",
}


@dataclass
class FormResult:
    """What a submitted form said: clean values, field errors and page-level messages."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.messages

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _chinese(message: str) -> str:
    if message in _MESSAGES:
        return _MESSAGES[message]
    if message.startswith("Must be one of"):
        return "请选择一项"
    if message.startswith("Length must be between") or message.startswith("Shorter than") or \
            message.startswith("Longer than"):
        numbers = re.findall(r"\d+", message)
        return f"长度应在 {numbers[0]}–{numbers[-1]} 之间" if len(numbers) >= 2 else "长度不符合要求"
    if re.match(r"^\d{4}-\d{2}-\d{2} is after today", message):
        return f"不能晚于今天（{message.split('(')[-1].rstrip(')')}）"
    if "needs the written decision's document_no" in message:
        return "决定列入须填写决定书文号"
    if "before served_on" in message:
        return f"不能早于告知书送达日（{message.rsplit(' ', 1)[-1]}）"
    if "is before applied_on" in message:
        return f"不能早于申请日（{message.rsplit(' ', 1)[-1]}）"
    return message


def read_form(schema: Schema, form: Mapping[str, Any], booleans: tuple[str, ...] = ()) -> FormResult:
    """Load form fields with `schema`; blanks count as missing, unticked boxes as false."""
    data: dict[str, Any] = {k: v.strip() for k, v in form.items() if isinstance(v, str) and v.strip()}
    data.pop("csrf_token", None)
    for name in booleans:
        data[name] = name in form
    data = {k: v for k, v in data.items() if k in schema.fields}
    result = FormResult(values=dict(data))
    try:
        result.values = schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        for name, items in messages.items():
            for item in items if isinstance(items, list) else [items]:
                result.add(str(name), _chinese(str(item)))
    return result


def apply_domain_error(result: FormResult, exc: DomainError, fields: tuple[str, ...]) -> None:
    """Field errors go next to their fields; everything else is a message at the top."""
    placed = False
    if isinstance(exc.errors, dict):
        for name, items in exc.errors.items():
            if name in fields:
                for item in items if isinstance(items, list) else [items]:
                    result.add(name, _chinese(str(item)))
                placed = True
            else:
                for item in items if isinstance(items, list) else [items]:
                    result.messages.append(_chinese(str(item)))
    if not placed:
        result.messages.insert(0, explain(exc))


def explain(exc: DomainError) -> str:
    """A domain error in plain Chinese, keeping the facts (dates, numbers) it carries."""
    text = str(exc)
    extra = exc.extra
    match = re.match(r"the statement period runs until (\S+);", text)
    if match:
        return (f"陈述申辩期至 {match.group(1)} 止{'（暂定）' if extra.get('provisional') else ''}；"
                f"除当事人放弃或已陈述申辩外，最早可于 {_next_day(match.group(1))} 作出列入决定。")
    if "must be notified before a decision to list" in text:
        return "作出列入决定前，须先向当事人送达告知书。"
    if "was already decided" in text:
        return "该案件已作出决定，不能再次决定。"
    if "notice can be served only on a proposed case" in text:
        return "只有“待告知”的案件才能登记送达告知书。"
    if "was decided by someone else" in text:
        return "该案件刚刚被他人作出决定，请刷新后查看。"
    match = re.match(r"early removal may be asked for from (\S+);", text)
    if match:
        return f"提前移出最早可于 {match.group(1)} 申请；本次申请日期早于该日。"
    if "allows no early removal" in text:
        return "该名单规定不得提前移出，期满自动移出。"
    if "was already removed early" in text:
        return "该名单已提前移出。"
    if "was withdrawn" in text:
        return "该名单已撤销。"
    if "is not in force on" in text:
        return "该名单在决定日不在有效期内。"
    if "nothing to restore" in text:
        return "该名单未被提前移出，无需恢复。"
    if text.startswith("early removal refused:"):
        return "不符合提前移出条件：" + "；".join(_condition(c) for c in extra.get("conditions", [])) + \
            f"（{text.split(':', 1)[1].strip()}）"
    return text


def _condition(code: str) -> str:
    return {"penalty_not_performed": "行政处罚尚未履行完毕",
            "new_trigger": "列入后又发生了新的失信行为"}.get(code, code)


def _next_day(iso: str) -> str:
    try:
        return (dt.date.fromisoformat(iso) + dt.timedelta(days=1)).isoformat()
    except ValueError:
        return iso


_USCC_ALPHABET = set("0123456789ABCDEFGHJKLMNPQRTUWXY")


def uscc_message(raw: str, exc: InvalidIdentifierError) -> str:
    """Why a unified social credit code is malformed, in Chinese."""
    code = normalize_uscc(raw)
    if exc.code == "length":
        return f"统一社会信用代码应为 18 位，实际为 {len(code)} 位"
    if exc.code == "character":
        for position, char in enumerate(code, start=1):
            if char not in _USCC_ALPHABET:
                return f"第 {position} 位“{char}”不是允许的字符（不使用 I、O、Z、S、V）"
    if exc.code == "region":
        return "第 3–8 位（登记管理机关行政区划码）应为数字"
    if exc.code == "check_character":
        expected = re.search(r"expected '(.)'", exc.message)
        return f"校验码不符：第 18 位应为“{expected.group(1)}”" if expected else "校验码不符"
    return "统一社会信用代码格式有误"
