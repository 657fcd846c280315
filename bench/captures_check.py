"""Run calib's hardware parser and verdicts over the shared corpus of real captures.

    python bench/captures_check.py [CAPTURES_DIR]     (default: ../shared/captures from the repo root)

For every CPU capture it prints what was detected and the verdicts, and checks them against
the ground truth in cpuinfo/MANIFEST.md (which flags each capture contains): the flags must be
parsed as the manifest says, and every verdict must follow from those flags by the rules written
out independently below. Jetson identity captures are assembled into a fake root directory:
as captured (NULs lost in a terminal), with the NULs the real files have, with only the first
compatible entry (what tools that stop at the first NUL keep), with the model string alone, and
the L4T release alone (which must be reported as ambiguous).
Exits 1 if anything is wrong.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from calib.hardware import device_report, verdict_for  # noqa: E402
from calib.hardware.report import report_from_cpu_text  # noqa: E402

N, E, U = "native", "emulated", "unsupported"


def manifest_rows(manifest: Path) -> list[dict]:
    """Rows of every markdown table whose first cell is a `file`, keyed by the table's header."""
    rows, header = [], None
    for line in manifest.read_text().splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif cells[0].startswith("`"):
            rows.append({"file": cells[0].strip("`"), **dict(zip(header[1:], cells[1:]))})
    return rows


def expected_cpu_verdicts(row: dict, x86: bool) -> dict[str, tuple[str, str]]:
    """precision -> (status, flag the deciding rule requires), from the manifest's columns alone."""
    has = {flag: row[flag].startswith("yes") for flag in row if row[flag] in ("yes", "no") or row[flag].startswith("yes")}
    if x86:
        bf16 = (N, "amx_bf16") if has["amx_bf16"] else (N, "avx512_bf16") if has["avx512_bf16"] else (E, "")
        fp16 = (N, "avx512_fp16") if has["avx512_fp16"] else (E, "f16c")  # every x86 capture here has f16c
        int8_flag = next((f for f in ("amx_int8", "avx512_vnni", "avx_vnni") if has[f]), "avx2")
        int8 = (N, int8_flag)
    else:
        bf16 = (N, "bf16") if has["bf16"] else (E, "")
        fp16 = (N, "fphp asimdhp") if has["fphp"] and has["asimdhp"] else (E, "")
        int8 = (N, next((f for f in ("i8mm", "asimddp") if has[f]), "asimd"))
    return {"fp32": (N, None), "tf32": (U, ""), "fp16": fp16, "bf16": bf16, "amp-fp16": fp16, "amp-bf16": bf16,
            "int8-dynamic": int8, "int8-static": int8, "fp8": (U, "")}


def check_cpu_capture(path: Path, row: dict, x86: bool) -> list[str]:
    report = report_from_cpu_text(path.read_text(errors="replace"), path.name)
    cpu, problems = report["cpu"], []
    want_arch = "x86_64" if x86 else "aarch64"
    if cpu["arch"] != want_arch:
        problems.append(f"arch {cpu['arch']} != {want_arch}")
    for flag, value in row.items():
        if value == "no" or value.startswith("yes"):
            if (flag in cpu["flags"]) != value.startswith("yes"):
                problems.append(f"flag {flag}: manifest says {value.split()[0]}, parser says the opposite")
    verdicts = {}
    for precision, (status, flag) in expected_cpu_verdicts(row, x86).items():
        verdict = verdict_for(report, "cpu", precision)
        verdicts[precision] = verdict["status"]
        if verdict["status"] != status:
            problems.append(f"{precision}: {verdict['status']} != expected {status}")
        elif flag and not verdict["rule"].endswith(f"requires {flag}"):
            problems.append(f"{precision}: decided by '{verdict['rule']}', expected a rule on {flag}")
    print(f"{'OK  ' if not problems else 'FAIL'} {path.name}")
    print(f"     {cpu['arch']} | {cpu['vendor']} | {cpu['model']} | {cpu['physical_cores']} cores | "
          f"flags: {' '.join(cpu['precision_flags'])}")
    print("     " + "  ".join(f"{p}={s}" for p, s in verdicts.items()))
    print(f"     int8 engine: {verdict_for(report, 'cpu', 'int8-dynamic').get('engine')}")
    for problem in problems:
        print(f"     !! {problem}")
    return problems


def _jetson_root(base: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        target = base / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return base


def check_jetson(captures: Path) -> tuple[int, list[str]]:
    """The Orin Nano Super board in four forms (whole, NUL-terminated, first entry only, model only);
    the AGX Orin release alone."""
    jetson = captures / "jetson"
    model = (jetson / "orin-nano-super-sjsu.device-tree-model.txt").read_bytes()
    compatible = (jetson / "orin-nano-super-sjsu.device-tree-compatible.txt").read_bytes()
    release = (jetson / "orin-nano-super-sjsu.nv_tegra_release-head1.txt").read_bytes()
    entries = [b"nvidia,p3768-0000+p3767-0005-super", b"nvidia,p3767-0005", b"nvidia,tegra234"]
    with_nuls = b"\0".join(entries) + b"\0"  # how the kernel really exposes the list
    # (model, compatible, release, what must be identified from which evidence); None: file absent.
    model_text = "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
    whole = {"model": model_text, "soc": "tegra234", "l4t": "36.4.3", "compatible": [e.decode() for e in entries],
             "identified_from": "compatible", "module_part": "p3767-0005", "carrier_part": "p3768-0000"}
    forms = {
        "as captured (NULs lost)": (model, compatible, release, whole),
        "real device-tree form (NUL-terminated)": (model.rstrip(b"\n") + b"\0", with_nuls, release, whole),
        # Tools that stop at the first NUL keep only the board+module entry: the part number must do.
        "first compatible entry only, no model": (None, entries[0], release, {
            "soc": "tegra234", "identified_from": "module part number", "module_part": "p3767-0005",
            "module": "Jetson Orin Nano 8GB (developer kit)", "compatible": [entries[0].decode()]}),
        "model string only": (model, None, None, {"soc": "tegra234", "identified_from": "model string"}),
    }
    problems, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for index, (label, (model_bytes, compatible_bytes, release_bytes, facts)) in enumerate(forms.items()):
            files = {"proc/device-tree/model": model_bytes, "proc/device-tree/compatible": compatible_bytes,
                     "etc/nv_tegra_release": release_bytes}
            root = _jetson_root(Path(tmp) / f"nano{index}", {k: v for k, v in files.items() if v is not None})
            problems += _check_jetson_report(f"orin-nano-super-sjsu, {label}", device_report(root=root), facts,
                                             expect_gpu=True)
            checked += 1
        agx = _jetson_root(Path(tmp) / "agx", {
            "etc/nv_tegra_release": (jetson / "agx-orin-64gb-warpik.nv_tegra_release.txt").read_bytes()})
        # R36 alone: Orin or Xavier, so no SoC and no GPU verdicts, and the evidence says it is ambiguous.
        problems += _check_jetson_report("agx-orin-64gb-warpik nv_tegra_release only", device_report(root=agx),
                                         {"l4t": "36.4.3", "l4t_gcid": "38968081", "soc": None,
                                          "soc_candidates": ["tegra194", "tegra234"]}, expect_gpu=False)
        if "ambiguous" not in ((device_report(root=agx)["jetson"] or {}).get("identity_evidence") or ""):
            problems.append("agx-orin-64gb-warpik: release-only evidence does not say it is ambiguous")
        checked += 1
    return checked, problems


def _check_jetson_report(label: str, report: dict, facts: dict, expect_gpu: bool) -> list[str]:
    jetson, problems = report["jetson"] or {}, []
    for key, value in facts.items():
        if jetson.get(key) != value:
            problems.append(f"{label}: {key} = {jetson.get(key)!r}, expected {value!r}")
    gpu = next((d for d in report["devices"] if d["id"] == "cuda:0"), None)
    if expect_gpu:
        expected = {"fp16": N, "bf16": N, "tf32": N, "int8-dynamic": N, "fp8": U}  # Orin: compute capability 8.7
        if gpu is None or gpu["compute_capability"] != "8.7":
            problems.append(f"{label}: no cuda:0 with compute capability 8.7 from the SoC table")
        else:
            for precision, status in expected.items():
                verdict = gpu["precisions"][precision]
                if verdict["status"] != status or "SoC table" not in verdict["evidence"]:
                    problems.append(f"{label}: cuda:0 {precision} {verdict['status']} ({verdict['evidence']})")
    elif gpu is not None:
        problems.append(f"{label}: a cuda:0 appeared without a SoC to derive it from")
    print(f"{'OK  ' if not problems else 'FAIL'} jetson: {label}")
    print(f"     model={jetson.get('model')!r} soc={jetson.get('soc')} l4t={jetson.get('l4t')} "
          f"cuda:0={'cc ' + gpu['compute_capability'] if gpu else 'none'}")
    print(f"     identified from {jetson.get('identified_from')}: {jetson.get('identity_evidence')}")
    for problem in problems:
        print(f"     !! {problem}")
    return problems


def main(argv: list[str]) -> int:
    captures = Path(argv[1]) if len(argv) > 1 else REPO.parent / "shared" / "captures"
    manifest = captures / "cpuinfo" / "MANIFEST.md"
    if not manifest.exists():
        print(f"no captures at {captures} (expected cpuinfo/MANIFEST.md)", file=sys.stderr)
        return 2
    rows = manifest_rows(manifest)
    failures, checked = 0, 0
    for row in rows:
        path = captures / "cpuinfo" / row["file"]
        x86 = "avx512_bf16" in row
        failures += bool(check_cpu_capture(path, row, x86))
        checked += 1
    unlisted = {p.name for p in (captures / "cpuinfo").glob("*.txt")} - {row["file"] for row in rows}
    for name in sorted(unlisted):
        print(f"FAIL {name}: not in the manifest, no ground truth")
        failures += 1
    jetson_checked, jetson_problems = check_jetson(captures)
    failures += bool(jetson_problems)
    print(f"\n{checked} CPU captures and {len(list((captures / 'jetson').glob('*.txt')))} Jetson files "
          f"({jetson_checked} Jetson roots): {'all verdicts right' if not failures else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
