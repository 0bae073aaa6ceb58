"""`infoshare report annual`: a school year's information-sharing figures, for the partnership's annual audit."""

from __future__ import annotations

import click

from infoshare_workflow.cli.context import cli_actor, migrated_runtime


def _school_year(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a year that is not a school year before anything runs (the API's rule, `school_year`)."""
    from infoshare_workflow.records.annual_report import InvalidYear, school_year

    try:
        return None if value is None else school_year(value).label
    except InvalidYear as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(help="Reports.")
def report() -> None:
    pass


@report.command("annual", help="A school year's figures (1 September to 31 August): counts only, no names. "
                               "The read is audited.")
@click.option("--year", callback=_school_year, metavar="YYYY-YY",
              help="The school year, such as 2025-26 (default: the current one).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the API answers.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: section, figure, value.")
def report_annual(year: str | None, as_json: bool, as_csv: bool) -> None:
    import json
    from zoneinfo import ZoneInfo

    from infoshare_workflow.records.annual_report import annual_report, csv_text, requested_year
    from infoshare_workflow.schemas.reports import AnnualReportSchema

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    runtime = migrated_runtime()
    zone = ZoneInfo(runtime.settings.timezone)
    with runtime.transaction() as session:
        view = annual_report(session, requested_year(year, zone), zone, actor=cli_actor(),
                             form="json" if as_json else "csv" if as_csv else "text")
    if as_json:
        click.echo(json.dumps(AnnualReportSchema().dump(view), indent=2))
    elif as_csv:
        click.echo(csv_text(view["figures"]), nl=False)
    else:
        click.echo(f"Annual figures {view['year']}: {view['first_day']:%-d %B %Y} to {view['last_day']:%-d %B %Y} "
                   f"({view['timezone']})")
        for section, values in view["figures"].items():
            click.echo(f"\n{section}")
            for name, value in values.items():
                click.echo(f"  {name:<40} {'-' if value is None else value:>8}")
