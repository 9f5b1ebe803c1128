"""The ``taper`` command: a thin shell over the library.

Each command parses its options, makes one call into :mod:`taper`, and
formats the result. Errors are mapped to one line and an exit code in one
place (:class:`_Group`): 2 for a usage error, 1 for a refused plan.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import InputError, TaperError


class _Group(click.Group):
    """Turns every TaperError into ``Error: ...`` and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TaperError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            click.echo(f"Error: {exc.filename or 'file'}: {exc.strerror}", err=True)
            ctx.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: still one line, never a traceback
            click.echo(
                f"Error: unexpected failure, nothing was written ({type(exc).__name__}: "
                f"{exc}); please report it",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="taper")
def cli() -> None:
    """Plan benzodiazepine tapers that a pharmacy can dispense.

    A tool for clinicians: every plan is for a clinician to review and sign.
    """


_catalog_option = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(dir_okay=False),
    help="A catalog TOML file in place of the built-in one.",
)
_region_option = click.option(
    "--region",
    type=click.Choice(["us", "uk"]),
    default="us",
    show_default=True,
    help="Which market's products to use.",
)
_formulary_option = click.option(
    "--formulary",
    type=click.Path(dir_okay=False),
    help="A TOML file of local products (a compounded liquid, say) with their sources.",
)


def _patient_options(command: Any) -> Any:
    """The patient facts and overrides that ``plan`` and ``check`` both take."""
    options = (
        click.option(
            "--indication", help="What it is taken for: the range the dose is checked against."
        ),
        click.option("--age", type=int, help="Age in years (65 and over, under 18: own checks)."),
        click.option("--weight-kg", help="Weight in kg (needed under 18: mg/kg/day checks)."),
        click.option("--use-months", type=int, help="How long it has been taken, in months."),
        click.option(
            "--override",
            multiple=True,
            help='Accept a finding with a reason: CODE="reason" (see docs/findings.md).',
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _refuse_options(words: Sequence[str]) -> None:
    """A word that looks like an option among free words is an unknown option."""
    unknown = next((word for word in words if word.startswith("--")), None)
    if unknown is not None:
        raise click.NoSuchOption(unknown)


def _split_list(values: Sequence[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@cli.command("plan", context_settings={"ignore_unknown_options": True})
@click.argument("drug")
@click.argument("dose", nargs=-1, required=True)
@click.option("--per-day", type=int, help="Doses a day (default: the drug's usual division).")
@click.option("--rule", help="A preset name (see 'taper rules') or a protocol .toml file.")
@click.option("--reduce", help="Inline cut: a percentage of the current dose (10%) or mg (0.25mg).")
@click.option("--every", help="Interval between cuts, such as 14d or 2w.")
@click.option("--hold", multiple=True, help="Hold a dose for a while: 1mg:28d or 50%:28d.")
@click.option("--max-cut", help="Largest single cut before the stop (default: the rule's, 25%).")
@click.option("--final-dose", help="Stop after this daily dose (0.25mg, or 10% of the start).")
@click.option("--start", help="Day of the first cut, YYYY-MM-DD (default: today).")
@_patient_options
@click.option(
    "--products",
    multiple=True,
    help="Products to use: ids, forms (tablet, odt) or form:strength (tablet:0.5mg).",
)
@_region_option
@click.option(
    "--max-units",
    type=int,
    help="Most tablets or pieces at one administration (default 4, or what the start needs).",
)
@_catalog_option
@click.option("--csv", "csv_path", help="Write the schedule as CSV ('-' for standard output).")
@click.option("--json", "json_path", help="Write the plan as JSON ('-' for standard output).")
@click.option(
    "--at-low-doses",
    type=click.Choice(["stretch", "liquid", "stop"]),
    default="stretch",
    show_default=True,
    help="When the products run out of small cuts: lengthen steps, add a liquid, or stop.",
)
@click.option(
    "--cut-order",
    type=click.Choice(["even", "morning-first", "bedtime-last"]),
    help="Which dose to cut first (default: the rule's; even for most).",
)
@_formulary_option
@click.option("--switch-to", help="Switch to this drug first (diazepam), one dose at a time.")
@click.option(
    "--table",
    default="ashton",
    show_default=True,
    help="The equivalence table a switch uses (see taper convert).",
)
@click.option(
    "--stage-days",
    type=int,
    default=7,
    show_default=True,
    help="Days each stage of a switch lasts.",
)
@click.option(
    "--switch-order",
    type=click.Choice(["bedtime-first", "morning-first"]),
    default="bedtime-first",
    show_default=True,
    help="Which dose a switch replaces first.",
)
@click.option("--pdf", "pdf_path", help="Write the plan as a PDF to review and sign.")
@click.option("--chart", "chart_path", help="Write the chart as .png or .svg.")
@click.option("--ics", "ics_path", help="Write a calendar (.ics) with an event at each step.")
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size of the PDF.",
)
@click.option("--fill-days", type=int, help="Days each supply covers, in the PDF (default 28).")
@click.option("--force", is_flag=True, help="Replace files that exist.")
def plan_command(
    drug: str,
    dose: tuple[str, ...],
    per_day: int | None,
    rule: str | None,
    reduce: str | None,
    every: str | None,
    hold: tuple[str, ...],
    max_cut: str | None,
    final_dose: str | None,
    start: str | None,
    indication: str | None,
    age: int | None,
    weight_kg: str | None,
    use_months: int | None,
    override: tuple[str, ...],
    products: tuple[str, ...],
    region: str,
    max_units: int | None,
    catalog_path: str | None,
    csv_path: str | None,
    json_path: str | None,
    at_low_doses: str,
    cut_order: str | None,
    formulary: str | None,
    switch_to: str | None,
    table: str,
    stage_days: int,
    switch_order: str,
    pdf_path: str | None,
    chart_path: str | None,
    ics_path: str | None,
    paper: str,
    fill_days: int | None,
    force: bool,
) -> None:
    """Plan a taper from DOSE a day of DRUG (e.g. taper plan clonazepam 2mg)."""
    from .planner import plan
    from .reports import files
    from .rules import build_rule

    _refuse_options(dose)
    outputs = {"--csv": csv_path, "--json": json_path}
    if list(outputs.values()).count("-") > 1:
        raise click.UsageError("only one of --csv and --json can write to standard output")
    for field, path in (("--pdf", pdf_path), ("--chart", chart_path), ("--ics", ics_path)):
        if path == "-":
            raise InputError(
                field, path, "a file name: only --csv and --json can write to standard output"
            )
    if chart_path and Path(chart_path).suffix.lower() not in (".png", ".svg"):
        raise InputError("--chart", chart_path, "a file name ending .png or .svg")
    if fill_days is not None:
        if not pdf_path:
            raise InputError(
                "--fill-days",
                fill_days,
                "it sets the supply per fill in the PDF: give --pdf as well",
            )
        if not 1 <= fill_days <= 366:
            raise InputError("--fill-days", fill_days, "1 to 366 days")
    targets = [
        (f, p)
        for f, p in (
            *outputs.items(),
            ("--pdf", pdf_path),
            ("--chart", chart_path),
            ("--ics", ics_path),
        )
        if p and p != "-"
    ]
    if csv_path and csv_path != "-":
        targets.insert(1, ("--csv", str(files.sidecar(csv_path))))
    files.check_outputs(targets, force)
    the_rule = build_rule(rule, reduce, every, hold, max_cut, final_dose)
    schedule = plan(
        drug,
        " ".join(dose),
        rule=the_rule,
        per_day=per_day,
        start=start,
        products=_split_list(products) or None,
        region=region,
        max_units=max_units,
        catalog=catalog_path,
        indication=indication,
        age=age,
        weight_kg=weight_kg,
        use_months=use_months,
        overrides=override,
        at_low_doses=at_low_doses,
        cut_order=cut_order,
        formulary=formulary,
        switch_to=switch_to,
        table=table,
        stage_days=stage_days,
        switch_order=switch_order,
    )
    from .reports import csv_text, findings_csv_text, render_findings, render_text, to_json

    # Everything is made in memory first, then written all or none.
    contents: list[tuple[str, str, bytes]] = []
    if csv_path:
        contents.append(("--csv", csv_path, csv_text(schedule).encode("utf-8")))
        if csv_path != "-":
            side = str(files.sidecar(csv_path))
            contents.append(("--csv", side, findings_csv_text(schedule.findings).encode("utf-8")))
    if json_path:
        contents.append(("--json", json_path, to_json(schedule).encode("utf-8")))
    if chart_path:
        from .reports.chart import chart_bytes

        suffix = Path(chart_path).suffix[1:].lower()
        contents.append(("--chart", chart_path, chart_bytes(schedule, suffix)))
    if pdf_path:
        from .reports.pdf import pdf_bytes

        pdf = pdf_bytes(schedule, paper=paper, fill_days=fill_days or 28)
        contents.append(("--pdf", pdf_path, pdf))
    if ics_path:
        from .reports.calendar import ics_bytes

        contents.append(("--ics", ics_path, ics_bytes(schedule)))
    files.write_all([c for c in contents if c[1] != "-"])
    for _, path, data in contents:
        if path == "-":
            click.echo(data.decode("utf-8"), nl=False)
    if "-" not in outputs.values():
        click.echo(render_text(schedule), nl=False)
    elif csv_path == "-":
        # the findings (and any override reasons) still reach the clinician
        click.echo("\n".join(render_findings(schedule.sorted_findings())), err=True)
    for _, path, _ in contents:
        if path != "-":
            click.echo(f"Wrote {path}", err=True)


@cli.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--drug", help="The drug, when the file has no drug column.")
@click.option("--start-dose", help="The daily dose before the first row (default: the first row).")
@click.option("--per-day", type=int, help="Doses a day (default: the file's time columns).")
@click.option("--max-cut", help="The cap on a single cut (default: the file's, or 25%).")
@click.option(
    "--max-units",
    type=int,
    help="Most tablets or pieces at one administration (default: the file's, or 4).",
)
@_region_option
@_patient_options
@_catalog_option
@_formulary_option
@click.option("--json", "json_path", help="Write the findings as JSON ('-' for standard output).")
@click.option("--force", is_flag=True, help="Replace a file that exists.")
def check_command(
    file: str,
    drug: str | None,
    start_dose: str | None,
    per_day: int | None,
    max_cut: str | None,
    max_units: int | None,
    region: str,
    indication: str | None,
    age: int | None,
    weight_kg: str | None,
    use_months: int | None,
    override: tuple[str, ...],
    catalog_path: str | None,
    formulary: str | None,
    json_path: str | None,
    force: bool,
) -> None:
    """Check a schedule made elsewhere (CSV or taper JSON) against ranges and guidelines.

    Exits 0 when there is no error (warnings allowed), 1 when there is one.
    """
    from .catalog import load_catalog, load_formulary
    from .doses import parse_dose, parse_percent
    from .external import ExternalOptions, check_file
    from .planner import make_patient
    from .reports import files, findings_json, render_findings
    from .validation import parse_overrides

    if json_path and json_path != "-":
        files.check_writable(json_path, force, "--json")
    if per_day is not None and not 1 <= per_day <= 4:
        raise click.BadParameter("1 to 4 doses a day", param_hint="--per-day")
    catalog = load_catalog(catalog_path)
    if formulary:
        catalog = load_formulary(catalog, formulary)
    accepted = parse_overrides(override)
    options = ExternalOptions(
        drug=drug,
        start_dose=parse_dose(start_dose, "--start-dose") if start_dose else None,
        per_day=per_day,
        max_cut=parse_percent(max_cut, "--max-cut") if max_cut else None,
        max_units=max_units or 4,
        max_units_given=max_units is not None,
        region=region,
    )
    from .external import read_schedule

    timeline, _ = read_schedule(file, options, catalog)
    patient = make_patient(timeline.drug, indication, age, weight_kg, use_months)
    from dataclasses import replace

    findings = check_file(file, replace(options, patient=patient), catalog, accepted)
    if json_path:
        text = findings_json(findings, checked=file)
        if json_path == "-":
            click.echo(text, nl=False)
        else:
            files.write_atomic(json_path, text.encode("utf-8"))
    if json_path != "-":
        click.echo(f"{file}: {timeline.drug.name}, {len(timeline.periods)} steps")
        click.echo("\n".join(render_findings(findings)))
    if any(f.severity == "error" and not f.override for f in findings):
        raise SystemExit(1)


@cli.command("convert", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True)
@click.option(
    "--table",
    default="ashton",
    show_default=True,
    help="The equivalence table to convert by (see the catalog).",
)
@_catalog_option
def convert_command(words: tuple[str, ...], table: str, catalog_path: str | None) -> None:
    """Convert AMOUNT of one drug to another by way of diazepam (e.g. 1mg clonazepam diazepam).

    Prints the equivalent by the chosen table with its source, and the range across every
    table that lists both drugs.
    """
    from .catalog import load_catalog
    from .equivalence import convert

    _refuse_options(words)
    if len(words) < 3:
        raise click.UsageError(
            "give AMOUNT FROM TO, such as: taper convert 1mg clonazepam diazepam"
        )
    *amount, source_drug, target = words
    result = convert(
        " ".join(amount), source_drug, target, table=table, catalog=load_catalog(catalog_path)
    )
    click.echo(result.describe())


@cli.command("drugs")
@click.argument("drug", required=False)
@_catalog_option
def drugs_command(drug: str | None, catalog_path: str | None) -> None:
    """List the catalog's drugs, or show one drug's products, ranges and sources."""
    from decimal import Decimal

    from .catalog import load_catalog
    from .doses import format_mg

    catalog = load_catalog(catalog_path)
    if drug is None:
        click.echo(f"{catalog.name} {catalog.version}")
        for d in catalog.drugs.values():
            aliases = f" ({', '.join(d.aliases)})" if d.aliases else ""
            strengths = sorted({p.strength_mg for p in d.products if p.strength_mg is not None})
            click.echo(
                f"  {d.name}{aliases}: {len(d.products)} products, "
                f"{', '.join(format_mg(s) for s in strengths)}"
            )
        return
    d = catalog.drug(drug)
    used: list[str] = []

    def cite(source: str) -> str:
        if source not in used:
            used.append(source)
        return f"[{source}]"

    name = d.tall_man or d.display
    aliases = f" (also {', '.join(d.aliases)})" if d.aliases else ""
    click.echo(f"{name}{aliases}, {d.drug_class}")
    note = f": {d.doses_per_day_note}" if d.doses_per_day_note else ""
    click.echo(
        f"Usual doses a day: {', '.join(map(str, d.doses_per_day))} (default "
        f"{d.default_doses_per_day}){note} {cite(d.doses_per_day_source)}"
    )
    click.echo("Products:")
    for p in d.products:
        if p.strength_mg is not None:
            split = {1: "not split", 0.5: "halves", 0.25: "quarters"}.get(float(p.split), "")
            what = f"{p.short}, {split}"
        else:
            what = f"{format_mg(p.mg_per_ml or Decimal(0))}/mL {p.form} (not used in plans yet)"
        extra = f"; {p.note}" if p.note else ""
        click.echo(
            f"  {p.id}: {p.name}; {what}; {', '.join(r.upper() for r in p.regions)}"
            f"{extra} {cite(p.source)}"
        )
    click.echo("Documented daily ranges:")
    for r in d.ranges:
        where = ", ".join(x.upper() for x in r.regions)
        extra = f"; {r.note}" if r.note else ""
        click.echo(
            f"  {r.indication}, {r.population} ({where}): {r.describe()}{extra} {cite(r.source)}"
        )
    click.echo("Sources:")
    for sid in used:
        s = catalog.source(sid)
        url = f" {s.url}" if s.url else ""
        click.echo(f"  [{sid}] {s.cite()}{url}")


@cli.command("rules")
def rules_command() -> None:
    """List the built-in reduction rules with their sources."""
    from .rules import DEFAULT_PRESET, PRESETS

    for name, rule in PRESETS.items():
        default = " (default)" if name == DEFAULT_PRESET else ""
        only = f" [for {', '.join(rule.drugs)}]" if rule.drugs else ""
        click.echo(f"{name}{default}{only}")
        click.echo(f"  {rule.describe()}")
        click.echo(f"  cap: {rule.cap_note}")
        click.echo(f"  source: {rule.source}")


def main() -> None:
    """Entry point of the ``taper`` console script."""
    cli(prog_name="taper")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())  # type: ignore[func-returns-value]
