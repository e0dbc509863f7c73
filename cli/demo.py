"""`blacklist demo`: a fresh database with fictional but realistic data, served."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from blacklist.clock import today
from blacklist.db import make_engine, make_sessionmaker
from blacklist.deployment import bind_id_key
from blacklist.identifiers import make_valid_id_number, make_valid_uscc
from blacklist.ingest import Ingestor
from blacklist.migrate import upgrade
from blacklist.models import Case
from blacklist.settings import Settings
from blacklist.tokens import ROLES, create_token
from blacklist.workdays import WorkdayCalendar
from blacklist.workflow import Actor, decide, early_removal, serve_notice
from cli import main

AUTH_CITY = {"name": "秦川市应急管理局", "region": "610400", "level": "city"}
AUTH_PROV = {"name": "秦州省应急管理厅", "region": "610000", "level": "province"}


def code(n: int) -> str:
    return make_valid_uscc(f"91610400MA{n:07d}")


def person(n: int, name: str) -> dict[str, str]:
    """A synthetic identity number: region 610402, born 1975, sequence from n."""
    return {"name": name, "id_number": make_valid_id_number(f"6104021975{(n % 12) + 1:02d}{10 + n % 18:02d}{n:03d}")}


def unit(n: int, name: str, industry: str | None, main: dict[str, str] | None = None,
         kind: str = "unit") -> dict[str, Any]:
    subject: dict[str, Any] = {"kind": kind, "name": name, "uscc": code(n)}
    if industry:
        subject["industry"] = industry
    if main:
        subject["main_person"] = main
    return subject


def demo_records() -> list[dict[str, Any]]:
    """Fictional units in a fictional province; each shows one rule of the regulations."""
    chem = unit(1, "秦川市鼎盛化工有限公司", "chemicals", person(1, "赵某"))
    mine = unit(2, "秦川市北岭矿业有限责任公司", "mining", person(2, "钱某"))
    fire = unit(3, "秦川市红星烟花爆竹有限公司", "fireworks", person(3, "孙某"))
    agency = unit(4, "秦川安信安全技术咨询有限公司", None, kind="agency")
    metal = unit(5, "秦州华冶金属制品有限公司", "metallurgy", person(5, "李某"))
    old = unit(6, "秦川市老城建材有限公司", "building_materials")
    older = unit(7, "秦川市东风化肥有限公司", "chemicals")
    clean = unit(8, "秦川市明德纺织有限公司", "textiles", person(8, "周某"))
    build = unit(9, "秦川市宏图建设工程有限公司", "construction")

    def pen(rid: str, subject: dict[str, Any], decided: str, violations: list[str], **kw: Any) -> dict[str, Any]:
        rec = {"type": "penalty", "record_id": rid, "subject": subject, "document_no": f"秦应急罚〔{decided[:4]}〕{rid[-2:]}号",
               "authority": kw.pop("authority", AUTH_CITY), "decided_on": decided, "violations": violations,
               "fine_cny": kw.pop("fine_cny", 500_000)}
        rec.update(kw)
        return rec

    def acc(rid: str, subject: dict[str, Any], occurred: str, deaths: int, injuries: int = 0,
            loss: int = 1_000_000, **kw: Any) -> dict[str, Any]:
        rec = {"type": "accident", "record_id": rid, "subject": subject, "occurred_on": occurred,
               "deaths": deaths, "serious_injuries": injuries, "direct_loss_cny": loss}
        rec.update(kw)
        return rec

    return [
        # mem11.a1: a major liability accident (11 deaths) and the penalty naming it
        acc("ACC-DEMO-0001", chem, "2024-05-06", 11, 3, 32_000_000, report_approved_on="2024-08-30"),
        pen("PEN-DEMO-0001", chem, "2024-09-20", ["accident.liability"], accident_id="ACC-DEMO-0001",
            authority=AUTH_PROV, fine_cny=5_000_000, executed=True),
        # mem11.a2: two larger accidents within 12 months
        acc("ACC-DEMO-0002", mine, "2024-11-03", 3, 2, 4_000_000),
        acc("ACC-DEMO-0003", mine, "2025-08-19", 4, 0, 6_500_000),
        pen("PEN-DEMO-0003", mine, "2025-10-15", ["accident.liability"], accident_id="ACC-DEMO-0003", executed=False),
        # mem11.b1: operating without a safety permit
        pen("PEN-DEMO-0004", fire, "2025-03-12", ["permit.none"], executed=True),
        # mem11.b2: an agency issuing a false report
        pen("PEN-DEMO-0005", agency, "2025-06-30", ["agency.false_report"], fine_cny=200_000),
        # mem11.a4: a concealed accident
        acc("ACC-DEMO-0006", metal, "2025-12-01", 1, 0, 800_000, reporting="concealed"),
        pen("PEN-DEMO-0006", metal, "2026-02-10", ["accident.concealed"], accident_id="ACC-DEMO-0006"),
        # cn-2017-aj49: a larger accident in 2019 (joint-punishment target; period long over)
        acc("ACC-DEMO-0007", old, "2019-04-02", 5, 1, 9_000_000),
        # cn-2015-aw14: conduct in 2016 (blacklist; period long over)
        pen("PEN-DEMO-0008", older, "2016-08-01", ["permit.suspended_or_revoked"]),
        # no trigger: a general accident and an ordinary penalty
        acc("ACC-DEMO-0009", clean, "2025-04-09", 1, 0, 300_000),
        pen("PEN-DEMO-0009", clean, "2025-06-01", ["accident.liability"], accident_id="ACC-DEMO-0009", executed=True),
        # out of mem11 scope (construction): no proposal, and the explanation says why
        pen("PEN-DEMO-0010", build, "2025-09-09", ["penalty.refused_execution"]),
    ]


def build_demo(settings: Settings) -> dict[str, str]:
    """Create the demo database and walk some cases through the workflow; tokens by role."""
    from rules.service import reevaluate

    engine = make_engine(settings.database_url)
    upgrade(engine)
    bind_id_key(engine, settings.id_hash_key)
    session = make_sessionmaker(engine)()
    day = today(settings.timezone)
    report = Ingestor(session, today=day, id_key=settings.id_hash_key).run(enumerate(demo_records()))
    assert not report.rejected, report.rejected
    reevaluate(session, report.touched_subjects, settings)
    session.commit()
    cal = WorkdayCalendar()
    clerk = Actor("演示审核员")
    cases = {c.evidence[0]: c for c in session.scalars(select(Case).order_by(Case.id)).unique()
             if c.subject.kind != "person"}
    # the chemical works: listed; the fireworks maker: listed then removed early
    for first, served, decided in (("ACC-DEMO-0001", "2024-09-23", "2024-10-08"),
                                   ("PEN-DEMO-0004", "2025-03-17", "2025-03-25")):
        case = cases[first]
        serve_notice(session, case.id, dt.date.fromisoformat(served), actor=clerk, calendar=cal, today=day)
        decide(session, case.id, outcome="list", decided_on=dt.date.fromisoformat(decided),
               document_no=f"秦应急信决〔{decided[:4]}〕{case.id}号", reason="依据应急管理部令第11号", statement_waived=False,
               actor=clerk, calendar=cal, today=day)
    listing_case = cases["PEN-DEMO-0004"]
    from blacklist.models import Listing

    listing = session.scalars(select(Listing).where(Listing.case_id == listing_case.id)).unique().one()
    early_removal(session, listing.id, applied_on=dt.date(2026, 3, 30), decided_on=dt.date(2026, 4, 20),
                  outcome="granted", reason="已履行处罚并完成整改", actor=clerk, calendar=cal, today=day)
    # the agency: notified, awaiting its statement
    serve_notice(session, cases["PEN-DEMO-0005"].id, day - dt.timedelta(days=2), actor=clerk, calendar=cal, today=day)
    tokens = {}
    for role in ROLES:
        plain, _ = create_token(session, role=role, name=f"演示{role}", actor="demo")
        tokens[role] = plain
    session.commit()
    session.close()
    engine.dispose()
    return tokens


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the demo database and exit.")
@click.option("--no-publish", is_flag=True,
              help="Do not start the credit-platform simulator and the scheduler beside the server.")
@click.pass_obj
def demo(settings: Settings, host: str, port: int, no_serve: bool, no_publish: bool) -> None:
    """A fresh demo database with fictional data, served with a token for each role.

    Beside the server it starts a credit-platform simulator on PORT+1 and a scheduler
    that publishes the demo's changes to it every 10 seconds (unless --no-publish)."""
    if not os.environ.get("BLACKLIST_DATABASE_URL"):
        path = Path.cwd() / "instance" / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        from dataclasses import replace

        settings = replace(settings, database_url=f"sqlite:///{path}")
    tokens = build_demo(settings)
    click.echo(f"demo database: {settings.database_url}")
    click.echo(f"serving on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    for role, plain in tokens.items():
        click.echo(f"  {role:9} token: {plain}")
    click.echo(f"try: curl -H 'Authorization: Bearer {tokens['officer']}' "
               f"'http://{host}:{port}/api/v1/eligibility?uscc={code(1)}&domain=procurement'")
    if no_serve:
        return
    from cli.serving import run_gunicorn

    helpers = [] if no_publish else _start_publication(settings, host, port + 1)
    try:
        run_gunicorn(settings, host, port, workers=1, threads=settings.threads)
    finally:
        for proc in helpers:
            proc.terminate()
        for proc in helpers:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _start_publication(settings: Settings, host: str, sim_port: int) -> list[subprocess.Popen[bytes]]:
    """The simulator and a scheduler publishing to it, as child processes of their own."""
    url = f"http://{host}:{sim_port}/"
    env = {**os.environ, "BLACKLIST_DATABASE_URL": settings.database_url,
           "BLACKLIST_PLATFORM_URL": url, "BLACKLIST_PUBLISH_EVERY": "10"}
    command = [sys.executable, "-m", "cli"]
    sim = subprocess.Popen([*command, "platform-sim", "--host", host, "--port", str(sim_port)], env=env)
    for _ in range(50):  # listening before the scheduler's first run, so that it is not a failed send
        try:
            socket.create_connection((host, sim_port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    scheduler = subprocess.Popen([*command, "scheduler"], env=env)
    click.echo(f"credit-platform simulator: http://{host}:{sim_port}/  (the scheduler publishes to it every 10 s)")
    return [sim, scheduler]
