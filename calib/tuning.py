"""Choices are candidates: several implementations of one configuration, measured here.

A backend lists them (`candidates(model, run_config) -> [(name, RunConfig)]`, the hardware rule's
choice first): torch's memory format for 4-D inputs and its int8-static path, ONNX Runtime's int8
activation/weight types. As TensorRT times its tactics, calib prepares every candidate, times
them in short interleaved rounds (one process, so drift falls on all alike), and keeps the
fastest whose outputs are as close to fp32 as the rule's choice. The record keeps every
candidate's median and why the winner won; `--no-tune` takes the rule's first, `--candidate NAME`
pins one (what a CI gate uses so both sides run the same implementation).

Under `--backend auto` the engines are candidates too (calib.backends.auto.engines): every engine
that can run the configuration brings its own candidates ("onnxruntime:u8s8", "openvino", ...),
all raced together, the rule's pick first; the winner's engine becomes the record's backend
(`adopt_engine`). A candidate that did not compute the precision asked for (OpenVINO's bf16 hint
dropped on a CPU without bf16) is not eligible: it would win by measuring another precision.

With --eval, the user's score is the judge, not cosine on random inputs: every candidate that runs is
scored by the user's function, and it is eligible when its drop from fp32 is within --max-drop (or,
without a budget, when it scores at least what the rule's choice scores). A faster candidate ruled out
says why, with the number that ruled it out.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from calib import lifecycle
from calib.backends import get_backend
from calib.backends.auto import engines as auto_engines
from calib.configuration import Configuration
from calib.errors import first_line
from calib.precisions import get_precision
from calib.settings import TuneSettings
from calib.timing.engine import TimingPlan, measure

# A candidate is eligible when its outputs are at most this much further from fp32 (1 - cosine) than
# the rule's first candidate's: a layout or kernel change must not buy speed with accuracy.
COSINE_SLACK = 0.002
SCORE_SLACK = 0.001  # without --max-drop, a candidate may score this much (0.1 point) under the rule's choice
MIN_GAIN = 1.03  # another candidate replaces the rule's choice only when at least this much faster (not noise)
SLOW_CALL_S = 1.0  # a first call slower than this leaves no time to race candidates: the rule's first runs


class CandidatesFailed(RuntimeError):
    """No candidate of a configuration could run: the message lists each one's failure."""


@dataclass
class Entry:
    """One candidate in the race."""
    name: str
    run: Callable[[], object]
    timer: object
    rounds_ms: list[float] = field(default_factory=list)  # the median of each round
    cosine: float | None = None  # of its outputs against the fp32 reference
    finite: bool = True
    failed: str | None = None
    backend: str | None = None
    computed: str | None = None  # the dtype it computed in, where that is not the precision's (a fallback)
    score: float | None = None  # the user's --eval score, where there is one
    score_drop: float | None = None  # points under the fp32 reference score
    unscored: str | None = None  # why a candidate has no score although --eval is given

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.rounds_ms) if self.rounds_ms else None


def race(entries: list[Entry], settings: TuneSettings, batch_size: int = 1) -> None:
    """Time the entries in interleaved rounds (A B C, C B A, ...) within settings.budget_s; each
    entry's rounds_ms gets one median per round. The budget counts the timed calls themselves (so a
    fake clock decides it in tests): past 3x the budget, three rounds must do."""
    import gc

    gc.collect()
    gc.freeze()  # each measure() collects first: with torch's objects frozen that costs ~nothing per round
    try:
        _rounds(entries, settings, batch_size)
    finally:
        gc.unfreeze()


def _rounds(entries: list[Entry], settings: TuneSettings, batch_size: int) -> None:
    block_s = settings.budget_s / (settings.rounds * len(entries))
    spent_s = 0.0
    for index in range(settings.rounds):
        plan = TimingPlan.fixed(block_s, min_count=1, warmup_count=2 if index == 0 else 0)
        for entry in (entries if index % 2 == 0 else entries[::-1]):
            if entry.failed is not None:
                continue
            try:
                measurement = measure(entry.run, entry.timer, plan, batch_size=batch_size)
            except Exception as exc:  # noqa: BLE001 - a candidate that fails to run is out of the race
                entry.failed = f"{type(exc).__name__}: {first_line(exc, 200)}"
                continue
            entry.rounds_ms.append(measurement.summary().median_ms)
            spent_s += (sum(measurement.samples_ms) + sum(measurement.warmup_ms) + measurement.cold_ms) / 1000
        if index >= 2 and spent_s > 3 * settings.budget_s:
            break


def pick(entries: list[Entry], max_drop: float | None = None) -> tuple[Entry, str]:
    """The fastest eligible entry and why. Judged by the user's score where candidates were scored
    (`max_drop`: the --max-drop budget in points), else by cosine to fp32: the rule's choice (the first
    that built and ran) is always eligible; another only when its outputs are as close to fp32
    (COSINE_SLACK) and finite."""
    ran = [e for e in entries if e.failed is None and e.median_ms is not None]
    if not ran:
        raise RuntimeError("no candidate ran: " + "; ".join(f"{e.name}: {e.failed}" for e in entries))
    first = ran[0]
    if any(e.score is not None for e in ran):
        return _pick_by_score(ran, first, entries, max_drop)

    def as_close(entry: Entry) -> bool:
        return first.cosine is None or entry.cosine is None or (1 - entry.cosine) <= (1 - first.cosine) + COSINE_SLACK

    def why_not(entry: Entry) -> str | None:
        if entry is first:
            return None
        if entry.computed is not None:
            return f"computed {entry.computed}, not the precision asked for"
        if not entry.finite:
            return "non-finite outputs"
        return None if as_close(entry) else f"outputs further from fp32 (cosine {entry.cosine:.5f})"

    eligible = [e for e in ran if why_not(e) is None]
    winner = min(eligible, key=lambda e: e.median_ms)
    passed_over = "".join(f"; {e.name} was faster but is out: {why_not(e)}" for e in ran
                          if why_not(e) is not None and e.median_ms < winner.median_ms)
    return _winner_of(first, winner, entries[:entries.index(first)], passed_over)


def _out_by_score(entry: Entry, first: Entry, max_drop: float | None) -> str | None:
    """Why `entry` is not eligible under --eval (None: it is): within the budget, or without one scoring
    at least what the rule's choice `first` scores."""
    if entry.computed is not None:
        return f"computed {entry.computed}, not the precision asked for"
    if not entry.finite:
        return "non-finite outputs"
    if entry.score is None:
        return f"no --eval score ({entry.unscored or 'it cannot run other inputs'})"
    if max_drop is not None and entry.score_drop is not None:
        return None if entry.score_drop <= max_drop + 1e-9 else \
            f"score {entry.score:.4f}, {entry.score_drop:.2f} points under fp32 (budget {max_drop:g})"
    if entry is first or first.score is None:
        return None
    return None if entry.score >= first.score - SCORE_SLACK else \
        f"score {entry.score:.4f} under the rule's choice's {first.score:.4f}"


def _pick_by_score(ran: list[Entry], first: Entry, entries: list[Entry], max_drop: float | None):
    """--eval: eligible = within the budget (or, without one, scoring at least the rule's choice)."""
    def why_not(entry: Entry) -> str | None:
        return _out_by_score(entry, first, max_drop)

    eligible = [e for e in ran if why_not(e) is None]
    if not eligible:
        scored = [e for e in ran if e.score is not None and e.finite] or ran
        best = max(scored, key=lambda e: (e.score if e.score is not None else -1.0, -e.median_ms))
        return best, (f"{best.name}: no candidate kept the --max-drop budget ("
                      + "; ".join(f"{e.name}: {why_not(e)}" for e in ran) + f"); {best.name} scored best")
    winner = min(eligible, key=lambda e: e.median_ms)
    passed_over = "".join(f"; {e.name} was faster but is out: {why_not(e)}" for e in ran
                          if why_not(e) is not None and e.median_ms < winner.median_ms)
    judged = (f"within --max-drop {max_drop:g} by the --eval score" if max_drop is not None
              else "scoring as well as the rule's choice by --eval")
    if why_not(first) is None:
        failed = entries[:entries.index(first)]
        if failed or winner is first or winner.median_ms * MIN_GAIN > first.median_ms:
            return _winner_of(first, winner, failed, passed_over)
        return winner, (f"{winner.name} ran {first.median_ms / winner.median_ms:.2f}x faster than the rule's "
                        f"choice {first.name}, {judged}" + passed_over)
    return winner, (f"{winner.name}: the fastest {judged} (the rule's choice {first.name} is out: "
                    f"{why_not(first)})" + passed_over)


def _winner_of(first: Entry, winner: Entry, failed: list[Entry], passed_over: str) -> tuple[Entry, str]:
    if failed:
        return winner, (f"{winner.name}: the rule's choice {failed[0].name} could not run ({failed[0].failed})"
                        + ("" if winner is first else f"; {winner.name} was the fastest of the rest") + passed_over)
    if winner is not first and winner.median_ms * MIN_GAIN > first.median_ms:
        return first, (f"{first.name} (the rule's choice) kept: {winner.name} was only "
                       f"{first.median_ms / winner.median_ms:.2f}x faster, within noise (< {MIN_GAIN:.2f}x)"
                       + passed_over)
    if winner is first:
        return winner, f"{first.name} (the rule's choice) was the fastest" + (" eligible" if passed_over else "") \
            + passed_over
    return winner, (f"{winner.name} ran {first.median_ms / winner.median_ms:.2f}x faster than the rule's "
                    f"choice {first.name}, outputs as close to fp32" + passed_over)


def candidates_of(model, configuration: Configuration, run_config) -> list[tuple[str, object]]:
    """The backend's candidates for this configuration, the rule's choice first."""
    backend = get_backend(configuration.backend)
    return backend.candidates(model, run_config) if hasattr(backend, "candidates") else [("default", run_config)]


def engine_candidates(model, configuration: Configuration, run_config) -> tuple[list[tuple], dict[str, str]]:
    """`--backend auto`: ([(name, backend, RunConfig)], {engine: why it cannot run this}) over every engine
    that can run the configuration, configuration.backend (the rule's pick) first. A candidate is named
    by its engine, with the engine's own candidate name after a colon where it has several."""
    from dataclasses import replace

    usable, not_usable = auto_engines(model, configuration.precision, configuration.device)
    if configuration.backend in usable:  # the rule's pick first, as in choose()
        usable = [configuration.backend, *(e for e in usable if e != configuration.backend)]
    listed = []
    for engine in usable:
        try:
            own = candidates_of(model, replace(configuration, backend=engine), run_config)
        except Exception as exc:  # noqa: BLE001 - an engine that cannot even list its candidates is out
            not_usable[engine] = f"{type(exc).__name__}: {first_line(exc, 160)}"
            continue
        listed.extend((engine if len(own) == 1 else f"{engine}:{name}", engine, config) for name, config in own)
    return listed, not_usable


def _pinned(names: list[str], pin: str | None) -> str | None:
    """The candidate `--candidate PIN` names: its full name, else an engine's (auto) or one engine's
    own candidate name ("channels_last" in "torch:channels_last")."""
    if pin is None:
        return None
    if pin in names:
        return pin
    return next((name for name in names if pin in name.split(":")), None)


def adopt_engine(record: dict, configuration: Configuration, tuning: dict | None) -> Configuration:
    """After an auto race: the configuration of the engine that won, written into the record's identity
    and backend_choice (the rule's pick and why are kept beside it)."""
    from dataclasses import replace

    engine = (tuning or {}).get("engine")
    choice = record.get("backend_choice")
    if not engine or not choice:
        return configuration
    choice.update(rule_pick=choice["picked"], rule_why=choice["why"], picked=engine, measured=True,
                  why=f"measured against {', '.join(tuning['engines'])}: {tuning['why']}")
    if engine == configuration.backend:
        return configuration
    adopted = replace(configuration, backend=engine)
    record["identity"] = adopted.to_identity()
    return adopted


def untuned(model, configuration: Configuration, run_config, pin: str | None = None) -> tuple[str, object]:
    """(name, RunConfig) of the candidate a run without tuning measures: `pin` where this configuration
    has a candidate of that name, else the rule's first (`calib ab` runs both sides on it)."""
    listed = candidates_of(model, configuration, run_config)
    return next((item for item in listed if item[0] == pin), listed[0])


def prepare_tuned(model, configuration: Configuration, run_config, settings: TuneSettings, references=None,
                  auto: bool = False, fidelity=None):
    """(the Prepared to measure, the record's "tuning" dict or None where there was nothing to choose).
    `references`: the sweep's fidelity cache, whose fp32 CPU outputs on the seeded inputs the candidates
    are checked against (computed once, shared with the fidelity pass). `auto`: configuration.backend is
    `--backend auto`'s rule pick, and the other engines race it (unless --no-tune); the tuning dict then
    names the winner's "engine" (calib.tuning.adopt_engine writes it into the record). `fidelity`: the
    sweep's FidelitySettings; with --eval, candidates are judged by the user's score (see the module)."""
    not_usable = {}
    listed = engine_candidates(model, configuration, run_config)[0] if auto else []
    if auto and not settings.enabled and settings.pin is None and len({b for _, b, _ in listed}) > 1:
        return _first_engine_that_builds(model, configuration, listed)
    if auto and (settings.enabled or settings.pin is not None):
        listed, not_usable = engine_candidates(model, configuration, run_config)
    else:
        listed = []
    if len({backend for _, backend, _ in listed}) < 2:  # one engine: its own candidates, as without auto
        listed = [(name, configuration.backend, config)
                  for name, config in candidates_of(model, configuration, run_config)]
        not_usable = {}
    names = [name for name, _, _ in listed]
    backends = {name: backend for name, backend, _ in listed}
    pinned = _pinned(names, settings.pin)
    if pinned is not None:
        chosen = listed[names.index(pinned)]
        return _single(model, configuration, chosen, names, f"{pinned}: pinned with --candidate",
                       _engines(names, backends, not_usable))
    if len(listed) == 1:
        return lifecycle.prepare(model, configuration, listed[0][2]), None
    if not settings.enabled:  # --no-tune: the rule's first, recorded as the candidate, nothing to show
        prepared = lifecycle.prepare(model, configuration, listed[0][2])
        prepared.info["candidate"] = names[0]
        return prepared, None
    prepared = {}
    try:
        for name, backend, config in listed:
            try:
                prepared[name] = lifecycle.prepare(model, _on(configuration, backend), config)
            except Exception as exc:  # noqa: BLE001 - a candidate that cannot be built is out of the race
                prepared[name] = exc
        built = [name for name in names if not isinstance(prepared[name], Exception)]
        if not built:
            raise prepared[names[0]]  # none can be built: the rule's choice says why
        entries = _race_entries(prepared, backends, configuration.precision)
        try:
            first_call_s = _first_call_s(prepared[built[0]])
        except Exception:  # noqa: BLE001 - the others may run; the fidelity pass below marks this one
            first_call_s = 0.0
        if first_call_s > SLOW_CALL_S:
            return _keep(prepared, built[0], names, entries,
                         f"{built[0]}: the first that builds (one call took {first_call_s:.1f} s: too slow to "
                         f"race the candidates in the {settings.budget_s:g} s budget)", settings, not_usable)
        _outputs_against_fp32(model, configuration, entries, prepared, references)
        running = [e for e in entries if e.failed is None]
        if not running:  # every candidate built, none ran: the configuration failed, and each says why
            raise CandidatesFailed("; ".join(f"{e.name}: {e.failed}" for e in entries))
        import torch

        with torch.inference_mode():  # as the winner is then timed: autograd on slows torch eager, not the others
            race(running, settings, configuration.batch_size)
        max_drop = fidelity.max_drop if fidelity is not None else None
        scorer = _scorer(model, configuration, prepared, references, fidelity)
        if scorer is not None:  # --eval judges, fastest first (calib.tuning module docstring)
            score_fastest_first(entries, scorer, max_drop)
        winner, why = pick(entries, max_drop)
        if scorer is not None:
            scorer.hand_over(winner)
        return _keep(prepared, winner.name, names, entries, why, settings, not_usable)
    except BaseException:
        for item in prepared.values():
            if not isinstance(item, Exception):
                item.release()
        raise


def _first_engine_that_builds(model, configuration: Configuration, listed: list[tuple]):
    """auto with --no-tune: the rule's pick, or, where it cannot build this model (an exported program
    ONNX cannot take), the next engine's first candidate; the tuning dict then names the engine used."""
    failures, first_error = [], None
    for engine in dict.fromkeys(backend for _, backend, _ in listed):
        name, backend, config = next(item for item in listed if item[1] == engine)
        try:
            prepared = lifecycle.prepare(model, _on(configuration, backend), config)
        except Exception as exc:  # noqa: BLE001 - the next engine may build it
            first_error = first_error or exc
            failures.append(f"{name}: {type(exc).__name__}: {first_line(exc, 160)}")
            continue
        prepared.info["candidate"] = name
        if not failures:
            return prepared, None
        return prepared, {"picked": name, "why": f"{name}: the first engine that builds ({'; '.join(failures)})",
                          "rule_first": listed[0][0], "engine": backend,
                          "engines": list(dict.fromkeys(b for _, b, _ in listed)), "engines_not_usable": {},
                          "candidates": [{"name": n} for n, _, _ in listed]}
    raise first_error


def _on(configuration: Configuration, backend: str) -> Configuration:
    from dataclasses import replace

    return configuration if backend == configuration.backend else replace(configuration, backend=backend)


def _engines(names: list[str], backends: dict[str, str], not_usable: dict[str, str]) -> dict:
    """The tuning dict's engine fields under auto (empty where one engine's candidates were raced)."""
    if not not_usable and len(set(backends.values())) < 2:
        return {}
    return {"engines": list(dict.fromkeys(backends[name] for name in names)), "engines_not_usable": not_usable}


def _single(model, configuration, chosen, names, why, engines: dict):
    name, backend, config = chosen
    prepared = lifecycle.prepare(model, _on(configuration, backend), config)
    prepared.info["candidate"] = name
    tuning = {"picked": name, "why": why, "rule_first": names[0], "candidates": [{"name": n} for n in names]}
    if engines:
        tuning.update(engine=backend, **engines)
    return prepared, tuning


def _race_entries(prepared: dict, backends: dict[str, str], precision: str) -> list[Entry]:
    wanted = get_precision(precision).compute_dtype
    entries = []
    for name, item in prepared.items():
        if isinstance(item, Exception):
            entries.append(Entry(name, lambda: None, None, failed=f"{type(item).__name__}: {first_line(item, 200)}",
                                 backend=backends[name]))
        else:
            entries.append(Entry(name, item.run, lifecycle.timer_for(item), backend=backends[name],
                                 computed=None if item.compute_dtype == wanted else item.compute_dtype))
    return entries


def _first_call_s(prepared) -> float:
    import torch

    started = time.perf_counter()
    with torch.inference_mode():
        prepared.run()
    if prepared.sync:
        prepared.sync()
    return time.perf_counter() - started


def _outputs_against_fp32(model, configuration, entries: list[Entry], prepared: dict, references=None) -> None:
    """Each candidate's cosine to the fp32 torch module on the CPU (or, for graphs without one, to the
    rule's first candidate) on the seeded inputs, and whether its outputs are finite."""
    import torch

    from calib.fidelity import metrics

    from calib.fidelity.assess import CPU_FAMILY, References
    from calib.models.loader import SEED

    batch_size = configuration.batch_size
    references = references if references is not None else References()
    with torch.inference_mode():
        reference = None if model.module is None else references.seeded(
            CPU_FAMILY, batch_size, SEED, lambda: metrics.detached(model.module(*model.make_inputs(batch_size))))
        for entry in entries:
            if entry.failed is not None:
                continue
            try:
                outputs = metrics.detached(prepared[entry.name].run())
            except Exception as exc:  # noqa: BLE001 - built but cannot run: out of the race
                entry.failed = f"{type(exc).__name__}: {first_line(exc, 200)}"
                continue
            if reference is None:
                reference = outputs
            compared = metrics.compare([outputs], [reference])
            entry.cosine = compared.get("cosine")
            entry.finite = not (compared.get("nan_count") or compared.get("inf_count"))


def _scorer(model, configuration, prepared: dict, references, fidelity):
    """With --eval: a function scoring one candidate (its score and drop in points from the fp32
    reference; a candidate that cannot run the user's inputs is out of the race). None without --eval."""
    user_eval = references.user_eval(fidelity) if references is not None and fidelity is not None else None
    if user_eval is None:
        return None
    from calib.errors import UserEvalError
    from calib.fidelity.assess import score_prepared

    kept: dict[str, tuple] = {}  # name -> (EvalScore, predict description): the winner's goes to the fidelity pass

    def score(entry: Entry) -> None:
        try:
            scored = score_prepared(user_eval, model, prepared[entry.name], configuration.batch_size)
        except UserEvalError as exc:
            entry.unscored = first_line(exc, 200)
            return
        except Exception as exc:  # noqa: BLE001 - the candidate cannot run the user's inputs: out of the race
            entry.failed = f"--eval: {type(exc).__name__}: {first_line(exc, 200)}"
            return
        if scored is None:
            entry.unscored = "its backend cannot run other inputs"
            return
        scored, described = scored
        kept[entry.name] = (scored, described)
        entry.score = scored.score
        reference, _ = references.fp32_user_score(entry.backend or configuration.backend)
        if reference is not None:
            entry.score_drop = 100 * (reference.score - scored.score)

    def hand_over(winner: Entry) -> None:
        """The kept candidate's score, for the fidelity pass (calib.fidelity.assess) not to run it again."""
        if winner.name in kept:
            references.keep_run_score(prepared[winner.name].run_on, *kept[winner.name])

    score.hand_over = hand_over
    return score


def score_fastest_first(entries: list[Entry], score, max_drop: float | None) -> None:
    """Score the raced candidates with the user's evaluation, the rule's choice first, then the others from
    the fastest, stopping at the first eligible one: nothing slower can win, and an evaluation can take
    minutes. Where none is eligible, every candidate is scored (the best-scoring one is kept)."""
    ran = [e for e in entries if e.failed is None and e.median_ms is not None]
    if not ran:
        return
    first = ran[0]
    score(first)
    if first.failed is not None:  # it cannot run the user's inputs: the next is the rule's choice now
        score_fastest_first(entries, score, max_drop)
        return
    for entry in sorted(ran[1:], key=lambda e: e.median_ms):
        if _out_by_score(first, first, max_drop) is None and entry.median_ms * MIN_GAIN > first.median_ms:
            entry.unscored = "not scored: the rule's choice keeps the budget and this one is not faster"
            continue
        if entry.computed is not None or not entry.finite:
            continue  # out of the race whatever it scores
        score(entry)
        if entry.failed is None and _out_by_score(entry, first, max_drop) is None:
            for slower in ran:
                if slower.score is None and slower.unscored is None and slower.median_ms > entry.median_ms:
                    slower.unscored = "not scored: slower than an eligible candidate"
            return


def _keep(prepared: dict, name: str, names: list[str], entries: list[Entry], why: str, settings,
          not_usable: dict[str, str] | None = None) -> tuple:
    for other, item in prepared.items():
        if other != name and not isinstance(item, Exception):
            item.release()
    winner = prepared[name]
    winner.info["candidate"] = name
    tuning = {"picked": name, "why": why, "rule_first": names[0], "budget_s": settings.budget_s,
              "candidates": [{"name": e.name, "median_ms": e.median_ms, "rounds": len(e.rounds_ms),
                              "cosine_vs_fp32": e.cosine, "finite": e.finite, "failed": e.failed,
                              **({"score": e.score, "score_drop": e.score_drop} if e.score is not None else {}),
                              **({"unscored": e.unscored} if e.unscored else {}),
                              **({"backend": e.backend} if e.backend else {}),
                              **({"computed": e.computed} if e.computed else {})}
                             for e in entries]}
    engines = _engines(names, {e.name: e.backend for e in entries}, not_usable or {})
    if engines:
        tuning.update(engine=next(e.backend for e in entries if e.name == name), **engines)
    return winner, tuning


__all__ = ["Entry", "race", "pick", "prepare_tuned", "candidates_of", "engine_candidates", "adopt_engine", "untuned",
           "COSINE_SLACK"]
