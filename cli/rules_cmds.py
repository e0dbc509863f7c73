"""Commands for regulators trying rules: evaluate a file, preview a pack change, audit."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Iterator

import click

from blacklist import audit
from blacklist.clock import today
from blacklist.records import RecordValidationError, validate_record
from blacklist.settings import Settings
from cli import main
from cli.commands import open_session


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """JSON Lines (one record a line) or a JSON array; `(line or position, object)`."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        yield from enumerate(json.loads(text), start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                raise click.ClickException(f"{path}:{number}: not valid JSON: {exc}") from None


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Evaluate as of this day (default today).")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation answer of api.md as JSON.")
@click.pass_obj
def evaluate(settings: Settings, file: Path, as_of: dt.datetime | None, as_json: bool) -> None:
    """Dry run: what the rules would propose for the records in FILE (stores nothing)."""
    from rules.evaluate import evaluate as run, to_json
    from rules.service import packs_for

    day = today(settings.timezone)
    valid, bad = [], 0
    for number, raw in read_records(file):
        try:
            valid.append(validate_record(raw, today=day, id_key=settings.id_hash_key).data)
        except RecordValidationError as exc:
            bad += 1
            problems = "; ".join(f"{k or 'record'}: {' '.join(v)}" for k, v in exc.errors.items())
            click.echo(f"{file}:{number}" + (f" ({exc.record_id})" if exc.record_id else "") + f": {problems}",
                       err=True)
    if bad:
        raise click.ClickException(f"{bad} record(s) break records.md; nothing was evaluated")
    when = as_of.date() if as_of else day
    subjects = to_json(run(valid, when, packs_for(settings)))
    if as_json:
        click.echo(json.dumps({"as_of": when.isoformat(), "subjects": subjects}, ensure_ascii=False, indent=2))
        return
    for entry in subjects:
        subject = entry["subject"]
        ident = subject.get("uscc") or subject.get("id_number_masked")
        click.echo(f"{subject['name']} ({subject['kind']}, {ident})")
        for p in entry["proposals"]:
            click.echo(f"  PROPOSE {p['rule']} [{p['list']}{'/' + p['tier'] if p['tier'] else ''}] "
                       f"{p['period_start']}..{p['period_end']} evidence {', '.join(p['evidence'])}")
            click.echo(f"          basis: {p['basis']}")
        for e in entry["explanations"]:
            click.echo(f"  not {e['rule'] or '(no pack)'}: {e['reason']}: {e['text']}")


@main.group()
def rules() -> None:
    """Rule packs."""


@rules.command("diff")
@click.option("--pack", "pack_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A changed pack, or an override file with `extends`.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def rules_diff(settings: Settings, pack_file: Path, as_of: dt.datetime | None, as_json: bool) -> None:
    """Preview a pack change: subjects that would gain or lose a proposal, and why."""
    from rules.preview import preview

    when = as_of.date() if as_of else today(settings.timezone)
    with open_session(settings) as session:
        changes = preview(session, settings, pack_file, when, progress=sys.stderr.isatty())
    if as_json:
        click.echo(json.dumps({"as_of": when.isoformat(), "changes": changes}, ensure_ascii=False, indent=2))
        return
    if not changes:
        click.echo(f"no subject would gain or lose a proposal as of {when}")
    for change in changes:
        click.echo(f"{change['change'].upper():5} {change['rule']} {change['subject']['name']} "
                   f"({change['subject'].get('uscc') or change['subject'].get('id_number_masked')}): {change['why']}")
    click.echo(f"{sum(c['change'] == 'gain' for c in changes)} gained, "
               f"{sum(c['change'] == 'lose' for c in changes)} lost")


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.pass_obj
def audit_verify(settings: Settings) -> None:
    """Walk the hash chain; report the first broken link, if any."""
    with open_session(settings) as session:
        verdict = audit.verify(session)
    if verdict.ok:
        click.echo(f"audit log intact: {verdict.entries} entries")
        return
    click.echo(f"audit log BROKEN at entry {verdict.broken_at}: {verdict.problem}", err=True)
    sys.exit(1)

