"""What a command prints after its work, as data: tables, warnings and lines, written in one of four
formats by one writer each (as hyperfine's exporters): `table` for a terminal or a CI log (rich,
fitted to the width; calib.render.fit), `json`, `csv` and `markdown` for machines and pull requests.

A command fills a `Printout` (one per results file shown) and calls `emit`. Warnings are grouped by
kind: one line per kind names the configurations it applies to, the numbers that differ between
them as a range ("other processes used 45-90% of a core ..."); `-v` prints each configuration's own
line, and the `detail` lines (tuning candidates, auto's choices) that stay out of the way otherwise.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text

from calib.render.fit import Fitted

FORMATS = ("table", "json", "csv", "markdown")
# A number in running text: 90%, +79, 3.6x, 0.25; not the 32 of "fp32" or the 4.1 of "layer4.1".
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)")
_STYLE = {"note": "dim", "detail": "dim", "info": None}
_JSON_KEY = {"note": "notes", "detail": "details", "info": "info"}


@dataclass(frozen=True)
class Line:
    text: str
    kind: str = "note"  # note: always shown; detail: with -v (and in every machine format); info: plain


@dataclass(frozen=True)
class Warnings:
    pairs: tuple[tuple[str, str], ...]  # (configuration label, warning)


@dataclass
class Printout:
    """The blocks one results file (or one run) prints, in order; `source` names the file in CSV rows."""

    title: str | None = None
    source: str | None = None
    blocks: list = field(default_factory=list)

    def table(self, renderable: Fitted | Table | None) -> "Printout":
        if renderable is not None:
            self.blocks.append(renderable)
        return self

    def warnings(self, pairs) -> "Printout":
        pairs = tuple((str(label), str(text)) for label, text in pairs)
        if pairs:
            self.blocks.append(Warnings(pairs))
        return self

    def lines(self, texts, kind: str = "note") -> "Printout":
        self.blocks.extend(Line(text, kind) for text in texts)
        return self

    def tables(self) -> list[Table]:
        return [_table(block) for block in self.blocks if isinstance(block, (Fitted, Table))]


def group_warnings(pairs) -> list[tuple[str, list[str]]]:
    """(text, configurations) per kind of warning, in the order first seen. A kind is the text with its
    numbers masked; where the numbers differ between configurations the text shows their range."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for label, text in pairs:
        groups.setdefault(_NUMBER.sub("#", text), []).append((label, text))
    merged = []
    for members in groups.values():
        parts = [_NUMBER.split(text) for _, text in members]
        text = "".join(_span([part[index] for part in parts]) if index % 2 else parts[0][index]
                       for index in range(len(parts[0])))
        merged.append((text, list(dict.fromkeys(label for label, _ in members))))
    return merged


def _span(values: list[str]) -> str:
    numbers = sorted(set(values), key=float)
    return numbers[0] if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}"


def warning_lines(pairs, verbose: bool = False) -> list[str]:
    """The warnings as lines: one per kind, or with `verbose` one per configuration and warning."""
    if verbose:
        return [f"{label}: {text}" for label, text in pairs]
    return [f"{', '.join(labels)}: {text}" for text, labels in group_warnings(pairs)]


def emit(printouts: list[Printout], output_format: str, console, verbose: bool = False) -> None:
    """Write `printouts` to `console` in `output_format` (one of FORMATS)."""
    if output_format == "table":
        for printout in printouts:
            _print(printout, console, verbose)
        return
    text = {"json": as_json, "csv": as_csv, "markdown": as_markdown}[output_format](printouts)
    console.file.write(text if text.endswith("\n") else text + "\n")
    console.file.flush()


def _print(printout: Printout, console, verbose: bool) -> None:
    blocks = printout.blocks
    grouped = 0 if verbose else sum(len(block.pairs) - len(group_warnings(block.pairs))
                                    for block in blocks if isinstance(block, Warnings))
    details = 0 if verbose else sum(1 for block in blocks if isinstance(block, Line) and block.kind == "detail")
    tail = len(blocks)  # the hint goes before the closing info lines ("results: FILE")
    while tail and isinstance(blocks[tail - 1], Line) and blocks[tail - 1].kind == "info":
        tail -= 1
    for index, block in enumerate(blocks):
        if index == tail and (grouped or details):
            console.print(_hint(grouped, details))
        if isinstance(block, (Fitted, Table)):
            console.print(block)
        elif isinstance(block, Warnings):
            for line in warning_lines(block.pairs, verbose):
                console.print(Text.assemble(("warning:", "yellow"), " ", line))
        elif block.kind != "detail" or verbose:
            console.print(Text(block.text, style=_STYLE.get(block.kind) or ""))
    if tail == len(blocks) and (grouped or details):
        console.print(_hint(grouped, details))


def _hint(grouped: int, details: int) -> Text:
    what = ["each configuration's own warnings"] * bool(grouped) + ["the candidates tuned and auto's choices"] * bool(
        details)
    return Text(f"-v shows {grouped + details} more line(s): {' and '.join(what)}", style="dim")


def _table(block: Fitted | Table) -> Table:
    return block.table if isinstance(block, Fitted) else block


def _plain(cell) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return Text.from_markup(cell).plain if isinstance(cell, str) else str(cell or "")


def table_data(table: Table) -> dict:
    """A rich table as data: its title, its column headers and one mapping per row, every cell whole."""
    headers = [_plain(column.header) for column in table.columns]
    cells = [list(column.cells) for column in table.columns]
    rows = [{header: _plain(column[index]) if index < len(column) else "" for header, column in zip(headers, cells)}
            for index in range(table.row_count)]
    return {"title": _plain(table.title) if table.title is not None else None, "columns": headers, "rows": rows}


def as_json(printouts: list[Printout]) -> str:
    """One object per printout: its tables (cells as shown), every warning per configuration, the lines."""
    documents = []
    for printout in printouts:
        document = {**({"title": printout.title} if printout.title else {}), "source": printout.source,
                    "tables": [table_data(table) for table in printout.tables()], "warnings": []}
        for block in printout.blocks:
            if isinstance(block, Warnings):
                document["warnings"] += [{"configuration": label, "warning": text} for label, text in block.pairs]
            elif isinstance(block, Line):
                document.setdefault(_JSON_KEY.get(block.kind, block.kind), []).append(block.text)
        documents.append(document)
    return json.dumps(documents, indent=1, ensure_ascii=False)


def as_csv(printouts: list[Printout]) -> str:
    """The first (main) table of each printout, one CSV; a "file" column first where there are several."""
    tables = [(printout, table_data(printout.tables()[0])) for printout in printouts if printout.tables()]
    several = len(tables) > 1
    columns = ["file"] * several + list(dict.fromkeys(c for _, data in tables for c in data["columns"]))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for printout, data in tables:
        for row in data["rows"]:
            writer.writerow({**({"file": printout.source or printout.title or ""} if several else {}), **row})
    return out.getvalue()


def as_markdown(printouts: list[Printout]) -> str:
    lines: list[str] = []

    def paragraph(new: list[str]) -> None:
        if lines and lines[-1]:
            lines.append("")
        lines.extend(new)

    for printout in printouts:
        if printout.title:
            paragraph([f"## {_cell(printout.title)}"])
        for block in printout.blocks:
            if isinstance(block, (Fitted, Table)):
                data = table_data(_table(block))
                paragraph([f"**{_cell(data['title'])}**", ""] if data["title"] else [])
                lines.extend([_row(data["columns"]), "|" + "---|" * len(data["columns"])]
                             + [_row([row[column] for column in data["columns"]]) for row in data["rows"]] + [""])
            elif isinstance(block, Warnings):
                lines.extend(f"- **warning:** {_cell(line)}" for line in warning_lines(block.pairs))
            else:
                lines.append(f"- {_cell(block.text)}" if block.kind != "info" else _cell(block.text))
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(cells) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"
