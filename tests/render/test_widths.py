"""Every table at 80 and at 120 columns, with the longest names and numbers it meets: numbers are
never cut, titles never wrap inside the table, and a left-out column is named under the table."""

import io
import re
from collections import Counter

import pytest
from rich.console import Console
from rich.text import Text

from calib.render.fit import Fitted
from check.records import lognormal_samples, make_record, make_result
from render.records import run_record, samples, two_backend_records

WIDTHS = (80, 120)
_NUMBER = re.compile(r"(?<!\S)[^\w\s]*\d\S*")  # 0.89, (-0.9), [1.19-1.22]; not resnet50


def render(renderable, width: int) -> str:
    # crop=False: a table wider than the terminal shows as a long line instead of silently losing its edge
    console = Console(width=width, file=io.StringIO(), color_system=None, highlight=False)
    console.print(renderable, crop=False)
    return console.file.getvalue()


def _plain(cell) -> str:
    return Text.from_markup(cell).plain if isinstance(cell, str) else cell.plain


def left_out(output: str) -> list[str]:
    notes = [line for line in output.splitlines() if line.startswith("left out at")]
    if not notes:
        return []
    names = " ".join(output[output.index(notes[0]):].split()).split(": ", 1)[1].split(" (")[0]
    return names.split(", ")


def assert_fits(fitted: Fitted, width: int) -> str:
    """Rendered at `width`: no line wider, no ellipsis, every kept cell whole (a wrapping cell:
    every number in it whole), every dropped column droppable and named."""
    output = render(fitted, width)
    assert max(len(line) for line in output.splitlines()) <= width, output
    assert "…" not in output, output
    dropped = left_out(output)
    assert set(dropped) <= set(fitted.droppable), output
    wholes = Counter()
    for column in fitted.table.columns:
        if str(column.header) not in dropped:
            for cell in column.cells:
                wholes.update([_plain(cell)] if column.no_wrap else _NUMBER.findall(_plain(cell)))
    lines = output.splitlines()
    for whole, count in wholes.items():
        if whole:  # each occurrence on one line: none of them cut or folded
            assert sum(line.count(whole) for line in lines) >= count, f"{whole!r} cut:\n{output}"
    return output


@pytest.mark.parametrize("width", WIDTHS)
def test_run_table_with_two_backends_keeps_names_and_numbers(width):
    from calib.render.run_table import build_run_table

    records = two_backend_records()
    records.append(run_record("onnxruntime", "fp16", 0.00123, model="resnet50-wide", peak_rss_bytes=2_359_296))
    output = assert_fits(build_run_table(records, title="calib run: resnet50-wide on cpu, 16 threads"), width)
    for whole in ("onnxruntime", "int8-static", "native", "emulated", "unsupported", "1637.2", "987.7", "0.012",
                  "1.23 us", "802970.7x", "see note 1", "2.2 MiB" if width == 120 else "1637.2"):
        assert whole in output, output
    assert "..." not in output and "1.…" not in output
    dropped = left_out(output)
    assert "median ms" in output and "vs fp32" in output
    assert "batch: 32" in output  # the same in every row: in the title
    if width == 120:
        assert "p90" in output and dropped == ["p99"], output
    else:
        assert dropped and "calib show FILE" in output


@pytest.mark.parametrize("width", WIDTHS)
def test_run_table_of_several_models_and_auto_backends(width):
    from calib.render.run_table import build_run_table

    records = [run_record("torch", "fp32", 1637.2, model="efficientnet_b0-wide"),
               run_record("onnxruntime", "int8-static", 598.1, model="efficientnet_b0-wide"),
               run_record("torch-compile", "bf16", 23.456, model="mobilenet_v3_small", verdict="emulated")]
    for record in records:
        record["backend_choice"] = {"requested": "auto", "picked": record["identity"]["backend"], "why": "fastest"}
    output = assert_fits(build_run_table(records, title="calib run: 2 models on cpu, 16 threads"), width)
    assert "torch-compile" in output and "598.1" in output
    if width == 120:  # `-b auto` no longer costs p90 at 120, and the model names stay whole
        assert "p90" in output.splitlines()[1] and "efficientnet_b0-wide" in output and "mobilenet_v3_small" in output


@pytest.mark.parametrize("width", WIDTHS)
def test_fidelity_table(width):
    from calib.render.fidelity_table import build_fidelity_table

    output = assert_fits(build_fidelity_table(two_backend_records()), width)
    assert "skipped" in output and "FAIL" in output and "above" in output and "1.37" in output


def _layer_record(precision, scale, device="cpu"):
    from calib.layers.table import finish_table

    rows = [{"name": f"encoder.layers.{i}.self_attention.out_proj", "op_kind": "linear" if i % 2 else "conv",
             "median_ms": scale * (12.5 + i), "p90_ms": scale * (13.1 + i), "flops": 2_359_296_000,
             "output_shape": [32, 197, 768], "compute_dtype": "bfloat16" if precision == "bf16" else "float32",
             "flag": "ran in fp32" if precision == "bf16" and i == 0 else None} for i in range(6)]
    layers = finish_table(rows, end_to_end_ms=scale * 101.0, method="fx-graph", repeats=20, pass_s=3.2)
    record = run_record("onnxruntime", precision, scale * 101.0, model="vit_b_16", layers=layers)
    return record


@pytest.mark.parametrize("width", WIDTHS)
def test_layer_tables_keep_their_titles_whole(width):
    from calib.render.layers_table import build_compare_table, build_kind_table, build_layer_table

    fp32, bf16 = _layer_record("fp32", 1.0), _layer_record("bf16", 1.637)
    layers = assert_fits(build_layer_table(bf16), width)
    assert "slowest layers (top 6 of 6)" in layers and "end-to-end" in layers
    kinds = assert_fits(build_kind_table(bf16), width)
    assert "vit_b_16 onnxruntime bf16 b32 [32x3x224x224] cpu: by op kind" in kinds.replace("\n", " ") and \
        "by op kind" in kinds
    compared = assert_fits(build_compare_table(fp32, bf16), width)
    assert "layers by time added" in compared and "speed-up" in compared


def _gate_result():
    from calib.check.gate import GateSettings, gate

    base, cur = [], []
    for index, (backend, precision) in enumerate([("torch", "fp32"), ("onnxruntime", "int8-static"),
                                                  ("onnxruntime", "bf16")]):
        slower = 1.2 if index == 1 else 1.0
        base.append(make_record(lognormal_samples(index, 1637.2), precision, model="resnet50-wide", backend=backend,
                                batch_size=32))
        cur.append(make_record(lognormal_samples(index + 10, 1637.2 * slower), precision, model="resnet50-wide",
                               backend=backend, batch_size=32))
    for records in (base, cur):
        records.append(make_record([], "fp16", model="resnet50-wide", backend="onnxruntime", batch_size=32,
                                   status="skipped"))
    return gate(make_result(base, "base.json"), make_result(cur, "cur.json"), GateSettings())


@pytest.mark.parametrize("width", WIDTHS)
def test_gate_table_keeps_ratios_and_the_whole_note(width):
    from calib.render.gate_table import build_gate_table

    output = assert_fits(build_gate_table(_gate_result()), width)
    assert "regression" in output and "not measured" in output
    assert "skipped" in output and "device" in output  # the note wraps, it is not clipped
    if width == 120:
        assert left_out(output) == []


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_table_of_three_files(width):
    from calib.compare.align import align
    from calib.render.compare_table import build_compare_table

    files = []
    for index in range(3):
        records = [make_record(lognormal_samples(10 * index + n, median * (1 + index / 10)), precision,
                               model="resnet50-wide", backend=backend, batch_size=32,
                               verdict="emulated" if precision == "bf16" else "native")
                   for n, (backend, precision, median) in enumerate([("torch", "fp32", 1637.2),
                                                                     ("onnxruntime", "int8-static", 2.3592),
                                                                     ("torch", "bf16", 23456.7)])]
        files.append(make_result(records, f"results/2025-01-0{index}-resnet50-wide.json"))
    columns, rows = align(files)
    output = assert_fits(build_compare_table(columns, rows, title="calib compare: 3 file(s), 3 column(s)"), width)
    assert "emulated" in output and "vs fp32" in output


def _device_report():
    from calib.hardware.report import report_from_cpu_text
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "hardware" / "sapphirerapids-xeon-8480plus.cpuinfo"
    return report_from_cpu_text(fixture.read_text(), "sapphirerapids.cpuinfo")


@pytest.mark.parametrize("width", WIDTHS)
def test_device_and_probe_tables(width):
    from calib.render.device_table import build_device_table, build_probe_table

    report = _device_report()
    device = report["devices"][0]
    for precision, verdict in device["precisions"].items():
        verdict["measured"] = {"probed": True, "ratio_to_fp32": 16.37, "op": "matmul", "agrees": precision != "fp16"}
    output = assert_fits(build_device_table(device), width)
    assert "int8-static" in output and "16.4x fp32 (matmul) DISAGREES" in output
    probe = {"settings": {"time_per_compute_s": 1.5, "threads": 56, "torch": "2.14.1"},
             "devices": {"cpu": {"bf16": {"probed": True, "ops": {
                 "matmul": {"shape": "2048x2048x2048", "gflops": 2359.296, "ratio_to_fp32": 16.37, "calls": 1637},
                 "conv": {"shape": "32x64x56x56 k3", "gflops": 987.6, "ratio_to_fp32": 0.25, "calls": 12}}},
                 "fp8": {"probed": False, "reason": "no fp8 arithmetic on this CPU"}}}}
    output = assert_fits(build_probe_table(probe), width)
    assert "2.36e+03" in output and "arithmetic" in output and "CPU" in output


@pytest.mark.parametrize("width", WIDTHS)
def test_quant_error_tables_keep_parameter_counts(width):
    from calib.render.quant_error_table import WEIGHT_SCHEMES, build_layer_error_table, build_size_table

    rows = [{"rank": rank + 1, "layer": f"layer4.{rank}.conv2", "kind": "Conv2d", "params": 2_359_296,
             "weight": {scheme: {"sqnr_db": 37.25 + rank, "mse": 1.637e-07} for scheme in WEIGHT_SCHEMES.values()},
             "activation": {"sqnr_db": 28.75, "mse": 2.359e-04, "range": [-12.375, 163.7]}} for rank in range(3)]
    rows[2]["weight"]["affine/per-tensor"]["sqnr_db"] = float("inf")
    output = assert_fits(build_layer_error_table("resnet50", rows, "per-channel", 53), width)
    assert "2,359,296" in output and "2,359,2…" not in output
    sizes = [{"precision": "fp32", "serialized_bytes": 102_760_448, "vs_fp32": 1.0, "estimate_bytes": 102_228_128,
              "note": ""},
             {"precision": "int8-static", "serialized_bytes": 25_987_654, "vs_fp32": 0.2529,
              "estimate_bytes": 25_557_032, "note": "53 int8 layers, 2 float"},
             {"precision": "fp8", "serialized_bytes": None, "vs_fp32": None, "estimate_bytes": 25_557_032,
              "note": "not converted: RuntimeError: fp8 needs CUDA 8.9+"}]
    output = assert_fits(build_size_table(sizes), width)
    assert "98.0 MiB" in output and "0.25x" in output


@pytest.mark.parametrize("width", WIDTHS)
def test_recommend_table(width):
    from calib.fidelity.choose import Choice, Option
    from calib.render.recommend_table import build_recommend_table

    records = two_backend_records()
    decisions = ["best", "runner-up", "failed accuracy", "too slow", "emulated", "runner-up", "skipped"]
    options = [Option(record, f"results/2025-01-01-resnet50-{index}.json", 1637.2 / (index + 1), None, decision,
                      why="accuracy drop 1.37 above budget 1.00" if decision == "failed accuracy" else "")
               for index, (record, decision) in enumerate(zip(records, decisions))]
    choice = Choice("box cpu (AMD EPYC 9654)", "resnet50-wide", 1.0, "item", options)
    output = assert_fits(build_recommend_table(choice, show_source=True), width)
    assert "failed accuracy" in output and "1637.2" in output and "1.37" in output


@pytest.mark.parametrize("width", WIDTHS)
def test_models_table(width):
    from calib.models.catalog import CATALOG
    from calib.render.models_table import build_models_table

    counts = {name: 2_359_296 * (index + 1) for index, name in enumerate(CATALOG)}
    output = assert_fits(build_models_table(CATALOG.values(), counts), width)
    assert "2.36 M" in output and "mobilenet_v3_small" in output


@pytest.mark.parametrize("width", WIDTHS)
def test_ab_table(width):
    from calib.render.ab_table import build_pair_table

    pairs = []
    for backend, precision, median in (("torch", "fp32", 1637.2), ("onnxruntime", "int8-static", 2.3592)):
        base = run_record(backend, precision, median)
        current = run_record(backend, precision, median * 1.05)
        for record in (base, current):
            record["timing"]["rounds"] = [samples(median)] * 24
            record["timing"]["interleave"] = {"stop": "max rounds"}
        pairs.append((base, current))
    skipped = run_record("onnxruntime", "fp16", status="skipped")
    pairs.append((skipped, skipped))
    output = assert_fits(build_pair_table(pairs, "resnet50-wide-baseline", "resnet50-wide-current"), width)
    assert "1.05x" in output and "skipped" in output and "machine" in output


def test_a_title_wider_than_its_table_gets_its_own_line():
    from rich.table import Table

    table = Table(title="a title much wider than this narrow table: by op kind", title_justify="left")
    table.add_column("n", no_wrap=True)
    table.add_row("2,359,296")
    output = render(Fitted(table), 80)
    assert output.splitlines()[0].strip() == "a title much wider than this narrow table: by op kind"
    assert "2,359,296" in output
