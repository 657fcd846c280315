"""calib.render.printout (issue 30 item 4): warnings grouped by kind with the configurations they apply
to (details behind -v), and the machine formats (json, csv, markdown) that parse and hold every column."""

import csv
import io
import json

from rich.console import Console

from calib.render.printout import Line, Printout, as_csv, as_json, as_markdown, emit, group_warnings
from calib.render.run_table import run_printout
from render.records import two_backend_records

BUSY = ("other processes used {}% of a core while this ran: with every core busy, threads wait on each other and "
        "times can be many times too slow; rerun on an idle machine or with fewer --threads")


def _emit(printout, output_format="table", verbose=False, width=400) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, highlight=False)
    emit([printout], output_format, console, verbose)
    return console.file.getvalue()


def test_one_line_per_kind_names_its_configurations_and_the_range_of_its_numbers():
    pairs = [("fp32", BUSY.format(117)), ("bf16", BUSY.format(45)), ("int8-static", BUSY.format(90)),
             ("bf16", "unstable: IQR is 13% of the median; close other programs"),
             ("fp32", "unstable: IQR is 70% of the median; close other programs"),
             ("int8-static", "expected fp32 compute, the matmul/conv outputs were bf16")]
    groups = group_warnings(pairs)
    assert groups == [(BUSY.format("45-117"), ["fp32", "bf16", "int8-static"]),
                      ("unstable: IQR is 13-70% of the median; close other programs", ["bf16", "fp32"]),
                      ("expected fp32 compute, the matmul/conv outputs were bf16", ["int8-static"])]
    # the 32 of fp32 and the 16 of fp16 are names, not numbers: two kinds, not one "fp16-32"
    assert len(group_warnings([("a", "expected fp32 compute"), ("b", "expected fp16 compute")])) == 2


def test_warnings_print_grouped_and_each_with_verbose():
    records = two_backend_records(with_fidelity=False)
    for record, percent in zip(records[:3], (117, 45, 90)):
        record["warnings"] = [BUSY.format(percent)]
    printout = run_printout(records, title="t")
    quiet = [line for line in _emit(printout).splitlines() if line.startswith("warning:")]
    assert quiet == [f"warning: torch fp32, torch bf16, torch int8-static: {BUSY.format('45-117')}"]
    assert "-v shows 2 more line(s): each configuration's own warnings" in _emit(printout)
    loud = [line for line in _emit(printout, verbose=True).splitlines() if line.startswith("warning:")]
    assert loud == [f"warning: torch {precision}: {BUSY.format(percent)}"
                    for precision, percent in (("fp32", 117), ("bf16", 45), ("int8-static", 90))]
    assert "-v shows" not in _emit(printout, verbose=True)


def test_details_wait_for_verbose_and_the_hint_comes_before_the_results_line():
    printout = Printout().lines(["a note"]).lines(["tuned fp32: a 1 ms | b 2 ms -> a"], "detail")
    printout.blocks.append(Line("results: run.json", "info"))
    lines = _emit(printout).splitlines()
    assert lines == ["a note", "-v shows 1 more line(s): the candidates tuned and auto's choices", "results: run.json"]
    assert "tuned fp32" in _emit(printout, verbose=True)


def _run_printout():
    records = two_backend_records()
    records[1]["warnings"] = ["unstable: IQR is 13% of the median"]
    return run_printout(records, title="calib run: resnet50-wide on cpu, 16 threads", source="run.json")


def test_json_holds_every_column_and_each_warning():
    documents = json.loads(_emit(_run_printout(), "json", width=40))  # the width of the console plays no part
    table = documents[0]["tables"][0]
    assert table["columns"] == ["backend", "precision", "dtype", "median ms", "p90", "p99", "items/s", "vs fp32", "hw",
                                "fidelity", "peak mem"]
    assert table["rows"][0]["median ms"] == "1637.2" and table["rows"][1]["vs fp32"].startswith("3.97x [")
    assert documents[0]["warnings"] == [{"configuration": "torch bf16", "warning": "unstable: IQR is 13% of the median"}]
    assert documents[0]["source"] == "run.json" and documents[0]["notes"]


def test_csv_is_the_main_table_and_a_file_column_for_several():
    rows = list(csv.DictReader(io.StringIO(as_csv([_run_printout()]))))
    assert len(rows) == 7 and rows[0]["backend"] == "torch" and rows[0]["p99"] and "file" not in rows[0]
    two = list(csv.DictReader(io.StringIO(as_csv([_run_printout(), _run_printout()]))))
    assert len(two) == 14 and two[0]["file"] == "run.json"


def test_markdown_tables_and_grouped_warnings():
    text = as_markdown([_run_printout()])
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| backend"))
    assert header.count("|") == 12 and lines[lines.index(header) + 1] == "|" + "---|" * 11
    assert "- **warning:** torch bf16: unstable: IQR is 13% of the median" in lines
    assert json.loads(as_json([Printout(source="x")]))[0]["tables"] == []
