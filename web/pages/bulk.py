"""Bulk check of a bidder list: upload, answered chunk by chunk on the server (the page
refreshes itself with a count, no JavaScript needed), results table, .xlsx download."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, redirect, request, url_for
from werkzeug.exceptions import NotFound

from blacklist.clock import now, today
from blacklist.eligibility import EligibilityService
from web.checks import encode_receipt, sign_batch
from web.context import catalog, services, settings
from web.pages.base import bp, page_user, render, require_role
from web.pages.bidders import BidderFileError, BulkJobs, read_bidders, workbook
from web.pages.forms import FormResult
from web.pages.labels import EFFECT_NAMES, EFFECTS, activities

PAGE_SIZE = 200


def jobs() -> BulkJobs:
    return BulkJobs(current_app.config["PAGES_BULK_DIR"])


def _job(job_id: str) -> dict[str, Any]:
    user = page_user()
    try:
        state = jobs().state(job_id)
    except KeyError:
        raise NotFound("没有这个批量核查任务（任务文件保留两天）。") from None
    if user is None or state["owner"] != user.id:
        raise NotFound("没有这个批量核查任务（任务文件保留两天）。")
    return state


@bp.route("/bulk", methods=["GET"])
@require_role("officer")
def bulk() -> Any:
    return render("bulk.html", form=FormResult(), activities=activities(), raw={"domain": "bidding"})


@bp.route("/bulk", methods=["POST"])
@require_role("officer")
def bulk_upload() -> Any:
    """Read the list, then answer it in steps; each step is one request."""
    form = FormResult()
    raw = request.form
    domain = raw.get("domain", "")
    as_of = today(settings().timezone)
    if domain not in dict(activities()):
        form.add("domain", "请选择活动")
    if raw.get("as_of", "").strip():
        try:
            as_of = dt.date.fromisoformat(raw["as_of"].strip())
        except ValueError:
            form.add("as_of", "请填写有效日期（年-月-日）")
    upload = request.files.get("file")
    rows: list[dict[str, Any]] = []
    if upload is None or not upload.filename:
        form.add("file", "请选择投标人名单文件（.xlsx 或 .csv）")
    else:
        try:
            rows = read_bidders(upload.filename, upload.read(), settings().batch_limit)
        except BidderFileError as exc:
            form.add("file", str(exc))
    if not form.ok:
        return render("bulk.html", 422, form=form, activities=activities(), raw=raw)
    user = page_user()
    assert user is not None
    job_id = jobs().create(owner=user.id, domain=domain, as_of=as_of, known_at=now(),
                           filename=(upload.filename if upload else None) or "", rows=rows)
    return redirect(url_for("pages.bulk_job", job_id=job_id))


def _step(job_id: str, state: dict[str, Any]) -> dict[str, Any]:
    """Answer and record the next chunk under the job's fixed day and moment of knowledge."""
    rows = jobs().rows(job_id)
    chunk = rows[state["done"]:state["done"] + int(current_app.config["PAGES_BULK_CHUNK"])]
    as_of = dt.date.fromisoformat(state["as_of"])
    known_at = dt.datetime.fromisoformat(state["known_at"])
    valid = [r for r in chunk if r["code"]]
    refs = [("uscc", r["code"], {"kind": "unit", "uscc": r["code"]}) for r in valid]
    answers: dict[int, dict[str, Any]] = {}
    if refs:
        # Answer in a read transaction, then record in a short write (SQLite queues writers).
        with services().lookups() as reader:
            version, results = EligibilityService(reader, catalog()).check_many(
                refs, state["domain"], as_of, known_at)
        with services().sessions() as writer:
            ids = EligibilityService(writer, catalog()).record(
                state["owner"], refs, results, state["domain"], as_of, known_at, version)
            writer.commit()
        state["list_version"] = version
        for row, result, check_id in zip(valid, results, ids):
            result.update(check_id=check_id, list_version=version)
            answers[row["row"]] = result
    jobs().append(job_id, [answers.get(r["row"], {"error": r["error"]}) for r in chunk])
    state["done"] += len(chunk)
    if state["done"] >= state["total"]:
        answered = [r for r in jobs().results(job_id) if "error" not in r]
        state["receipt"] = sign_batch(state["domain"], as_of, known_at,
                                      state["list_version"] or "v0", answered)
    jobs().save(job_id, state)
    return state


def _summary(results: list[dict[str, Any]]) -> dict[str, int]:
    out = {"eligible": 0, "barred": 0, "weigh": 0, "invalid": 0}
    for r in results:
        if "error" in r:
            out["invalid"] += 1
        elif not r["eligible"]:
            out["barred"] += 1
        elif r["effect"] != "none":
            out["weigh"] += 1
        else:
            out["eligible"] += 1
    return out


@bp.route("/bulk/<job_id>")
@require_role("officer")
def bulk_job(job_id: str) -> Any:
    """One step of the work and its progress, or, when done, the results table."""
    state = _job(job_id)
    if state["done"] < state["total"]:
        with jobs().step(job_id) as mine:
            if mine:
                state = _step(job_id, jobs().state(job_id))
        if state["done"] < state["total"]:
            return render("bulk_progress.html", state=state, activity=dict(activities()).get(state["domain"]),
                          refresh=current_app.config.get("PAGES_BULK_REFRESH", 1))
    rows = jobs().rows(job_id)
    results = jobs().results(job_id)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    start = (min(page, pages) - 1) * PAGE_SIZE
    shown = list(zip(rows, results))[start:start + PAGE_SIZE]
    verify_url = url_for("pages.verify_receipt", r=encode_receipt(state["receipt"])) if state["receipt"] else None
    return render("bulk_results.html", state=state, shown=shown, summary=_summary(results), page=min(page, pages),
                  pages=pages, verify_url=verify_url, activity=dict(activities()).get(state["domain"]),
                  effects=EFFECTS)


def describe(row: dict[str, Any], result: dict[str, Any]) -> list[Any]:
    """One spreadsheet row for one bidder."""
    if "error" in result:
        return [row["row"], row["given"], row["name"], "", "代码有误", "", "", "", "", "", "", result["error"]]
    measures = "；".join(f"{m['activity']}：{EFFECT_NAMES.get(m['effect'], m['effect'])}（{m['implementer']}）"
                        for m in result["measures"])
    listings = result["listings"]
    return [row["row"], row["given"], row["name"], result["subject"].get("name", ""),
            "可以参与" if result["eligible"] else "不得参与", EFFECT_NAMES.get(result["effect"], result["effect"]),
            measures, "；".join(item["document_no"] for item in listings),
            "；".join(item["period_end"] or "长期" for item in listings), result["check_id"],
            result["list_version"], "库内无该主体记录" if result.get("note", "").startswith("no record") else ""]


@bp.route("/bulk/<job_id>/results.xlsx")
@require_role("officer")
def bulk_download(job_id: str) -> Any:
    state = _job(job_id)
    if state["done"] < state["total"]:
        return redirect(url_for("pages.bulk_job", job_id=job_id))
    verify_url = url_for("pages.verify_receipt", r=encode_receipt(state["receipt"]), _external=True)
    body = workbook(state, jobs().rows(job_id), jobs().results(job_id), verify_url, describe)
    name = f"bulk-check-{state['as_of']}-{job_id[:8]}.xlsx"
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
