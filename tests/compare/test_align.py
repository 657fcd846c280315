"""Aligning records from several results files: rows by configuration, columns by file and device."""

from calib.compare.align import align
from calib.compare.environment import against_first, environment_difference
from check.records import lognormal_samples, make_record, make_result


def test_rows_align_across_files_and_devices():
    laptop = make_result([make_record(lognormal_samples(1, 2.0), "fp32"),
                          make_record(lognormal_samples(2, 40.0), "bf16", verdict="emulated")], path="i7.json")
    jetson = make_result([make_record(lognormal_samples(3, 1.0), "fp32", device="cuda:0"),
                          make_record(lognormal_samples(4, 0.5), "bf16", device="cuda:0"),
                          make_record(lognormal_samples(5, 0.4), "fp16", device="cuda:0")], path="orin.json")
    columns, rows = align([laptop, jetson])
    assert [(c.path, c.device) for c in columns] == [("i7.json", "cpu"), ("orin.json", "cuda:0")]
    assert [r.label.split()[2] for r in rows] == ["fp32", "bf16", "fp16"]
    bf16 = rows[1]
    assert bf16.cells[0].speedup_vs_fp32 < 0.1 and bf16.cells[0].verdict == "emulated"
    assert 1.8 < bf16.cells[1].speedup_vs_fp32 < 2.2
    assert 0 not in rows[2].cells  # fp16 not run on the laptop


def test_environment_differences_are_split_into_machine_and_settings():
    difference = environment_difference({"host": "a", "threads": 1, "torch": "2.14"},
                                        {"host": "b", "threads": 2, "torch": "2.14"}, "one", "two")
    assert difference.machine == ("host: 'a' vs 'b'",)
    assert difference.settings == ("threads: 1 vs 2",)
    assert "settings that change timings differ: threads: 1 vs 2" in difference.lines()[1]
    assert against_first([("one", {"threads": 1}), ("two", {"threads": 1})]) == []
