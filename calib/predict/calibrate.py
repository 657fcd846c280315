"""`calib calibrate`: measure a calibration table (calib.predict.table) for this device.

Per precision: the isolated op sweep (calib.predict.sweep), then each real model at each batch size
measured end to end and per layer (calib.lifecycle + calib.layers, as `calib run --layers` does), plus
records taken from earlier `calib run --layers` files of this device. Everything lands in one
results file, rewritten after every model, so an interrupted calibration keeps what it finished.
"""

from __future__ import annotations

import math
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from calib.backends.base import RunConfig
from calib.configuration import Configuration, check_batch_size
from calib.environment import capture
from calib.errors import UsageError
from calib.hardware import device_report, verdict_for
from calib.hardware.cpu import check_threads
from calib.lifecycle import fill_measured, mark_unmeasured, new_record, other_cpu_use, prepare
from calib.precisions import get_precision
from calib.predict.clock import check_clock, model_plan, profile_layers, timer_for
from calib.predict.engines import DISTURBED
from calib.predict.models import load_named
from calib.predict.pulse import pulse_ms
from calib.predict.sweep import SweepResult, designed, run_sweep
from calib.predict.table import TABLE_VERSION, device_name
from calib.results.store import ResultWriter, load_result
from calib.settings import Int8Settings, LayerSettings
from calib.timing.engine import measure
from calib.user_files import call_user

DEFAULT_MODELS = {"quick": ("tiny-cnn",), "full": ("resnet18", "mobilenet_v2", "mobilenet_v3_small",
                                                   "efficientnet_b0")}


@dataclass(frozen=True)
class CalibrationPlan:
    precisions: tuple[str, ...]
    device: str = "cpu"
    threads: int = 1
    sweep: str = "full"
    budget_s: float = 600.0  # per precision, for the isolated sweep
    op_budget_s: float = 0.25
    models: tuple[str, ...] = ()
    batch_sizes: tuple[int, ...] = (1,)
    from_results: tuple[str, ...] = ()
    extra_ops: tuple = ()  # OpSpec, after the sweep's own
    ops: tuple | None = None  # OpSpec: replaces the designed sweep (tests, a user's own sweep)
    model_max_time_s: float = 2.0
    layer_budget_s: float = 2.0
    clock: str = "wall"  # calib.predict.clock: "cpu" = thread CPU time, one thread
    revisits: int = 2  # each model timed again end to end in this many more fresh processes (revisit)
    from_table: str | None = None  # an engine table of another device to start from (calib.predict.transfer)

    def __post_init__(self):
        for precision in self.precisions:
            if get_precision(precision).family not in ("float", "int8") or precision == "int8-dynamic":
                raise UsageError(f"--precision {precision}: calibration tables cover fp32, bf16, fp16 and "
                                 "int8-static (torch eager)")
        if self.budget_s <= 0 or self.op_budget_s <= 0:
            raise UsageError("--budget-s must be positive")
        check_clock(self.clock, self.threads)
        for batch_size in self.batch_sizes:
            check_batch_size(batch_size)
        check_threads(self.threads)


@dataclass
class CalibrationReport:
    path: str
    elapsed_s: float
    per_precision: dict = field(default_factory=dict)  # precision -> {"sweep_s", "models_s", "ops", ...}


def calibrate(plan: CalibrationPlan, out_path, progress=None, on_open=None, on_item=None) -> CalibrationReport:
    """`on_open(writer)`: called once the results file is open (the CLI says where an earlier table there went).
    `progress(text)` says what starts; `on_item(index, total, phase, label)` the same with its place among
    all the ops and models of every precision (an op over the budget is skipped past)."""
    import torch

    adaptive = plan.sweep == "real" and plan.ops is None
    if adaptive:  # real layer shapes: space-filling, then where the law errs most
        from calib.predict.engines import ENGINE_MODELS
        from calib.predict.real_shapes import real_shape_specs

        from calib.predict.models import FC_HEADS, KERNEL_SAMPLES

        # the FullyConnected heads' linears too (VGG-size, tens of MB of weights): no family has one, and without
        # them AlexNet's 9216x4096 int8 linear was priced by a coarser law at 3.8x its time (+122% end to end)
        families = [name for name in ENGINE_MODELS["full"] if name not in KERNEL_SAMPLES or name in FC_HEADS]
        specs = real_shape_specs(families, plan.batch_sizes) + list(plan.extra_ops)
    else:
        specs = list(plan.ops if plan.ops is not None else designed(plan.sweep)) + list(plan.extra_ops)
    per_precision = len(specs) + len(plan.models) * len(plan.batch_sizes)
    total = per_precision * len(plan.precisions)
    said = progress or (lambda text: None)

    def progress(index, phase, label):
        said(label)
        if on_item is not None:
            on_item(index, total, phase, label)

    torch.set_num_threads(plan.threads)
    started = time.perf_counter()
    report = device_report()
    environment = capture(plan.threads, report)
    imported = _imported_records(plan.from_results, environment, plan.device)
    loaded = [_load(name) for name in plan.models]
    writer = ResultWriter(out_path, environment, report)
    if on_open is not None:
        on_open(writer)
    section = {"table_version": TABLE_VERSION, "device": plan.device,
               "device_name": device_name(environment, plan.device), "backend": "torch",
               "threads": plan.threads, "clock": plan.clock, "sweep": plan.sweep, "tables": {}, "elapsed_s": None}
    writer.payload["calibration"] = section
    result = CalibrationReport(str(writer.path), 0.0)
    with writing_table(writer, section, result, started):
        for precision_index, precision in enumerate(plan.precisions):
            first = precision_index * per_precision
            precision_started = time.perf_counter()
            sweep, sweep_other_cpu = sweep_apart(adaptive, specs, precision, plan, lambda index: progress(
                first + index, "op", f"{precision} op {specs[index].label}"))
            if specs and loaded:
                settle()
            verdict = verdict_for(report, plan.device, precision)
            section["tables"][precision] = {
                "precision": precision, "verdict": verdict,
                "emulated": bool(verdict and verdict.get("status") == "emulated"),
                "ops": sweep.rows, "op_count": sweep.measured, "skipped": sweep.skipped, "sweep_s": sweep.elapsed_s,
                "models_s": None, "elapsed_s": None, "other_cpu_percent": sweep_other_cpu}
            writer.flush()
            models_started = time.perf_counter()
            position = first + len(specs)
            pulses = section["tables"][precision]["speed_pulses_ms"] = []  # the machine's speed (calib.predict.pulse)
            for name, model in zip(plan.models, loaded):
                if plan.device == "cpu":
                    pulses.append(pulse_ms(plan.threads))
                for record in measure_apart(name, model, "torch", precision, plan, report, lambda index, at=position:
                                            progress(at + index, "model",
                                                     f"{precision} model {model.name} b{plan.batch_sizes[index]}")):
                    writer.add(record)
                position += len(plan.batch_sizes)
            if loaded and plan.device == "cpu":
                pulses.append(pulse_ms(plan.threads))
            # time_fresh reads the wall clock: no revisits for a --clock cpu table
            if loaded and plan.device == "cpu" and plan.revisits and plan.clock == "wall":
                revisit([r for r in writer.records if r["identity"]["precision"] == precision], plan, precision,
                        said)
                writer.flush()
            for record in imported:
                if record["identity"]["precision"] == precision:
                    writer.add(record)
            table = section["tables"][precision]
            table["models_s"] = time.perf_counter() - models_started
            table["elapsed_s"] = time.perf_counter() - precision_started
            result.per_precision[precision] = {
                "ops": sweep.measured, "skipped": len(sweep.skipped), "sweep_s": sweep.elapsed_s,
                "models_s": table["models_s"], "elapsed_s": table["elapsed_s"],
                "models": sum(1 for r in writer.records if r["identity"]["precision"] == precision
                              and r["status"] == "ok"),
                "emulated": table["emulated"],
                # the most other processes took during the sweep or any model: above 25% no timing here is evidence
                "other_cpu_percent": most_percent([sweep_other_cpu] + [
                    r.get("other_cpu_percent") for r in writer.records if r["identity"]["precision"] == precision])}
    return result


def sweep_apart(adaptive: bool, specs: list, precision: str, plan: CalibrationPlan,
                on_index) -> tuple[SweepResult, float | None]:
    """The op sweep in a process of its own (calib.worker.call_in_child), with the CPU other processes took meanwhile
    (watched there: this process, waiting, is one of them); `on_index(i)` as specs[i] starts. Why: the
    thousands of modules it builds and frees leave this process slower for every later timing, so the models
    measured next (and a bench's ground truth after them) would not run as `calib run` runs them. Measured on the
    Intel AMX machine kind, 2 threads, after a 60-120 s sweep and the collection that frees it: resnet18 int8 b1
    1.95 -> 2.26-2.45 ms, mobilenet_v2 int8 b1 3.8 -> 4.4-4.9 ms, resnet18 fp32 b1 15.6 -> 16.4 ms; gc, malloc_trim
    and transparent huge pages did not undo it, a fresh model prepared after it ran as slow."""
    if not specs:
        return SweepResult([], 0, [], 0.0), None
    from calib.worker import call_in_child

    return call_in_child(_sweep, (adaptive, specs, precision, plan.device, plan.threads, plan.budget_s,
                                  plan.op_budget_s, plan.clock), on_index, name="calib op sweep")


def _sweep(adaptive, specs, precision, device, threads, budget_s, op_budget_s, clock, progress) -> SweepResult:
    import torch

    from calib.predict.real_shapes import adaptive_sweep

    torch.set_num_threads(threads)
    index = {id(spec): position for position, spec in enumerate(specs)}
    sweeper = adaptive_sweep if adaptive else run_sweep
    watch = other_cpu_use()  # the op sweep's neighbours, as each model record keeps its own
    result = sweeper(specs, precision, device, threads, budget_s, op_budget_s,
                     on_op=lambda spec: progress(index[id(spec)]), clock=clock)
    return result, watch.stop() if watch else None


@contextmanager
def writing_table(writer, section: dict, result: CalibrationReport, started: float):
    """Around a calibration's measurements (torch's and the engines'): at the end the elapsed time, a table
    with nothing measured refused, the file finished; on any error or Ctrl-C the elapsed time too and what
    finished flushed to disk before the file is closed, and the error goes on."""
    try:
        yield
        section["elapsed_s"] = time.perf_counter() - started
        _refuse_empty(result.per_precision, section)
        writer.finish()
    except BaseException:
        section["elapsed_s"] = time.perf_counter() - started
        writer.flush()
        writer.close()
        raise
    result.elapsed_s = section["elapsed_s"]


def most_percent(percents) -> float | None:
    known = [percent for percent in percents if percent is not None]
    return max(known) if known else None


def _refuse_empty(per_precision: dict, section: dict) -> None:
    """A precision with no op and no model measured is no table to predict from: the file is kept, not marked
    complete, and the command fails (exit 1) saying why, never a complete table of 0 ops."""
    from calib.errors import CalibError

    empty = [precision for precision, figures in per_precision.items() if not figures["ops"] and not figures["models"]]
    if empty:
        skipped = section["tables"][empty[0]]["skipped"]
        why = f" ({len(skipped)} op(s) left out; first: {skipped[0]})" if skipped else ""
        raise CalibError(f"nothing was measured at {', '.join(empty)}: no op and no model{why}")


def _load(name: str):
    return load_named(name)


def measure_apart(name: str, model, engine: str, precision: str, plan: CalibrationPlan, report: dict | None,
                  on_index, measure=None) -> list[dict]:
    """A calibration model's records, one per batch size, measured in a fresh process of its own
    (calib.worker.call_in_child, which loads it again by `name`) by `measure(model, batch_size=...)`, a picklable
    callable (default: torch's measure_model here; an engine's: calib.predict.engine_calibrate.measure_model,
    partly applied); `on_index(i)` as batch size i starts. Why: a process that has
    built and run other models runs the next one slower, the more the longer its history (measured on the Intel
    AMX machine kind, torch fp32 b1, 2 threads, each model prepared, timed and released in turn: mobilenet_v2 12.3
    ms first, 13.5-13.7 ms after 8 other models, 13.7 ms after 16; efficientnet_b0 17.2 -> 19.4 ms; resnet18 21.6
    -> 22.9 ms; neither freezing nor disabling the garbage collector nor malloc_trim undid it, and Python's own
    per-call cost did not move). A table measured in one process would price its later models by its history;
    `calib run` and `calib predict --check` measure a model in a process that has run nothing else. A child that
    dies leaves its model's records failed with the reason, and the table goes on."""
    from calib.errors import CalibError
    from calib.worker import call_in_child

    try:
        measure = measure or partial(measure_model, precision=precision, plan=plan, report=report)
        return call_in_child(_measure_named, (name, plan.threads, plan.batch_sizes, measure), on_index,
                             name="calib model record")
    except CalibError as exc:
        records = []
        for batch_size in plan.batch_sizes:
            record = new_record(Configuration(model.name, engine, precision, batch_size,
                                              (batch_size, *model.item_shape), plan.device), report)
            mark_unmeasured(record, exc)
            records.append(record)
        return records


REVISIT_BLOCK_S = 0.5


def revisit(records: list[dict], plan: CalibrationPlan, precision: str, said=None, engine: str = "torch") -> None:
    """Each measured model timed again end to end in `plan.revisits` more fresh processes (calib.predict.truth
    .time_fresh by `engine`, as its ground truth is timed; a REVISIT_BLOCK_S block per batch size), the models in
    reverse order then forward, their medians kept in each record's "revisits_ms"; the table prices the model at
    the median of all its processes (calib.predict.table.load_view). Why: a fresh process is a draw of its own. On
    the Intel AMX machine kind (torch int8-static, b1, 2 threads) efficientnet_b0 read 13.4 ms in calibration's
    process and 11.4-12.1 ms in six others, resnet18 2.58 against 2.30-2.49 ms; the table priced every model from
    those draws (bench anchors 0.84-0.99x). The engines' tables too (calib.predict.engine_calibrate): on the AMD
    Zen 5 machine kind (OpenVINO bf16, b1, 2 threads) one process of mobilenet_v3_large read 1.0 ms and the next
    1.57 ms, shufflenet_v2_x1_0 1.05-1.14 ms and 1.4-1.87 ms, while resnet18 stayed within 5%."""
    from calib.errors import CalibError
    from calib.predict.truth import time_fresh

    measured: dict[str, dict[int, dict]] = {}
    for record in records:
        if record.get("status") == "ok" and record.get("model_spec"):
            measured.setdefault(record["model_spec"], {})[int(record["identity"]["batch_size"])] = record
    names = list(measured)
    for visit in range(plan.revisits):
        for name in (reversed(names) if visit % 2 == 0 else names):
            if said is not None:
                said(f"{precision} model {name} again ({visit + 2} of {plan.revisits + 1})")
            try:
                got = time_fresh(engine, precision, name, tuple(measured[name]), plan.threads, REVISIT_BLOCK_S)
            except CalibError:
                continue  # the first process's figure stands
            for batch, samples in got["samples"].items():
                if samples:
                    record = measured[name][batch]
                    record.setdefault("revisits_ms", []).append(statistics.median(samples))


def _measure_named(name: str, threads: int, batch_sizes: tuple[int, ...], measure, progress) -> list[dict]:
    import torch

    torch.set_num_threads(threads)
    model = _load(name)
    records = []
    for index, batch_size in enumerate(batch_sizes):
        progress(index)
        record = measure(model, batch_size=batch_size)
        record["model_spec"] = name  # what loads it again (revisit)
        records.append(record)
    return records


def measure_model(model, precision: str, batch_size: int, plan: CalibrationPlan, report: dict) -> dict:
    """One real model: end-to-end median (CiTarget) then its per-layer table, as `calib run --layers`."""
    configuration = Configuration(model.name, "torch", precision, batch_size, (batch_size, *model.item_shape),
                                  plan.device)
    record = new_record(configuration, report)
    record["model_weights"] = model.weights
    run_config = RunConfig(precision=precision, device=plan.device, batch_size=batch_size, threads=plan.threads,
                           int8=Int8Settings(path="fx"))
    def run() -> None:
        import torch

        with prepare(model, configuration, run_config) as prepared:
            watch = other_cpu_use()
            with torch.inference_mode():  # as `calib run` times it (autograd on records a graph every call)
                measurement = measure(prepared.run, timer_for(plan.clock, prepared),
                                      model_plan(plan.model_max_time_s, min_time_s=0.5), batch_size=batch_size)
            summary = fill_measured(record, prepared, measurement, watch.stop() if watch else None)
            record["layers"] = layers_pass(lambda: profile_layers(
                prepared.module, prepared.inputs, summary.median_ms, LayerSettings(budget_s=plan.layer_budget_s),
                prepared.call_context, plan.clock, plan.device), summary.median_ms)

    try:  # supervised: sys.exit() in the model's code fails this model only (calib.user_files.call_user)
        call_user(run)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a model that cannot run is recorded, the table goes on
        mark_unmeasured(record, exc)
    return record


def layers_pass(run_pass, median_ms: float) -> dict:
    """The per-layer pass, taken again once when the end-to-end it times between its passes is over 20% from the
    median measured just before: something else ran meanwhile, and the table would price every layer of the model
    by it (seen on the Intel AMX machine kind: resnet18 int8 b4 8.45 ms between the passes, 5.17 ms in the timing
    before, 5.26 ms ten minutes later, with the layers summing to 162% of the median). The closer one is kept, and
    says it was retaken."""
    table = run_pass()
    if _off(table, median_ms) > DISTURBED:
        again = run_pass()
        first_ms = table.get("interleaved_end_to_end_ms")
        if _off(again, median_ms) < _off(table, median_ms):
            table = again
        table["retaken"] = {"first_end_to_end_ms": first_ms}  # the median is the record's own
    return table


def _off(table: dict, median_ms: float) -> float:
    between = table.get("interleaved_end_to_end_ms")
    return abs(math.log(between / median_ms)) if between and median_ms else 0.0


def settle(quiet_percent: float = 10.0, most_s: float = 10.0, step_s: float = 0.5) -> float:
    """Wait (at most `most_s`) until other processes use under `quiet_percent` of a core; the seconds waited. Right
    after the op sweep's process, other processes took 11-14% of a core during the first model's timing in two
    bench runs (that process ending, or the kernel reclaiming its gigabytes; not told apart): the models start on a
    quiet machine."""
    started = time.perf_counter()
    while time.perf_counter() - started < most_s:
        watch = other_cpu_use()
        if watch is None:
            break
        time.sleep(step_s)
        if watch.stop() < quiet_percent:
            break
    return time.perf_counter() - started


def _imported_records(paths, environment: dict, device: str) -> list[dict]:
    """Records of `calib run --layers` files measured on this device (same device name and threads),
    torch eager, contiguous layout (the layout calib predicts), with a per-layer table."""
    records = []
    for path in paths:
        payload = load_result(path)
        theirs = payload.get("environment") or {}
        if device_name(theirs, device) != device_name(environment, device):
            raise UsageError(f"--from-results {path}: measured on {device_name(theirs, device)!r}, not on this "
                             f"device ({device_name(environment, device)!r}); a table describes one device")
        if theirs.get("threads") != environment.get("threads"):
            raise UsageError(f"--from-results {path}: measured with {theirs.get('threads')} threads, this table "
                             f"with {environment.get('threads')} (--threads)")
        kept = 0
        for record in payload["records"]:
            identity = record.get("identity") or {}
            info = record.get("backend_info") or {}
            if (record.get("status") == "ok" and identity.get("backend") == "torch" and identity.get("device") == device
                    and (record.get("layers") or {}).get("layers") and info.get("memory_format") != "channels_last"
                    and str(info.get("path", "fx")).startswith(("fx", "ao"))):
                records.append({**record, "from_results": str(path)})
                kept += 1
        if not kept:
            raise UsageError(f"--from-results {path}: no torch-eager record with a per-layer table "
                             "(run it with `calib run --backend torch --layers --no-tune`)")
    return records
