"""`infoshare report annual`: a school year's information-sharing figures, for the partnership's annual audit."""

from __future__ import annotations

from typing import Any

import click

from infoshare_workflow.cli.context import cli_actor, migrated_runtime


def _school_year(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """The year as the API reads it (one set of rules): the shape by the schema, the meaning by the domain."""
    from marshmallow import ValidationError

    from infoshare_workflow.records.annual_report import InvalidYear, school_year
    from infoshare_workflow.schemas.reports import AnnualReportQuerySchema

    if value is None:
        return None
    try:
        return school_year(AnnualReportQuerySchema().load({"year": value})["year"])
    except ValidationError as exc:
        raise click.BadParameter(" ".join(exc.messages["year"])) from None  # type: ignore[call-overload]
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
def report_annual(year: Any, as_json: bool, as_csv: bool) -> None:
    import csv
    import json
    import sys
    from zoneinfo import ZoneInfo

    from infoshare_workflow.records.annual_report import annual_report, figure_rows, school_year_of
    from infoshare_workflow.schemas.reports import AnnualReportSchema
    from infoshare_workflow.storage.models import utcnow

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    runtime = migrated_runtime()
    zone = ZoneInfo(runtime.settings.timezone)
    year = year or school_year_of(utcnow().astimezone(zone).date())
    with runtime.transaction() as session:
        view = annual_report(session, year, zone, actor=cli_actor(),
                             form="json" if as_json else "csv" if as_csv else "text")
    if as_json:
        click.echo(json.dumps(AnnualReportSchema().dump(view), indent=2))
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["section", "figure", "value"])
        writer.writerows((s, f, "" if v is None else v) for s, f, v in figure_rows(view["figures"]))
    else:
        click.echo(f"Annual figures {view['year']}: {view['first_day']:%-d %B %Y} to {view['last_day']:%-d %B %Y} "
                   f"({view['timezone']})")
        for section, values in view["figures"].items():
            click.echo(f"\n{section}")
            for name, value in values.items():
                click.echo(f"  {name:<40} {'-' if value is None else value:>8}")
