"""The run table's native* note: where a native precision ran slower than fp32, point at the
per-layer comparison and name the op kinds that grew most (item "verdicts that measurement can
overrule"; the table itself is calib.render.run_table's)."""

from calib.render.run_table import NATIVE_BUT_SLOWER_NOTE, note_lines
from tests.render.records import run_record


def _layers(ms_by_name: dict[str, tuple[str, float]]) -> dict:
    return {"layers": [{"name": name, "op_kind": kind, "median_ms": ms} for name, (kind, ms) in ms_by_name.items()]}


FP32_LAYERS = {"conv1": ("conv", 10.0), "bn1": ("norm", 2.0), "fc": ("linear", 1.0), "relu": ("activation", 0.5)}
BF16_LAYERS = {"conv1": ("conv", 18.0), "bn1": ("norm", 4.5), "fc": ("linear", 0.5), "relu": ("activation", 0.5)}


def test_native_but_slower_names_the_kinds_that_grew_and_the_command():
    records = [run_record(precision="fp32", median_ms=13.5, layers=_layers(FP32_LAYERS)),
               run_record(precision="bf16", median_ms=23.5, layers=_layers(BF16_LAYERS))]
    lines = note_lines(records)
    assert NATIVE_BUT_SLOWER_NOTE in lines
    assert "calib layers FILE --compare-precision fp32" in NATIVE_BUT_SLOWER_NOTE
    kinds = next(line for line in lines if "slowed most in" in line)
    assert kinds.startswith("  resnet50-wide torch bf16 b32 slowed most in: conv +8.00 ms (10.00 -> 18.00)")
    assert "norm +2.50 ms" in kinds and "linear" not in kinds and "activation" not in kinds


def test_no_layer_tables_means_just_the_pointer():
    records = [run_record(precision="fp32", median_ms=13.5), run_record(precision="bf16", median_ms=23.5)]
    lines = note_lines(records)
    assert NATIVE_BUT_SLOWER_NOTE in lines and not any("slowed most" in line for line in lines)


def test_peer_of_another_batch_is_not_compared():
    records = [run_record(precision="fp32", median_ms=13.5, layers=_layers(FP32_LAYERS)),
               run_record(precision="bf16", median_ms=23.5, layers=_layers(BF16_LAYERS), batch_size=8),
               run_record(precision="fp32", median_ms=5.0, batch_size=8)]
    lines = note_lines(records)
    assert NATIVE_BUT_SLOWER_NOTE in lines and not any("slowed most" in line for line in lines)


def test_native_and_faster_has_no_note():
    records = [run_record(precision="fp32", median_ms=13.5, layers=_layers(FP32_LAYERS)),
               run_record(precision="bf16", median_ms=6.0, layers=_layers(BF16_LAYERS))]
    assert NATIVE_BUT_SLOWER_NOTE not in note_lines(records)
