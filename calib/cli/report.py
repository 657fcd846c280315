"""`calib report`: a self-contained HTML (or markdown) report of stored results."""

from __future__ import annotations

from pathlib import Path

import click

from calib.cli._common import console
from calib.errors import UsageError


@click.command(name="report")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Write one self-contained HTML file (charts embedded; opens without network).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), help="Write the tables as markdown.")
@click.option("--title", help="Report title (default: the models in the files).")
@click.option("--store", "store_url", metavar="URL",
              help="Add a History section: every series of this store (sqlite:///path.db or "
                   "postgresql://user@host/db) charted over its runs, change points marked. Alone: the history only.")
@click.option("-m", "--model", metavar="NAME", help="With --store: only this model's series.")
@click.option("--precision", metavar="NAME", help="With --store: only this precision's series.")
@click.option("--device-class", metavar="NAME", help="With --store: only this device class's series.")
def command(files, html_path, markdown_path, title, store_url, model, precision, device_class):
    """Report of results FILES, one section per kind of result. Inference: latency per call per
    precision and device with CIs, the samples' distribution (p50/p90/p99), speed-up over fp32, fp32's
    layers beside the other precisions', accuracy against latency. Training (`calib train` files): time
    per step, its speed-up, the loss curves. Warnings sit beside the numbers they qualify; each run's
    environment closes the report.

    With --store URL, a History section follows: each configuration's medians over the store's runs
    with their intervals and change points (as `calib history`); with --store and no FILES the report
    is that history alone."""
    from calib.report.content import build_content
    from calib.results.record import read_result

    if not files and store_url is None:
        raise UsageError("give results FILES, --store URL, or both")
    if store_url is None and (model or precision or device_class):
        raise UsageError("-m/--model, --precision and --device-class choose series of a store: give --store URL")
    if not html_path and not markdown_path:
        raise UsageError("say where the report goes: --html FILE and/or --markdown FILE")
    from calib.cli._outputs import Output, check_outputs

    check_outputs([Output("--html", html_path), Output("--markdown", markdown_path)],
                  inputs=[("FILES", files)])
    history = _history(store_url, model, precision, device_class) if store_url is not None else None
    content = build_content([read_result(path) for path in files], title) if files else None
    out = console()
    if html_path:
        from calib.report.html import render_html

        _write(html_path, _with_history_html(render_html(content) if content else None, history, title))
        out.print(f"report: {html_path}")
    if markdown_path:
        from calib.report.markdown import render_markdown

        _write(markdown_path, _with_history_markdown(render_markdown(content) if content else None, history, title))
        out.print(f"report: {markdown_path}")
    for warning in content.environment_warnings if content else ():
        out.print(f"[yellow]warning:[/] {warning}")


def _write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _history(store_url, model, precision, device_class):
    """(the series of the store the filters select, the store's name for the page)."""
    from calib.store import open_existing
    from calib.store.history import build_series

    store = open_existing(store_url)
    try:
        return build_series(store, model=model, precision=precision, device_class=device_class), store.shown
    finally:
        store.close()


def _with_history_html(page, history, title):
    if history is None:
        return page
    from calib.report.history import add_to_page, history_page, history_section

    return add_to_page(page, history_section(*history)) if page is not None else history_page(*history, title)


def _with_history_markdown(text, history, title):
    if history is None:
        return text
    from calib.report.history import history_markdown

    lines = history_markdown(*history)
    return (text.rstrip("\n") + "\n\n" if text is not None else f"# {title or 'calib history'}\n\n") + "\n".join(lines)
