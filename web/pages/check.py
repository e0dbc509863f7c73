"""The check page (`/`), sign-in, the printable receipt and its public verification."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import segno
from flask import redirect, request, url_for
from markupsafe import Markup

from blacklist.eligibility import EligibilityService
from blacklist.errors import InvalidInputError
from blacklist.identifiers import InvalidIdentifierError, normalize_uscc, validate_uscc
from blacklist.receipts import verify
from blacklist.search import search_names
from blacklist.tokens import find_token
from web.checks import check_one, decode_receipt, encode_receipt
from web.context import catalog, db, services, signer
from web.pages.base import bp, page_user, render, require_role, sign_in, sign_out
from web.pages.forms import FormResult, uscc_message
from web.pages.labels import activities

_CODE_LIKE = re.compile(r"[0-9A-Z]{10,24}")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("pages.check")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with an API token; the session cookie remembers the token's id, never the token."""
    form = FormResult()
    next_url = request.values.get("next")
    if request.method == "POST":
        plain = request.form.get("token", "").strip()
        with services().readers() as reader:
            token = find_token(reader, plain) if plain else None
        if not plain:
            form.add("token", "请填写令牌")
        elif token is None:
            form.add("token", "令牌无效或已被吊销")
        else:
            sign_in(token)
            return redirect(_safe_next(next_url))
        return render("login.html", 401, form=form, next_url=next_url)
    return render("login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    sign_out()
    return redirect(url_for("pages.check"))


@bp.route("/", methods=["GET"])
def check() -> Any:
    """The check form; anyone may see it, signing in unlocks checks."""
    return render("check.html", form=FormResult(), activities=activities(), raw={"domain": "procurement"})


@bp.route("/", methods=["POST"])
def run_check() -> Any:
    """A code answers with a verdict; a name only lists candidates to pick by code."""
    if page_user() is None:
        return redirect(url_for("pages.login", next="/"))
    form = FormResult()
    raw = request.form
    query = raw.get("q", "").strip()
    domain = raw.get("domain", "")
    as_of = None
    if not query:
        form.add("q", "请填写统一社会信用代码或单位名称")
    if domain not in dict(activities()):
        form.add("domain", "请选择活动")
    if raw.get("as_of", "").strip():
        try:
            as_of = dt.date.fromisoformat(raw["as_of"].strip())
        except ValueError:
            form.add("as_of", "请填写有效日期（年-月-日）")
    context: dict[str, Any] = {"form": form, "activities": activities(), "raw": raw}
    if not form.ok:
        return render("check.html", 422, **context)
    if not _CODE_LIKE.fullmatch(normalize_uscc(query)):
        with services().readers() as reader:
            context["candidates"] = search_names(reader, query, limit=10)
        context["searched"] = query
        return render("check.html", **context)
    try:
        code = validate_uscc(query)
    except InvalidIdentifierError as exc:
        form.add("q", uscc_message(query, exc))
        return render("check.html", 422, **context)
    try:
        result = check_one(("uscc", code, {"kind": "unit", "uscc": code}), domain, as_of)
    except InvalidInputError as exc:
        form.messages.append(str(exc))
        return render("check.html", 422, **context)
    context["result"] = result
    context["receipt_url"] = url_for("pages.receipt", r=encode_receipt(result["receipt"]))
    return render("check.html", **context)


def _qr_svg(url: str) -> Markup:
    qr = segno.make(url, error="m")
    return Markup(qr.svg_inline(scale=3, border=2, svgclass="qr", title="扫码验证回执"))


def _replay(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The answer again, from the same day and the same state of our records."""
    subject = payload.get("subject") or {}
    code = subject.get("uscc")
    try:
        as_of = dt.date.fromisoformat(payload["as_of"])
        known_at = dt.datetime.fromisoformat(payload["known_at"])
    except (KeyError, TypeError, ValueError):
        return None
    if not code or payload.get("domain") not in catalog().domains():
        return None
    service = EligibilityService(db(), catalog())
    _version, [result] = service.check_many([("uscc", code, {"kind": "unit", "uscc": code})],
                                            payload["domain"], as_of, known_at)
    return result


@bp.route("/receipt")
@require_role("officer")
def receipt() -> Any:
    """The printable receipt: verdict, details, signature and a QR code of the verification link."""
    receipt = decode_receipt(request.args.get("r", ""))
    if receipt is None:
        return render("verify.html", 422, receipt=None, valid=False, reason="链接中没有可识别的回执。")
    valid, reason = verify(receipt, signer().public)
    payload = receipt.get("payload") or {}
    verify_url = url_for("pages.verify_receipt", r=request.args["r"], _external=True)
    result = _replay(payload) if valid and not payload.get("batch") else None
    return render("receipt.html", receipt=receipt, payload=payload, valid=valid, reason=reason,
                  result=result, verify_url=verify_url, qr=_qr_svg(verify_url))


@bp.route("/receipts/verify")
def verify_receipt() -> Any:
    """Anyone holding a receipt (or its QR code) can see whether we issued it unaltered."""
    receipt = decode_receipt(request.args.get("r", ""))
    if receipt is None:
        return render("verify.html", 422, receipt=None, valid=False, reason="链接中没有可识别的回执。")
    valid, reason = verify(receipt, signer().public)
    return render("verify.html", receipt=receipt, payload=receipt.get("payload") or {}, valid=valid,
                  reason="回执由本系统签发且内容未被改动。" if valid else "验证失败：" + reason)
