"""The sweep: every (backend, precision, batch size) of one model, measured and stored.

spec -> configuration -> prepared model -> measurement -> record, each record added to the
writer as it finishes so a crash or Ctrl-C keeps what finished. A failure inside one
configuration is recorded and the sweep goes on. `run_sweep` measures in this process;
calib.worker runs the same `measure_configuration` in a child process, which is what makes a
per-configuration timeout real (a hung call cannot be interrupted from Python).
"""

from __future__ import annotations

from typing import Callable

from calib import lifecycle
from calib.configuration import Configuration
from calib.models.loader import check_inputs_fit
from calib.spec import SweepSpec
from calib.timing.engine import measure
from calib.user_files import call_user


def run_sweep(spec: SweepSpec, model, writer, device_report: dict | None,
              on_start: Callable[[Configuration], None] | None = None,
              on_done: Callable[[dict], None] | None = None,
              on_prepared: Callable[[], None] | None = None, references=None) -> list[dict]:
    """Measure every configuration of `spec` in this process; each record is added to `writer` as it finishes.
    `references`: those prepare_sweep already ran on (InProcessSweep does it before any file is opened);
    None: prepare here."""
    from calib import fidelity

    if references is None:
        references = fidelity.references()
        prepare_sweep(spec, model, references)
    for cell in spec.cells():
        record = measure_configuration(spec, model, *cell, device_report, references, on_start, on_prepared)
        writer.add(record)
        if on_done:
            on_done(record)
    return writer.records


def prepare_sweep(spec: SweepSpec, model, references) -> None:
    """What the sweep does once, before its first configuration: set the threads, and build the
    labelled set now so that a bad --eval-data stops the run before any timing."""
    import torch

    from calib.errors import UsageError

    fixed = getattr(model, "fixed_batch", None)
    other = [b for b in spec.batch_sizes if fixed is not None and b != fixed]
    if other:
        raise UsageError(f"{model.name} takes batch {fixed} only (its batch dimension is fixed), not --batch-size "
                         f"{', '.join(map(str, other))}: use --batch-size {fixed}, or {model.fixed_batch_hint}")
    if spec.seq_len is not None and model.input_kind != "tokens":
        raise UsageError(f"--seq-len {spec.seq_len}: {model.name} takes {model.input_kind} inputs, not tokens "
                         "(use --input-shape)")
    torch.set_num_threads(spec.threads)
    if (spec.input_shape is not None or spec.seq_len is not None) and model.module is not None:
        check_inputs_fit(model)  # calib.models.loader's, as quant-error, train and ab check it
    references.labeled_set(model, spec.fidelity)
    _prepare_user_eval(spec, model, references)
    guard_busy(spec)


def _prepare_user_eval(spec: SweepSpec, model, references) -> None:
    """--eval: import the function now (a bad path stops the run before any timing) and score fp32 once:
    the torch module on the CPU, or, for a graph file (.onnx, IR), the first engine that runs it at fp32.
    That is the reference score, a check that the function returns one, and where int8 calibration data
    comes from by default: the inputs the evaluation feeds are captured (calib.quant.calibration_data)."""
    user_eval = references.user_eval(spec.fidelity)
    if user_eval is None:
        return
    from calib.fidelity.assess import CPU_FAMILY, reference_user_score

    batch_size = spec.batch_sizes[0]
    if model.module is not None:
        references.user_score(CPU_FAMILY, lambda: reference_user_score(user_eval, model, batch_size))
        return
    engine, prepared = _fp32_engine(spec, model, batch_size)
    if prepared is None:
        return
    with prepared:
        references.keep_user_score(engine, reference_user_score(user_eval, model, batch_size,
                                                                run_on=prepared.run_on))


def _fp32_engine(spec: SweepSpec, model, batch_size: int):
    """(engine, Prepared at fp32) for a graph file's reference pass: the first engine of the sweep's that
    runs it (under auto, the rule's pick), or (None, None) when none can run other inputs."""
    from calib.backends import get_backend
    from calib.backends.auto import engines

    usable, _ = engines(model, "fp32", spec.device)
    named = [b for b in spec.backends if b in usable]
    order = list(dict.fromkeys(named + usable)) if "auto" in spec.backends else named
    for engine in order:
        try:
            prepared = get_backend(engine).prepare(model, spec.run_config("fp32", batch_size))
        except Exception:  # noqa: BLE001 - the configurations themselves will say why it cannot run
            continue
        if prepared.run_on is not None:
            return engine, prepared
        prepared.release()
    return None, None


def configuration_of(spec: SweepSpec, model, backend: str, precision: str, batch_size: int
                     ) -> tuple[Configuration, dict | None]:
    """The configuration a cell measures: `auto` becomes a concrete backend per precision and
    device (the rule's pick; unless --no-tune the engines are then raced, calib.tuning), and what
    was picked and why is returned for the record."""
    choice = None
    if backend == "auto":
        from calib.backends.auto import choose

        picked, why = choose(model, precision, spec.device)
        backend, choice = picked, {"requested": "auto", "picked": picked, "why": why}
    configuration = Configuration(model.name, backend, precision, batch_size, (batch_size, *model.item_shape),
                                  spec.device)
    return configuration, choice


class InProcessSweep:
    """The sweep of an already loaded model, measured in this process (no timeout can stop a hung
    call here; calib.worker.IsolatedSweep has the same interface and can)."""

    def __init__(self, spec: SweepSpec, model):
        self.spec, self.model, self.model_name = spec, model, model.name
        self.on_start: Callable[[Configuration], None] | None = None
        self.on_prepared: Callable[[], None] | None = None  # its conversion is done: timing starts

    def __enter__(self) -> "InProcessSweep":
        """prepare_sweep now, as the worker does when it loads: a bad --eval-data or --busy error stops the
        run before the caller opens its results file (no empty file left behind)."""
        from calib import fidelity

        self.references = fidelity.references()
        prepare_sweep(self.spec, self.model, self.references)
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def run(self, writer, device_report: dict | None, on_done: Callable[[dict], None] | None = None) -> list[dict]:
        return run_sweep(self.spec, self.model, writer, device_report, on_start=self.on_start, on_done=on_done,
                         on_prepared=self.on_prepared, references=getattr(self, "references", None))


def measure_configuration(spec: SweepSpec, model, backend: str, precision: str, batch_size: int,
                          device_report: dict | None, references, on_start=None, on_prepared=None) -> dict:
    """One configuration's record: measured, or skipped/failed with the reason. `on_start(configuration)`
    and `on_prepared()` say when it starts and when its conversion is done (calib.worker's deadlines)."""
    configuration, choice = configuration_of(spec, model, backend, precision, batch_size)
    record = lifecycle.new_record(configuration, device_report)
    record["model_weights"] = getattr(model, "weights", "user")
    if choice:
        record["backend_choice"] = choice
    example_batch = model.example_batch_warning(batch_size)  # calib ab records the same (calib.models.base)
    if example_batch:
        record["warnings"].append(example_batch)
    if on_start:
        on_start(configuration)
    try:  # supervised: the model's own code runs here, and sys.exit() in it fails this configuration only
        call_user(_measure_one, spec, model, configuration, record, references, on_prepared)
    except Exception as exc:  # noqa: BLE001 - one configuration failing must not end the sweep
        lifecycle.mark_unmeasured(record, exc)
    return record


def _measure_one(spec: SweepSpec, model, configuration: Configuration, record: dict, references,
                 on_prepared=None) -> None:
    from calib.tuning import adopt_engine, prepare_tuned

    run_config = spec.run_config(configuration.precision, configuration.batch_size)
    if configuration.precision == "int8-static":
        _note_calibration(model, run_config.calibration, record)
    prepared, tuning = prepare_tuned(model, configuration, run_config, spec.tune, references,
                                     auto=bool(record.get("backend_choice")), fidelity=spec.fidelity)
    if tuning:
        record["tuning"] = tuning
        configuration = adopt_engine(record, configuration, tuning)  # auto: the engine that won
    measure_prepared(spec, model, configuration, record, prepared, references, on_prepared)


def measure_prepared(spec: SweepSpec, model, configuration: Configuration, record: dict, prepared, references,
                     on_prepared=None) -> None:
    """Time a prepared model, then its fidelity and (with --layers) its per-layer table, into `record`
    (the sweep's configurations, and a model prepared elsewhere: OpenVINO's accuracy-controlled int8)."""
    import torch

    from calib import fidelity
    from calib.fidelity.alarm import warning as total_disagreement

    with prepared:
        if on_prepared:
            on_prepared()
        meter = before_timing(spec.busy, configuration.device, record)  # busy check, idle power
        other_cpu = lifecycle.other_cpu_use()
        with torch.inference_mode():
            with meter.region():  # energy over the timed region (calib.energy)
                if spec.scenario is not None and not spec.scenario.single_stream:
                    measurement = _measure_scenario(spec, model, configuration, record, prepared)
                else:
                    measurement = measure(prepared.run, lifecycle.timer_for(prepared), spec.timing,
                                          batch_size=configuration.batch_size)
            other_cpu_percent = other_cpu.stop() if other_cpu else None
            outputs = prepared.run()
        summary = lifecycle.fill_measured(record, prepared, measurement, other_cpu_percent)
        record["energy"] = energy_of(meter, measurement, record.get("scenario"))
        record["fidelity"] = fidelity.evaluate(spec.fidelity, model, configuration, outputs, references,
                                               prepared=prepared)
        disagreement = total_disagreement(record["fidelity"], configuration.precision, getattr(model, "weights", None))
        if disagreement:  # outputs unrelated to fp32's: a warning line, not only a number in the table
            record["warnings"].append(disagreement)
        if spec.layers is not None:
            record["layers"] = _layers(prepared, summary.median_ms, spec.layers)
        if configuration.device.startswith("cuda"):  # last: its calls must not overwrite `outputs` (CUDA graphs)
            record["cuda_split"] = cuda_split_of(prepared, configuration.backend)


def _measure_scenario(spec: SweepSpec, model, configuration: Configuration, record: dict, prepared):
    """--scenario multi-stream|server|offline (calib.scenarios): the measurement, and the record's
    "scenario" section. Other points (batch sizes, streams) are prepared again from the candidate
    calib.tuning kept."""
    from calib.scenarios.measure import measure_scenario
    from calib.scenarios.reprepare import reprepare_for

    reprepare = reprepare_for(model, configuration, spec.run_config(configuration.precision,
                                                                    configuration.batch_size), prepared)
    measurement, record["scenario"] = measure_scenario(spec.scenario, prepared, configuration.batch_size,
                                                       spec.threads, configuration.device, reprepare)
    return measurement


def _note_calibration(model, calibration, record: dict) -> None:
    """Where int8-static's calibration data came from, in the record; a warning when a trained model is
    calibrated on random inputs."""
    from calib.quant.calibration_data import describe, random_calibration_warning

    record["calibration_data"] = describe(model, calibration)
    warning = random_calibration_warning(model, calibration)
    if warning:
        record["warnings"].append(warning)


def _layers(prepared, end_to_end_ms: float, settings):
    """Per-layer pass, after (never during) the end-to-end measurement (calib.layers)."""
    if prepared.module is None and prepared.profile_layers is not None:
        return prepared.profile_layers(end_to_end_ms, settings)  # the backend's own profiler (ONNX Runtime)
    from calib import layers

    return layers.profile(prepared, end_to_end_ms, settings)


def guard_busy(spec: SweepSpec) -> None:
    """--busy wait / error, once before the first configuration: wait for quiet, or refuse
    (calib.errors.DeviceBusy). With warn (the default) nothing waits here: each record says what it saw."""
    if spec.busy == "warn":
        return
    import sys

    from calib.hardware.busy import guard

    seen = guard(spec.busy, spec.device, on_wait=lambda check: print(
        f"calib: waiting for quiet: {check.describe()}", file=sys.stderr, flush=True))
    if seen.warning():
        print(f"calib: warning: {seen.warning()}", file=sys.stderr, flush=True)


def before_timing(busy_mode: str, device: str, record: dict):
    """Just before the timed region: other processes on the GPU, and where an energy counter covers the
    device, its idle power over a quiet window (other processes' CPU use sampled over the same window).
    Fills record["busy_check"]; returns the calib.energy meter for the region."""
    from calib.energy import meter_for
    from calib.hardware.busy import BusyCheck, gpu_processes

    meter = meter_for(device)
    other_cpu = lifecycle.other_cpu_use() if meter.counter is not None else None
    meter.idle()
    processes, reason = gpu_processes(device)
    check = BusyCheck(busy_mode, device, other_cpu.stop() if other_cpu else None, processes, reason)
    record["busy_check"] = check.to_json()
    if check.warning():
        record["warnings"].append(check.warning())
    return meter


def cuda_split_of(prepared, backend: str) -> dict:
    """record["cuda_split"]: H2D, compute, D2H and host latency apart (calib.timing.cuda_split), a pass of its
    own after the timing; a failure here is the split's reason, never the configuration's."""
    from calib.errors import first_line
    from calib.timing.cuda_split import split_prepared

    try:
        return split_prepared(prepared, backend)
    except Exception as exc:  # noqa: BLE001 - an extra figure must not fail a measured configuration
        return {"value": None, "reason": f"{type(exc).__name__}: {first_line(exc)}"}


def energy_of(meter, measurement, scenario: dict | None = None) -> dict:
    """record["energy"]: over every call of the timed region (cold, warm-up and samples), per item. A
    --scenario region (streams, queries, re-prepared batch sizes) keeps its joules and average power; its
    items are not counted here, so its per-item figures are None."""
    if scenario is not None:
        energy = meter.result(None)
        if "joules" in energy:
            energy["per_item_reason"] = f"--scenario {scenario.get('name')}: items not counted by the meter"
        return energy
    calls = 1 + len(measurement.warmup_ms) + len(measurement.samples_ms)
    energy = meter.result(calls * measurement.batch_size)
    if "joules" in energy:
        energy["calls"] = calls
    return energy


__all__ = ["run_sweep", "InProcessSweep", "prepare_sweep", "configuration_of", "measure_configuration",
           "measure_prepared"]
