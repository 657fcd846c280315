"""Fitting a table to the terminal: numbers are never cut, text wraps, low-value columns go last.

rich shrinks every column alike when a table is too wide and ellipsises what no longer fits, a
number included ("1.…"). A `Fitted` table is laid out at render time, at the width it is given:

1. a `no_wrap` column is pinned to its widest cell: numbers, names and verdicts are never cut;
2. a wrapping column keeps its `min_width` (or its widest cell, when narrower) and at least its
   widest number, so a number inside a note or a label is wrapped around, never through (other
   words, the header's too, fold only past ten characters);
3. while even that does not fit, the droppable columns go, in the order given, and a dim line
   under the table names them and where they can still be read;
4. when none is left to drop, the table wraps whole columns: the columns that do not fit go to
   a second table under the first (a third, ...), each starting with the first column, the row's
   name; only where one column beside that first one does not fit do the wrapping columns give
   up their `min_width` (never a number's width);
5. the wrapping columns share the width left, the ones that want least filled first;
6. a title or caption wider than the table is printed on its own line, where it wraps only at
   the terminal's edge (inside the table rich would fold "by op kind" into "by op\\nkind").

A console as wide as a pipe's (calib.cli._common.console: no width to respect) gets every table
at its natural width: nothing dropped, wrapped or cut.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# A number, with what is written around it: 0.89, 76.1%, (-0.9), [1.196-1.223], #1, 32x224x224.
# "resnet50" and "layer4.1.conv2" are names: they may fold like any other word.
_NUMBER = re.compile(r"(?<!\S)[^\w\s]*\d\S*")
_WORD_FLOOR = 10  # a wrapping column folds words that are not numbers only past this width


def light_table(title: str | None = None, **options) -> Table:
    """A table for many columns: a rule under the header and two spaces between columns, where a
    full box would spend three characters per column on borders and padding."""
    return Table(title=title, header_style="bold", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                 pad_edge=False, padding=(0, 1, 0, 0), **options)


class Fitted:
    """A rich renderable: `table` fitted to the console's width as described above.

    `droppable` are column headers, least valuable first; `where` says, in the note under the
    table, where the dropped columns can still be read."""

    def __init__(self, table: Table, droppable: Sequence[str] = (), where: str = "a wider terminal shows them"):
        self.table = table
        self.droppable = tuple(droppable)
        self.where = where

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        table, natural, least = _measured(self.table, console, options)
        dropped = []
        for header in self.droppable:
            if _minimum_width(table) <= width:
                break
            if header in _headers(table):
                table = _without(table, header)
                dropped.append(header)
        parts = _stacked(table, width) if _minimum_width(table) > width else [table]
        # a part that does not fit even alone: its text columns below their preferred width
        parts = [_at_least(part, least) if _minimum_width(part) > width else part for part in parts]
        for number, part in enumerate(parts):
            part = copy.copy(part)
            if number:
                part.title = None
            if number < len(parts) - 1:
                part.caption = None
            yield from _with_long_titles(_shared_out(part, natural, width), console, options, width)
        if dropped:
            yield Text(f"left out at {width} columns: {', '.join(dropped)} ({self.where})", style="dim")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)


def _with_long_titles(table: Table, console: Console, options: ConsoleOptions, width: int) -> RenderResult:
    """The table, its title or caption on a line of its own where wider than the table (step 6)."""
    table_width = width if table.expand else Measurement.get(console, options, table).maximum
    title, caption = table.title, table.caption
    long_title = title is not None and _text(console, title, "table.title").cell_len > table_width
    long_caption = caption is not None and _text(console, caption, "table.caption").cell_len > table_width
    if long_title or long_caption:
        table = copy.copy(table)
    if long_title:
        table.title = None
        yield _text(console, title, table.title_style or "table.title")
    if long_caption:
        table.caption = None
    yield table
    if long_caption:
        yield _text(console, caption, table.caption_style or "table.caption")


def _stacked(table: Table, width: int) -> list[Table]:
    """Step 4: the columns in order, as many to a table as fit `width` at their minimum; every table
    after the first starts again with the first column, which names the row."""
    first, *rest = table.columns
    groups, current = [], [first]
    for column in rest:
        if len(current) > 1 and _minimum_width(_only(table, [*current, column])) > width:
            groups.append(current)
            current = [first]
        current.append(column)
    groups.append(current)
    return [_only(table, group) for group in groups]


def _only(table: Table, columns) -> Table:
    fitted = copy.copy(table)
    fitted.columns = [dataclasses.replace(column, _index=index) for index, column in enumerate(columns)]
    return fitted


def _text(console: Console, text, style) -> Text:
    return console.render_str(text, style=style, highlight=False) if isinstance(text, str) else text


def _headers(table: Table) -> list[str]:
    return [str(column.header) for column in table.columns]


def _cells(table: Table, column) -> Iterable:
    if table.show_header:
        yield column.header
    yield from column.cells


def _plain(console: Console, cell) -> str:
    if isinstance(cell, str):
        return console.render_str(cell).plain
    return cell.plain if isinstance(cell, Text) else ""


def _measured(table: Table, console: Console, options: ConsoleOptions) -> tuple[Table, dict, dict]:
    """A copy whose columns carry the minimum widths of steps 1 and 2, with each column's natural
    width and the least a wrapping column may get once nothing is left to drop."""
    columns, natural, least = [], {}, {}
    for column in table.columns:
        widths = [Measurement.get(console, options, cell).maximum for cell in _cells(table, column)]
        header = str(column.header)
        if column.no_wrap:
            least[header] = max(widths, default=0)
        else:
            numbers = [word for cell in column.cells for word in _NUMBER.findall(_plain(console, cell))]
            words = [word for cell in _cells(table, column) for word in _plain(console, cell).split()]
            least[header] = max([Text(word).cell_len for word in numbers]
                                + [min(_WORD_FLOOR, max((Text(word).cell_len for word in words), default=0))])
        widest = max(widths, default=1)
        minimum = max(min(column.min_width or 0, widest), least[header])  # no wider than its widest cell
        columns.append(dataclasses.replace(column, min_width=minimum))
        natural[header] = max(widest, minimum)
    fitted = copy.copy(table)
    fitted.columns = columns
    return fitted, natural, least


def _at_least(table: Table, least: dict) -> Table:
    fitted = copy.copy(table)
    fitted.columns = [dataclasses.replace(column, min_width=least[str(column.header)]) for column in table.columns]
    return fitted


def _without(table: Table, header: str) -> Table:
    # rich reads a column's _index for its edge padding: _only numbers them afresh.
    return _only(table, [column for column in table.columns if str(column.header) != header])


def _padding(table: Table, index: int) -> int:
    # rich's own accounting of cell padding and borders (Table._get_padding_width, _extra_width).
    return table._get_padding_width(index)


def _minimum_width(table: Table) -> int:
    return table._extra_width + sum(column.min_width + _padding(table, column._index) for column in table.columns)


def _shared_out(table: Table, natural: dict[str, int], width: int) -> Table:
    """Fixed widths for the wrapping columns when the table does not fit at its natural width.

    rich would level the widest wrapping columns down, one of them below its minimum; here each
    keeps its minimum, and the width left is poured in: the columns that want least are filled
    first, the others share the rest equally."""
    wrapping = [column for column in table.columns if not column.no_wrap]
    wants = [natural[str(column.header)] - column.min_width for column in wrapping]
    spare = max(0, width - _minimum_width(table))
    if not wrapping or sum(wants) <= spare:
        return table
    shares = [0] * len(wrapping)
    for rank, index in enumerate(sorted(range(len(wrapping)), key=lambda i: wants[i])):
        shares[index] = min(wants[index], spare // (len(wrapping) - rank))
        spare -= shares[index]
    widths = {id(column): column.min_width + share for column, share in zip(wrapping, shares)}
    fitted = copy.copy(table)
    fitted.columns = [dataclasses.replace(column, width=widths.get(id(column), column.width))
                      for column in table.columns]
    return fitted
