"""`blacklist check` (bidder lists) and `blacklist receipts verify` (offline proof)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Iterator

import click

from blacklist.clock import now, today
from blacklist.eligibility import EligibilityService
from blacklist.identifiers import InvalidIdentifierError, validate_uscc
from blacklist.receipts import Signer, digest, public_key_from_jwk, verify
from blacklist.settings import Settings
from cli import main
from cli.commands import open_session

CODE_HEADERS = ("uscc", "统一社会信用代码", "code", "信用代码")
NAME_HEADERS = ("name", "名称", "单位名称", "投标人")


def read_bidders(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a .csv or .xlsx bidder list as `{code, name}` (header names in Chinese or English)."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).active
        rows = ([("" if v is None else str(v)).strip() for v in row] for row in sheet.iter_rows(values_only=True))
    else:
        rows = csv.reader(path.open(encoding="utf-8-sig", newline=""))
    header = [h.strip().lower() for h in next(rows, [])]
    code_col = next((i for i, h in enumerate(header) if h in CODE_HEADERS), None)
    if code_col is None:
        raise click.ClickException(f"{path}: no code column; name one of: {', '.join(CODE_HEADERS)}")
    name_col = next((i for i, h in enumerate(header) if h in NAME_HEADERS), None)
    for row in rows:
        if not any(row):
            continue
        yield {"code": row[code_col] if code_col < len(row) else "",
               "name": row[name_col] if name_col is not None and name_col < len(row) else ""}


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--domain", required=True, help="Activity code (regulations.md §6), e.g. procurement.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]))
@click.pass_obj
def check(settings: Settings, file: Path, domain: str, as_of: dt.datetime | None) -> None:
    """Check a bidder list (.csv or .xlsx); results are written next to it."""
    from rules.catalog import PackCatalog
    from rules.service import packs_for

    bidders = list(read_bidders(file))
    refs, problems = [], {}
    for i, row in enumerate(bidders):
        try:
            code = validate_uscc(row["code"])
            refs.append(("uscc", code, {"kind": "unit", "uscc": code}))
        except InvalidIdentifierError as exc:
            problems[i] = str(exc)
            refs.append(("uscc", row["code"], {"kind": "unit", "uscc": row["code"]}))
    day = as_of.date() if as_of else today(settings.timezone)
    known_at = now()
    with open_session(settings) as session:
        service = EligibilityService(session, PackCatalog(packs_for(settings)))
        if domain not in service.catalog.domains():
            raise click.ClickException(f"unknown domain {domain!r}; one of {', '.join(service.catalog.domains())}")
        good = [r for i, r in enumerate(refs) if i not in problems]
        version, answers = service.check_many(good, domain, day, known_at)
        ids = service.record(None, good, answers, domain, day, known_at, version)
        session.commit()
    signer = Signer.from_file(settings.signing_key_path or "instance/signing_key.pem")
    results: list[dict[str, Any]] = []
    it = iter(zip(answers, ids))
    for i, row in enumerate(bidders):
        if i in problems:
            results.append({"row": i + 2, "code": row["code"], "name": row["name"], "error": problems[i]})
            continue
        answer, check_id = next(it)
        results.append({"row": i + 2, "code": answer["subject"]["uscc"], "name": answer["subject"].get("name") or row["name"],
                        "eligible": answer["eligible"], "effect": answer["effect"], "check_id": check_id,
                        "listings": "; ".join(f"{l['rule']} {l['document_no']} 至{l['period_end']}" for l in answer["listings"]),
                        "note": answer.get("note", "")})
    receipt = signer.sign({"batch": True, "domain": domain, "as_of": day.isoformat(), "known_at": known_at.isoformat(),
                           "list_version": version, "count": len(results), "results_sha256": digest(results),
                           "issued_at": now().isoformat(), "source": file.name})
    out = write_results(file, results)
    receipt_path = out.with_suffix(".receipt.json")
    receipt_path.write_text(json.dumps({"receipt": receipt, "results": results}, ensure_ascii=False, indent=1))
    barred = sum(1 for r in results if r.get("eligible") is False)
    click.echo(f"{len(results)} bidders checked for {domain} on {day}: {barred} not eligible, "
               f"{len(problems)} invalid codes; results in {out}, signed receipt in {receipt_path}")
    if problems:
        sys.exit(1)


def write_results(source: Path, results: list[dict[str, Any]]) -> Path:
    columns = ["row", "code", "name", "eligible", "effect", "listings", "check_id", "note", "error"]
    if source.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        out = source.with_name(source.stem + ".checked.xlsx")
        book = Workbook()
        sheet = book.active
        sheet.append(["行", "统一社会信用代码", "名称", "可参与", "效力", "名单", "核查编号", "说明", "错误"])
        for r in results:
            shown = {**r, "eligible": {True: "是", False: "否"}.get(r.get("eligible"), "")}
            sheet.append([shown.get(c, "") for c in columns])
        book.save(out)
        return out
    out = source.with_name(source.stem + ".checked.csv")
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for r in results:
            writer.writerow({c: r.get(c, "") for c in columns})
    return out


@main.group()
def receipts() -> None:
    """Receipts of eligibility checks."""


@receipts.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JWK or JWK set (GET /api/v1/keys) to verify against, offline; default: this deployment's key.")
@click.pass_obj
def receipts_verify(settings: Settings, file: Path, key_file: Path | None) -> None:
    """Verify a receipt (or an eligibility answer holding one); exit 1 if it does not hold."""
    doc = json.loads(file.read_text(encoding="utf-8"))
    receipt = doc.get("receipt", doc) if isinstance(doc, dict) else None
    if not isinstance(receipt, dict):
        raise click.ClickException(f"{file} holds no receipt")
    if key_file:
        jwk = json.loads(key_file.read_text(encoding="utf-8"))
        keys = jwk.get("keys", [jwk])
        kid = (receipt.get("payload") or {}).get("key_id")
        match = next((k for k in keys if k.get("kid") == kid), keys[0])
        public = public_key_from_jwk(match)
    else:
        public = Signer.from_file(settings.signing_key_path or "instance/signing_key.pem").public
    ok, reason = verify(receipt, public)
    if ok and isinstance(doc, dict) and "results" in doc and receipt["payload"].get("results_sha256"):
        if digest(doc["results"]) != receipt["payload"]["results_sha256"]:
            ok, reason = False, "the results do not match the digest the receipt signs"
    click.echo(("VALID: " if ok else "INVALID: ") + reason)
    if not ok:
        sys.exit(1)
