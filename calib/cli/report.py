"""`calib report`: a self-contained HTML (or markdown) report of stored results."""

from __future__ import annotations

from pathlib import Path

import click

from calib.cli._common import console
from calib.errors import UsageError


@click.command(name="report")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Write one self-contained HTML file (charts embedded; opens without network).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), help="Write the tables as markdown.")
@click.option("--title", help="Report title (default: the models in the files).")
def command(files, html_path, markdown_path, title):
    """Report of results FILES: latency per precision and device with CIs, speed-up over fp32,
    slowest layers, accuracy against latency, and each run's environment."""
    from calib.report.content import build_content
    from calib.results.record import read_result

    if not html_path and not markdown_path:
        raise UsageError("say where the report goes: --html FILE and/or --markdown FILE")
    from calib.cli._common import check_output_path

    check_output_path(html_path, "--html")
    check_output_path(markdown_path, "--markdown")
    content = build_content([read_result(path) for path in files], title)
    out = console()
    if html_path:
        from calib.report.html import render_html

        _write(html_path, render_html(content))
        out.print(f"report: {html_path}")
    if markdown_path:
        from calib.report.markdown import render_markdown

        _write(markdown_path, render_markdown(content))
        out.print(f"report: {markdown_path}")
    for warning in content.environment_warnings:
        out.print(f"[yellow]warning:[/] {warning}")


def _write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
