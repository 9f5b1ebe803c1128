"""The ``taper`` command: a thin shell over the library.

Each command parses its options, makes one call into :mod:`taper`, and
formats the result. Errors are mapped to one line and an exit code in one
place (:class:`_Group`): 2 for a usage error, 1 for a refused plan.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .errors import TaperError
from .flags import flags_of
from .wording import speaking

if TYPE_CHECKING:
    from .reports.bundle import Bundle
    from .schedule import Schedule


class _Command(click.Command):
    """A command whose plans' findings name what they could change by its flags."""

    def invoke(self, ctx: click.Context) -> Any:
        with speaking(flags_of(ctx.info_name)):
            return super().invoke(ctx)


class _Group(click.Group):
    """Turns every TaperError into ``Error: ...`` and its exit code, never a traceback."""

    command_class = _Command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TaperError as exc:
            from .textfile import printable

            message = exc.render(flags_of(ctx.invoked_subcommand))
            click.echo(f"Error: {printable(message)}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            # the reader went away (taper drugs | head): stop quietly, as other tools do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:
            # a file taper reads or writes is named (its writes name their option); what has
            # no name is the write of what the command shows
            click.echo(f"Error: {exc.filename or 'standard output'}: {exc.strerror}", err=True)
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


class _Outputs:
    """The files a plan is written to (a :class:`~taper.reports.bundle.Bundle`), and what the
    terminal shows once they are written."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    def check(self, force: bool, inputs: tuple[str, ...] = ()) -> None:
        """Refuse bad names, clashes and files that exist (or are the command's ``inputs``),
        before anything is planned."""
        if (self.bundle.csv, self.bundle.json).count("-") > 1:
            raise click.UsageError("only one of --csv and --json can write to standard output")
        self.bundle.check(force, inputs)

    def write(self, schedule: Schedule) -> None:
        """Show the plan, then write every output, all or none: every file is made first,
        and none is written where standard output cannot be (a full disk, a closed pipe)."""
        from .reports import files, render_findings, render_text
        from .textfile import printable

        contents = self.bundle.contents(schedule)
        written = [c for c in contents if c[1] != "-"]
        try:
            for _, path, data in contents:
                if path == "-":
                    click.echo(data.decode("utf-8"), nl=False)
            if "-" not in (self.bundle.csv, self.bundle.json):
                click.echo(printable(render_text(schedule, _width())), nl=False)
            elif self.bundle.csv == "-":
                # the findings (and any override reasons) still reach the clinician
                findings = render_findings(schedule.sorted_findings(), _width())
                click.echo(printable("\n".join(findings)), err=True)
            _flush()
        except BrokenPipeError:
            # the reader stopped reading (taper plan ... | head): the plan is whole, so its
            # files are written; a full disk or another failure leaves none
            files.write_all(written)
            raise
        files.write_all(written)
        for _, path, _ in contents:
            if path != "-":
                click.echo(f"Wrote {path}", err=True)


def _flush() -> None:
    """What the command shows, sent: an error where standard output cannot take it (a full
    disk), or is closed (``taper plan ... >&-``)."""
    if sys.stdout is None:
        raise OSError(errno.EBADF, "closed")
    sys.stdout.flush()


def _width() -> int:
    """The terminal's width, or 80 columns where it is not known (output to a file or a pipe)."""
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


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


def _output_options(command: Any) -> Any:
    """Where a plan is written: the options ``plan`` and ``replan`` share."""
    options = (
        click.option(
            "--csv", "csv_path", help="Write the schedule as CSV ('-' for standard output)."
        ),
        click.option(
            "--json", "json_path", help="Write the plan as JSON ('-' for standard output)."
        ),
        click.option("--pdf", "pdf_path", help="Write the plan as a PDF to review and sign."),
        click.option("--chart", "chart_path", help="Write the chart as .png or .svg."),
        click.option(
            "--ics", "ics_path", help="Write a calendar (.ics) with an event at each step."
        ),
        click.option(
            "--paper",
            type=click.Choice(["a4", "letter"]),
            default="a4",
            show_default=True,
            help="Paper size of the PDF.",
        ),
        click.option(
            "--fill-days", type=int, help="Days each fill supplies, in the PDF, JSON and CSV (28)."
        ),
        click.option("--force", is_flag=True, help="Replace files that exist."),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _identity_options(command: Any) -> Any:
    """Who the plan is for and who prescribes it: ``plan`` and ``replan`` take them."""
    options = (
        click.option("--patient-name", help="The patient's name, on every page of the PDF."),
        click.option("--patient-id", help="A record or NHS number, on every page of the PDF."),
        click.option("--date-of-birth", help="The patient's date of birth, YYYY-MM-DD."),
        click.option("--prescriber", help="Who prescribes the plan, in the sign-off."),
    )
    for option in reversed(options):
        command = option(command)
    return command


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
@click.option(
    "--end-by",
    help="Take the last dose by this date, YYYY-MM-DD: the even cut of the current dose that "
    "gets there.",
)
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
@click.option(
    "--at-low-doses",
    type=click.Choice(["stretch", "liquid", "stop"]),
    default="stretch",
    show_default=True,
    help="When the products run out of small cuts: lengthen steps, add a liquid, or stop.",
)
@click.option(
    "--longest-step",
    help="The longest a step is lengthened to keep the pace, such as 12w (taper's own bound, "
    "default 84d).",
)
@click.option(
    "--halve",
    multiple=True,
    help="Tablets with a break line but no labelled score that may be halved (off-licence): "
    "ids or form:strength.",
)
@click.option(
    "--liquid-increment",
    help="Marks of taper's 1 mL syringe for liquids with no labelled measure (default 0.1ml).",
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
    help="The equivalence table a switch uses (see taper convert). [default: ashton]",
)
@click.option(
    "--stage-days",
    type=int,
    help="Days each stage of a switch lasts. [default: 7]",
)
@click.option(
    "--switch-order",
    type=click.Choice(["bedtime-first", "morning-first"]),
    help="Which dose a switch replaces first. [default: bedtime-first]",
)
@click.option(
    "--switch-products",
    multiple=True,
    help="Products of the drug switched to (as --products); default: all in the region.",
)
@_output_options
@_identity_options
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
    end_by: str | None,
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
    longest_step: str | None,
    halve: tuple[str, ...],
    liquid_increment: str | None,
    cut_order: str | None,
    formulary: str | None,
    switch_to: str | None,
    table: str | None,
    stage_days: int | None,
    switch_order: str | None,
    switch_products: tuple[str, ...],
    pdf_path: str | None,
    chart_path: str | None,
    ics_path: str | None,
    paper: str,
    fill_days: int | None,
    force: bool,
    patient_name: str | None,
    patient_id: str | None,
    date_of_birth: str | None,
    prescriber: str | None,
) -> None:
    """Plan a taper from DOSE a day of DRUG (e.g. taper plan clonazepam 2mg)."""
    from .planning import plan
    from .rules import build_rule

    _refuse_options(dose)
    from .reports.bundle import Bundle

    out = _Outputs(Bundle(csv_path, json_path, pdf_path, chart_path, ics_path, paper, fill_days))
    out.check(force, tuple(p for p in (rule, catalog_path, formulary) if p))
    the_rule = build_rule(rule, reduce, every, hold, max_cut, final_dose, longest_step)
    schedule = plan(
        drug,
        " ".join(dose),
        rule=the_rule,
        per_day=per_day,
        start=start,
        products=",".join(products) if products else None,
        halve=",".join(halve) if halve else (),
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
        switch_products=",".join(switch_products) if switch_products else None,
        liquid_increment=liquid_increment,
        patient_name=patient_name,
        patient_id=patient_id,
        date_of_birth=date_of_birth,
        prescriber=prescriber,
        end_by=end_by,
    )
    out.write(schedule)


@cli.command("replan")
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--on", "on", required=True, help="The first day of the new part, YYYY-MM-DD.")
@click.option("--dose", help="The daily dose actually taken now (default: the plan's).")
@click.option("--hold", "hold", help="Stay at that dose this long first, such as 28d.")
@click.option("--rule", help="The rule from then on: a preset or a protocol .toml file.")
@click.option("--reduce", help="Inline cut from then on: 5% or 0.25mg.")
@click.option("--every", help="Interval between cuts from then on, such as 28d.")
@click.option("--max-cut", help="Largest single cut before the stop, from then on.")
@click.option(
    "--longest-step", help="The longest a step is lengthened to keep the pace, from then on."
)
@click.option(
    "--end-by", help="Take the last dose by this date, YYYY-MM-DD, from then on (as plan's)."
)
@click.option("--reinstate", help="Go back up to this daily dose, as a stated choice.")
@click.option("--reason", default="", help="Why the plan changes; kept in every export.")
@click.option("--override", multiple=True, help='Accept a finding with a reason: CODE="reason".')
@_catalog_option
@_formulary_option
@_output_options
@_identity_options
def replan_command(
    plan_file: str,
    on: str,
    dose: str | None,
    hold: str | None,
    rule: str | None,
    reduce: str | None,
    every: str | None,
    max_cut: str | None,
    longest_step: str | None,
    end_by: str | None,
    reinstate: str | None,
    reason: str,
    override: tuple[str, ...],
    catalog_path: str | None,
    formulary: str | None,
    csv_path: str | None,
    json_path: str | None,
    pdf_path: str | None,
    chart_path: str | None,
    ics_path: str | None,
    paper: str,
    fill_days: int | None,
    force: bool,
    patient_name: str | None,
    patient_id: str | None,
    date_of_birth: str | None,
    prescriber: str | None,
) -> None:
    """Re-plan a plan taper wrote (JSON) from a date: keep what was, hold or slow down.

    The steps before --on stay as they were; from --on, an optional hold at the dose
    taken now, then the new rule (the plan's own when none is given).
    """
    from .catalog import load_catalog, load_formulary
    from .doses import parse_days
    from .plan_json import read_plan
    from .replanning import replan
    from .reports.bundle import Bundle

    out = _Outputs(Bundle(csv_path, json_path, pdf_path, chart_path, ics_path, paper, fill_days))
    out.check(force, tuple(p for p in (plan_file, catalog_path, formulary) if p))
    catalog = load_catalog(catalog_path)
    if formulary:
        catalog = load_formulary(catalog, formulary)
    result = replan(
        read_plan(plan_file, catalog),
        on,
        current_dose=dose,
        hold_days=parse_days(hold, "hold_days") if hold else 0,
        rule=rule,
        reduce=reduce,
        every=every,
        max_cut=max_cut,
        longest_step=longest_step,
        reinstate=reinstate,
        reason=reason,
        catalog=catalog,
        overrides=override,
        patient_name=patient_name,
        patient_id=patient_id,
        date_of_birth=date_of_birth,
        prescriber=prescriber,
        end_by=end_by,
    )
    out.write(result)


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
    from .checking import check_report
    from .reports import files, findings_json, render_findings

    if json_path and json_path != "-":
        files.check_writable(json_path, force, "json", (file,))
    if per_day is not None and not 1 <= per_day <= 4:
        raise click.BadParameter("1 to 4 doses a day", param_hint="--per-day")
    checked = check_report(
        file,
        catalog=catalog_path,
        formulary=formulary,
        overrides=override,
        drug=drug,
        start_dose=start_dose,
        per_day=per_day,
        max_cut=max_cut,
        max_units=max_units,
        region=region,
        indication=indication,
        age=age,
        weight_kg=weight_kg,
        use_months=use_months,
    )
    from .textfile import printable

    text = findings_json(checked.findings, checked=file) if json_path else ""
    if json_path == "-":
        click.echo(text, nl=False)
    else:
        click.echo(printable(f"{file}: {checked.drug}, {checked.steps} steps"))
        click.echo(printable("\n".join(render_findings(checked.findings, _width()))))
        # written once what it says is shown: a failing standard output leaves no file
        _flush()
        if json_path:
            files.write_atomic(json_path, text.encode("utf-8"))
    if checked.refused:
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
    from .catalog import load_catalog
    from .reports.drugs import catalog_report, drug_report

    catalog = load_catalog(catalog_path)
    report = catalog_report(catalog) if drug is None else drug_report(catalog, drug)
    click.echo("\n".join(report))


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


@cli.command("batch")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="The folder the plans, summary.csv and errors.csv are written to (made if missing).",
)
@click.option("--rule", help="The rule for rows that name none: a preset or a protocol .toml file.")
@click.option("--pdf", is_flag=True, help="Write each plan as a PDF as well.")
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size of the PDFs.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Processes to plan in (0: one per core); the files are the same.",
)
@_region_option
@_catalog_option
@_formulary_option
@click.option("--force", is_flag=True, help="Replace files that exist.")
@click.pass_context
def batch_command(
    ctx: click.Context,
    roster: str,
    out_dir: str,
    rule: str | None,
    pdf: bool,
    paper: str,
    jobs: int,
    region: str,
    catalog_path: str | None,
    formulary: str | None,
    force: bool,
) -> None:
    """Plan every row of a CSV roster into a folder (format: docs/batch.md).

    Each row's plan is written as REFERENCE.csv and REFERENCE.json (and .pdf with --pdf),
    with summary.csv for the planned rows and errors.csv for the refused ones. Exits 0
    when every row is planned, 1 when some are refused, 2 when the roster cannot be read.
    """
    import os
    import signal

    from .batch import Settings, prepare, summary_line

    def terminated(signum: int, frame: object) -> None:
        raise _Stopped(signum)

    earlier = signal.signal(signal.SIGTERM, terminated)
    batch = None
    try:
        settings = Settings(out_dir, rule, catalog_path, region, formulary, pdf, paper)
        batch = prepare(roster, settings, force)
        with click.progressbar(length=len(batch.rows), label="Planning", file=sys.stderr) as bar:
            outcomes = batch.run(jobs or os.cpu_count() or 1, progress=bar.update)

        def shown() -> None:
            click.echo(summary_line(outcomes, out_dir))
            _flush()

        batch.write_reports(outcomes, shown)
    except (KeyboardInterrupt, _Stopped) as stop:
        # the run wrote into a fresh folder, now removed: the target is as it was
        if batch is not None:
            batch.abandon()
        code = 143 if isinstance(stop, _Stopped) else 130
        click.echo(f"\nError: stopped: nothing was written; {out_dir} is as it was", err=True)
        ctx.exit(code)
    finally:
        signal.signal(signal.SIGTERM, earlier)
    if not all(o.planned for o in outcomes):
        ctx.exit(1)


class _Stopped(BaseException):
    """SIGTERM, raised where the batch is, so that it stops as Ctrl-C does (a BaseException,
    as KeyboardInterrupt is, so that no row takes it for its own failure)."""


def main() -> None:
    """Entry point of the ``taper`` console script."""
    cli(prog_name="taper")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())  # type: ignore[func-returns-value]
