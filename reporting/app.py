"""The reporting web app (Starlette, rendered on the server: no build step, no CDN).

Pages: `/` lists the reports with their charts, `/reports/<name>` shows one with its rows,
`/query` runs ad-hoc SQL on gold through `ReadOnlyWarehouse`, and `.csv` beside either
downloads the rows. A refused or failed query answers 400 with its one-line reason.
"""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from .catalog import BY_NAME, REPORTS, Report
from .charts import bar_chart
from .readonly import QueryResult, QueryTimeout, ReadOnlyWarehouse
from .sql_guard import RefusedQuery

EXAMPLE_QUERY = "select grade, count(*) as people from lead_scores group by grade order by grade"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin-top: 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
.refused { color: #a00; font-weight: bold; }
textarea { width: 100%; max-width: 60rem; font-family: monospace; }
section { margin-bottom: 2rem; }
"""


def create_app(reader: ReadOnlyWarehouse) -> Starlette:
    """The app over one read-only warehouse."""

    async def index(request: Request) -> HTMLResponse:
        sections = []
        for report in REPORTS:
            try:
                result = reader.report(report.sql)
                body = _chart(report, result)
            except (RefusedQuery, QueryTimeout) as exc:
                body = f'<p class="refused">{escape(str(exc))}</p>'
            sections.append(
                f'<section><h2><a href="/reports/{report.name}">{escape(report.title)}</a></h2>'
                f"<p>{escape(report.question)}</p>{body}</section>"
            )
        return _page("Leadloop reports", "".join(sections))

    async def report_page(request: Request) -> Response:
        report = BY_NAME.get(request.path_params["name"])
        if report is None:
            return _page("Not found", "<p>No such report.</p>", status=404)
        try:
            result = reader.report(report.sql)
        except (RefusedQuery, QueryTimeout) as exc:
            return _page(report.title, f'<p class="refused">{escape(str(exc))}</p>', status=400)
        body = (
            f"<p>{escape(report.question)}</p>{_chart(report, result)}"
            f'<p><a href="/reports/{report.name}.csv">Download CSV</a></p>{_table(result)}'
        )
        return _page(report.title, body)

    async def report_csv(request: Request) -> Response:
        report = BY_NAME.get(request.path_params["name"])
        if report is None:
            return PlainTextResponse("No such report.", status_code=404)
        return _csv(reader.report(report.sql), report.name)

    async def query_page(request: Request) -> Response:
        sql = await _submitted_sql(request)
        form = (
            '<form method="post" action="/query">'
            f'<textarea name="sql" rows="6" id="sql">{escape(sql if sql is not None else EXAMPLE_QUERY)}</textarea>'
            '<br><button type="submit" id="run">Run</button> '
            '<button type="submit" formaction="/query.csv" id="csv">Download CSV</button></form>'
            f"<p>One SELECT on the gold schema (tables may be named without <code>gold.</code>); at most "
            f"{reader.max_rows:,} rows, {reader.timeout_seconds:g} s.</p>"
        )
        if sql is None:
            return _page("Ad-hoc SQL on gold", form)
        try:
            result = reader.run(sql)
        except (RefusedQuery, QueryTimeout) as exc:
            return _page("Ad-hoc SQL on gold", form + f'<p class="refused" id="refused">{escape(str(exc))}</p>', 400)
        more = f"<p>Showing the first {reader.max_rows:,} rows.</p>" if result.truncated else ""
        summary = f'<p id="row-count">{len(result.rows)} rows</p>{more}'
        link = f'<p><a href="/query.csv?{urlencode({"sql": sql})}">Download CSV</a></p>'
        return _page("Ad-hoc SQL on gold", form + summary + link + _table(result))

    async def query_csv(request: Request) -> Response:
        sql = await _submitted_sql(request)
        try:
            result = reader.run(sql or "")
        except (RefusedQuery, QueryTimeout) as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return _csv(result, "query")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/reports/{name}.csv", report_csv),
            Route("/reports/{name}", report_page),
            Route("/query", query_page, methods=["GET", "POST"]),
            Route("/query.csv", query_csv, methods=["GET", "POST"]),
        ]
    )


async def _submitted_sql(request: Request) -> str | None:
    """The `sql` field of a form post or query string (forms are url-encoded: no multipart)."""
    if request.method == "POST":
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        return (fields.get("sql") or [""])[0]
    return request.query_params.get("sql")


def _chart(report: Report, result: QueryResult) -> str:
    if not result.rows:
        return "<p>No rows yet.</p>"
    index = {name: i for i, name in enumerate(result.columns)}
    labels = [row[index[report.label]] for row in result.rows]
    values = [row[index[report.value]] for row in result.rows]
    return bar_chart(f"{report.value} by {report.label}", labels, values, report.value_format)


def _table(result: QueryResult) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in result.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in result.rows)
    return f'<table id="results"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _cell(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _csv(result: QueryResult, name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(result.columns)
    writer.writerows(["" if v is None else v for v in row] for row in result.rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    nav = '<nav><a href="/">Reports</a><a href="/query">Ad-hoc SQL</a></nav>'
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{nav}<h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)
