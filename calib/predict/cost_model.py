"""The cost model: what one node costs, and what a whole model costs.

Why this model (and not a roofline or a plain sum of isolated ops):
- Per cost key (conv, depthwise conv, linear, BatchNorm2d, operator.add, q:conv, ...), a
  non-negative least-squares law  ms = overhead + a * FLOPs + b * bytes,  fitted on relative error.
  The intercept is the per-op overhead (dispatch, the kernel's setup) that makes roofline estimates
  2-5x off on small ops; a and b are the key's effective compute and memory costs.
- One law cannot follow a library's kernel choices across shapes (oneDNN's blocking, a 1x1 conv
  versus a 7x7 one), so each prediction is corrected by its nearest measured shapes: the
  log-residuals of the k nearest samples of the same key, in (log FLOPs, log bytes, log channels,
  log spatial) space, weighted so that distant neighbours fade to no correction.
- Samples come from isolated sweeps and from real models' per-layer tables. In-model rows carry
  what isolated ops miss: cache state left by the previous layer, in-place ops, layout.
- Fusion is taken from the graph as the backend runs it (calib.predict.graph_walk): int8-static
  walks the converted graph, where conv+bn+relu is one quantized conv and the quantize/dequantize
  steps are nodes of their own; torch eager at fp32/bf16 fuses nothing, so neither does the walk.
  For OpenVINO and ONNX Runtime the rows are the engine's own kernels (calib.predict.openvino_kernels,
  onnxruntime_kernels), keyed by what the engine ran (layer type, kernel, fused ops).
- What no per-node sum sees (Python between modules, allocator, caches across layers) is one
  whole-model map, a per-inference overhead plus a factor on the node sum, fitted on the table's real
  models (calib.predict.cost_model.whole_model_map). Its
  leave-one-model-out errors give the interval, split-conformal style: the half-width is the
  ceil((n+1) * COVERAGE)-th smallest held-out |log error|, so a new model's error falls inside with
  probability >= COVERAGE when models are exchangeable (and the interval says "few models" below that).
- A node whose key, and every coarser key, the table never saw is unpredictable: it is charged the
  per-op overhead (a floor, never zero), the prediction is marked incomplete and says the share of the
  model's FLOPs those nodes hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from calib.predict.features import cost_key, fallback_keys, feature_vector, law_flops
from calib.predict.residuals import Residuals, fit_residuals, rich_features

NEIGHBOURS = 5
NEIGHBOUR_SCALE = 0.5  # log-distance at which a neighbour's weight has fallen to 1/e
SPAN_MARGIN = 1.0  # log units: e^1 = 2.7x past the largest (or below the smallest) fitted shape
MIN_KEY_SAMPLES = 4  # a key with fewer samples is costed by its kind's law (plus its own neighbours)
SHRINK = 0.15  # pseudo-weight of "no correction": a lone far neighbour corrects little
MIN_HALF_WIDTH = 0.03  # an interval is never narrower than +-3%: the machine's own noise
FEW_MODELS = 3  # below this many held-out architectures the spread is not known: +-FEW_MODELS_HALF_WIDTH
FEW_MODELS_HALF_WIDTH = 0.25
MAP_LOSS_SCALE = 0.1  # log error past which (about 10%) a held-out model counts linearly, not squared
COVERAGE = 0.90  # the interval's target: held-out models' measured medians inside it
STREAM_SUFFIX = "@stream"  # the keys of kernels whose weights pass the cache (calib.predict.openvino_kernels)
# finer keys kept out of their plain law (_apart), outermost first
APART_SUFFIXES = ("/strided", "/odd", "/off32", "/rank")


@dataclass(frozen=True)
class Sample:
    """One measured node: its key, shape features, FLOPs, bytes and time; where it was measured."""
    key: str
    kind_keys: tuple[str, ...]
    features: tuple[float, ...]
    flops: float
    bytes: float
    ms: float
    source: str  # "isolated" or "model:<name>"
    weight_bytes: float = 0.0  # a streaming kernel's weights (calib.predict.openvino_kernels), else 0
    model_weight_bytes: float = 0.0  # every weight of its model: what passes through the cache per call
    rich: tuple[float, ...] = ()  # calib.predict.residuals.rich_features: what the learnt correction reads

    @classmethod
    def of(cls, row: dict, source: str) -> "Sample":
        keys = fallback_keys(row)
        return cls(key=keys[0], kind_keys=tuple(keys[1:]), features=feature_vector(row),
                   flops=law_flops(row), bytes=float(row.get("bytes") or 0),
                   ms=float(row["median_ms"]), source=source, weight_bytes=float(row.get("weight_bytes") or 0),
                   model_weight_bytes=float(row.get("model_weight_bytes") or 0), rich=rich_features(row))


@dataclass(frozen=True)
class KeyLaw:
    key: str
    overhead_ms: float
    ms_per_gflop: float
    ms_per_mb: float
    count: int
    span: tuple[float, float, float, float] = (0.0, math.inf, 0.0, math.inf)  # log1p FLOPs and bytes, min/max

    def covers(self, flops: float, size: float) -> bool:
        """Whether a shape lies within (about 2.7x of) the shapes the law was fitted on: a law fitted on
        small ops only (squeeze-excitation 1x1 convs) must not price a big conv."""
        low_f, high_f, low_b, high_b = self.span
        log_f, log_b = math.log1p(flops), math.log1p(size)
        return low_f - SPAN_MARGIN <= log_f <= high_f + SPAN_MARGIN and low_b - SPAN_MARGIN <= log_b <= high_b + SPAN_MARGIN

    def base_ms(self, flops: float, size: float) -> float:
        return self.overhead_ms + self.ms_per_gflop * flops / 1e9 + self.ms_per_mb * size / 1e6


@dataclass(frozen=True)
class NodeCost:
    name: str
    key: str  # the table entry used
    op_kind: str
    predicted_ms: float
    costed: bool  # False: unpredictable, no entry for its key or kind; charged the per-op overhead only
    note: str = ""
    flops: float = 0.0


@dataclass
class CostModel:
    laws: dict[str, KeyLaw]
    neighbours: dict[str, tuple[list[tuple[float, ...]], list[float]]]  # key -> (features, log residuals)
    overhead_ms: float  # a node with no entry at all pays this
    members: dict[str, list] = field(default_factory=dict)  # finest key -> its samples (also keys without a law)
    cache_bytes: float = math.inf  # the weights a model keeps in cache between calls (fit_cache_bytes)
    residuals: Residuals | None = None  # the learnt correction across keys (calib.predict.residuals)
    _learnt_of: dict = field(default_factory=dict, repr=False)  # id(sample) -> its learnt correction (fitting)

    def nodes(self, rows) -> list[NodeCost]:
        """The cost of every row of one model, each with its model's context (with_context), the learnt
        corrections predicted in one batch."""
        rows = with_context(rows)
        if self.residuals is None:
            return [self.node(row) for row in rows]
        learnt = self.residuals.corrections([(rich_features(row), fallback_keys(row)[0]) for row in rows])
        return [self.node(row, value) for row, value in zip(rows, learnt)]

    def node(self, row: dict, learnt: float | None = None) -> NodeCost:
        name, kind = str(row.get("name") or ""), row.get("op_kind") or "other"
        keys = fallback_keys(row)
        flops = float(row.get("flops") or 0)
        size = float(row.get("bytes") or 0) + missed_bytes(float(row.get("weight_bytes") or 0),
                                                           float(row.get("model_weight_bytes") or 0), self.cache_bytes)
        priced = self._law_for(keys, law_flops(row), size)
        if priced is None:
            return NodeCost(name, "overhead", kind, self.overhead_ms, False,
                            f"uncosted: unpredictable, the table has no '{keys[0]}' or '{keys[-1]}' entry; charged "
                            "the per-op overhead only", flops)
        position, key, base = priced
        if learnt is None:
            learnt = self.residuals.correction(rich_features(row), keys[0]) if self.residuals is not None else 0.0
        own = self.members.get(keys[0]) if position else None
        if own:  # a coarser law, offset by the finest key's own samples (SiLU costs more than ReLU)
            offsets = [self._left(s, self.laws[key]) for s in own]
            correction = sum(offsets) / (len(offsets) + 1)
        else:
            correction = self._correction(key, feature_vector(row))
        ms = base * math.exp(learnt + correction)
        note = "" if position == 0 else f"'{keys[0]}' priced by the '{key}' law"
        return NodeCost(name, key, kind, max(ms, 0.0), True, note, flops)

    def _law_for(self, keys: list[str], flops: float, size: float) -> tuple[int, str, float] | None:
        """(position in the key chain, key, the law's price) of the law that prices a node: the finest key with
        a law whose fitted shapes cover it, else the coarsest law there is; None when no key has one."""
        available = [key for key in keys if key in self.laws]
        for position, key in enumerate(keys):
            law = self.laws.get(key)
            if law is None or (key != available[-1] and not law.covers(flops, size)):
                continue
            return position, key, law.base_ms(flops, size)
        return None

    def _left(self, sample: "Sample", law: KeyLaw) -> float:
        """A sample's log residual under `law`, less what the learnt correction already explains."""
        learnt = self._learnt_of.get(id(sample))
        if learnt is None:
            learnt = self.residuals.correction(sample.rich, sample.key) if self.residuals is not None else 0.0
        return math.log(sample.ms / max(law.base_ms(sample.flops, sample.bytes), 1e-9)) - learnt

    def _correction(self, key: str, features: tuple[float, ...]) -> float:
        found = self.neighbours.get(key)
        if not found:
            return 0.0
        points, residuals = found
        distances = sorted((math.dist(features, point), residual) for point, residual in zip(points, residuals))
        weighted = total = 0.0
        for distance, residual in distances[:NEIGHBOURS]:
            weight = math.exp(-(distance / NEIGHBOUR_SCALE) ** 2)
            weighted += weight * residual
            total += weight
        return weighted / (total + SHRINK)


def fit_cost_model(samples: list[Sample], learnt: bool = True) -> CostModel:
    """Laws for every key and every kind fallback key, the learnt correction across keys (unless `learnt` is
    False, or scikit-learn is missing), and each key's neighbour residuals."""
    import numpy as np

    cache = fit_cache_bytes(samples)
    samples = [with_misses(s, cache) for s in samples]
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        if sample.ms <= 0:
            continue
        for key in (sample.key, *sample.kind_keys):
            # a conv at unaligned channels (or an op reading a strided view) is no sample of the plain law it falls
            # back to: it runs other kernels (torch int8 depthwise, 60x slower; as neighbours, ShuffleNet 1.0's priced
            # MnasNet 0.5's aligned 5x5 at 34x its law, the model at +51%). Priced by that law, it is offset by its
            # own samples (CostModel.node)
            if _apart(sample.key, key):
                continue
            groups.setdefault(key, []).append(sample)
    laws = {}
    finest: dict[str, list[Sample]] = {}
    for sample in samples:
        if sample.ms > 0:
            finest.setdefault(sample.key, []).append(sample)
    for key, members in groups.items():
        if len(members) < MIN_KEY_SAMPLES and not key.startswith(("kind:", "q:kind:")):
            continue  # too few to fit a law on its own: its kind's law (fitted on more shapes) serves
        laws[key] = fit_law(key, members)
    views = [s.ms for s in samples if s.key == "view" and s.ms > 0]
    small = views or [s.ms for s in samples if s.ms > 0] or [0.005]
    model = CostModel(laws, {}, float(np.median(small)), finest, cache)
    timed = [s for s in samples if s.ms > 0]
    model.residuals = _learnt(model, timed) if learnt else None
    if model.residuals is not None:
        model._learnt_of = {id(s): value for s, value in
                            zip(timed, model.residuals.corrections([(s.rich, s.key) for s in timed]))}
    for key in laws:  # each key's neighbours: what its law and the learnt correction leave
        members = groups[key]
        model.neighbours[key] = ([s.features for s in members], [model._left(s, laws[key]) for s in members])
    return model


def _apart(finest: str, key: str) -> bool:
    """Whether a sample of key `finest` stays out of the coarser `key`'s law: `key` is `finest` less its /strided
    or /odd suffix (calib.predict.features.fallback_keys). An engine's own chains (OpenVINO's /grouped) are not."""
    plain = finest
    for suffix in APART_SUFFIXES:
        plain = plain.removesuffix(suffix)
        if key == plain and key != finest:
            return True
    return False


def _learnt(model: CostModel, samples: list[Sample]) -> Residuals | None:
    """The learnt correction (calib.predict.residuals) on every sample's residual under the law that prices it."""
    items = []
    for sample in samples:
        priced = model._law_for([sample.key, *sample.kind_keys], sample.flops, sample.bytes)
        if priced is None or priced[2] <= 0:
            continue
        items.append((sample.rich, sample.key, math.log(sample.ms / priced[2])))
    return fit_residuals(items)


def missed_bytes(weight_bytes: float, model_weight_bytes: float, cache_bytes: float) -> float:
    """The weight bytes a kernel reads from memory rather than cache, counted once more in its bytes (memory
    at about half the cache's bandwidth): a model whose weights pass the cache keeps about cache / weights of
    them there between calls (measured here: one 4096x4096 FullyConnected layer at 48 GB/s alone, at 25 GB/s
    inside a 494 MB head; a 537 MB layer at 26 GB/s, a 67 MB one at 47 GB/s)."""
    if weight_bytes <= 0 or model_weight_bytes <= cache_bytes:
        return 0.0
    return weight_bytes * (1.0 - cache_bytes / model_weight_bytes)


def with_misses(sample: Sample, cache_bytes: float) -> Sample:
    from dataclasses import replace

    extra = missed_bytes(sample.weight_bytes, sample.model_weight_bytes, cache_bytes)
    return replace(sample, bytes=sample.bytes + extra) if extra else sample


def fit_cache_bytes(samples: list[Sample]) -> float:
    """The cache size (16 MB .. 1 GB, or none) under which the weighted kernels' laws fit their samples best
    (squared log error): learnt per table from its models (5-350 MB of weights at fp32) and
    calib.predict.models.KERNEL_SAMPLES (110-500 MB), not read from the CPU (a VM reports its host's cache).
    Leave-one-model-out on the calibration models (fp32): within 10% 61% -> 71%, ViT-B/32 (352 MB) -17% -> -3%."""
    streaming = [s for s in samples if s.weight_bytes > 0 and s.ms > 0]
    if len({s.model_weight_bytes for s in streaming}) < 2:
        return math.inf
    best, best_error = math.inf, math.inf
    for cache in [math.inf, *(2.0 ** (k / 2) * 2**20 for k in range(8, 21))]:
        moved = [with_misses(s, cache) for s in streaming]
        error = 0.0
        for key in {s.key for s in moved}:
            members = [s for s in moved if s.key == key]
            law = fit_law(key, members)
            error += sum(math.log(s.ms / max(law.base_ms(s.flops, s.bytes), 1e-9)) ** 2 for s in members)
        if error < best_error - 1e-12:
            best, best_error = cache, error
    return best


def fit_law(key: str, members: list[Sample]) -> KeyLaw:
    """Non-negative least squares of overhead + FLOPs + bytes on relative error (every sample counts
    as a share of its own time, so small ops are not drowned by big ones). Fewer than 3 samples fit no three
    terms: their median time, or for a kernel streaming its weights from memory (STREAM_SUFFIX) their median
    time per byte. A constant priced AlexNet's int8 FullyConnected (38 MB of weights) at the time of the only
    streamed int8 sample, VGG's 103 MB layer: 2.5 ms for 0.75 measured, the model +98% at batch 1 (OpenVINO,
    Intel AMX machine kind, 2026-12-06); per byte, AlexNet within 3% (offline, the same table and truth)."""
    import numpy as np

    times = np.array([s.ms for s in members])
    log_f = [math.log1p(s.flops) for s in members]
    log_b = [math.log1p(s.bytes) for s in members]
    span = (min(log_f), max(log_f), min(log_b), max(log_b))
    if len(members) < 3 and key.endswith(STREAM_SUFFIX):  # weights streamed from memory: bytes over bandwidth
        per_mb = float(np.median([s.ms / max(s.bytes / 1e6, 1e-9) for s in members]))
        return KeyLaw(key, 0.0, 0.0, per_mb, len(members), span)
    if len(members) < 3:
        return KeyLaw(key, float(np.median(times)), 0.0, 0.0, len(members), span)
    from scipy.optimize import nnls

    design = np.array([[1.0, s.flops / 1e9, s.bytes / 1e6] for s in members])
    scale = design.max(axis=0)
    scale[scale == 0] = 1.0
    weighted = design / scale / times[:, None]
    coefficients, _ = nnls(weighted, np.ones(len(members)))
    overhead, per_gflop, per_mb = coefficients / scale
    return KeyLaw(key, float(overhead), float(per_gflop), float(per_mb), len(members), span)


@dataclass(frozen=True)
class ModelSample:
    """A real model of the table: its per-layer rows and its measured end-to-end median."""
    model: str
    batch_size: int
    end_to_end_ms: float
    rows: tuple[dict, ...]


@dataclass(frozen=True)
class Prediction:
    predicted_ms: float
    low_ms: float
    high_ms: float
    node_sum_ms: float
    factor: float
    nodes: tuple[NodeCost, ...]

    @property
    def uncosted(self) -> list[NodeCost]:
        return [node for node in self.nodes if not node.costed]

    @property
    def complete(self) -> bool:
        """False when some node was unpredictable: the figure is then a lower bound."""
        return not self.uncosted

    @property
    def unpredictable_flop_share(self) -> float:
        total = sum(node.flops for node in self.nodes)
        return sum(node.flops for node in self.uncosted) / total if total else 0.0


@dataclass
class Predictor:
    """A cost model plus the whole-model factor and the interval it was validated to."""
    cost_model: CostModel
    factor: float = 1.0
    log_low: float = -MIN_HALF_WIDTH
    log_high: float = MIN_HALF_WIDTH
    validation: list[dict] = field(default_factory=list)  # per held-out model: predicted, measured
    overhead_ms: float = 0.0  # per inference, beyond the nodes (calib.predict.cost_model.whole_model_map)
    drift: float = 0.0  # log half-width of the machine's own drift between fresh processes, inside the interval

    def predict(self, rows: list[dict]) -> Prediction:
        nodes = tuple(self.cost_model.nodes(rows))
        node_sum = sum(node.predicted_ms for node in nodes)
        predicted = self.overhead_ms + node_sum * self.factor
        uncosted_share = sum(n.predicted_ms for n in nodes if not n.costed) / node_sum if node_sum else 0.0
        widen = 1.0 + 4.0 * uncosted_share  # nodes costed by overhead alone make the interval wider
        return Prediction(predicted, predicted * math.exp(self.log_low * widen),
                          predicted * math.exp(self.log_high * widen), node_sum, self.factor, nodes)


def fit_predictor(isolated: list[Sample], models: list[ModelSample], learnt: bool = True,
                  drift: tuple[float, ...] = ()) -> Predictor:
    """The cost model on every sample (with the learnt correction unless `learnt` is False); the
    whole-model map (a factor alone: whole_model_map without its per-inference overhead) and the interval
    from the real models, each predicted by a fit that left that model (all its batch sizes) out, widened by the
    machine's drift (`drift`: |log| of each fresh-process visit against its model's median; drift_half_width).

    Why no table fits a per-inference overhead, torch's or an engine's. torch: its per-layer rows already hold
    each module's Python dispatch, and its held-out calibration models fitted about 1 ms per inference at fp32,
    which made every small model at batch 1 over-predicted (bench/predict.py, Intel AMX machine kind,
    2026-12-06: ShuffleNet 0.5 +33%, MobileNetV3-Small +25%, MnasNet 0.5 +20%); a factor alone, offline on the
    four torch fp32 tables and their truth: unseen within 10% 72% -> 76%, leave-one-model-out 69% -> 72%. The
    engines: OpenVINO's whole call of a one-conv model takes 0.029 ms on the AMD Zen 5 machine kind, so its
    dispatch and input copy are under 0.03 ms, yet one OpenVINO fp32 table's held-out models fitted 0.26 ms per
    inference there (2026-12-07) and every small unseen model at batch 1 came out 24-45% over (MobileNetV3-Small,
    ShuffleNet 0.5, MnasNet 0.5); a factor alone, offline on that table and its truth, 31% / 62% -> 47% / 69%
    within 5% / 10%. Choosing the form by the held-out models' own errors kept the overhead there (it fits
    calibration's noise). Every other benched table, of either machine kind, fitted an overhead of 0."""
    import numpy as np

    full = fit_cost_model(isolated + model_samples(models), learnt)
    names = sorted({m.model for m in models})
    if not names:  # no real model: no whole-model factor, and an interval that says so
        return Predictor(full, 1.0, -FEW_MODELS_HALF_WIDTH, FEW_MODELS_HALF_WIDTH, validation=[])
    held_out = []
    for name in names:
        kept = [m for m in models if m.model != name]
        partial = fit_cost_model(isolated + model_samples(kept), learnt)
        for m in models:
            if m.model == name:
                nodes = partial.nodes(m.rows)
                held_out.append({"model": m.model, "batch_size": m.batch_size,
                                 "node_sum_ms": sum(node.predicted_ms for node in nodes),
                                 "measured_ms": m.end_to_end_ms, "complete": all(n.costed for n in nodes)})
    # a model with kernels no other model has is priced at the overhead floor when held out: it says nothing
    # of the map and stays out of it, as the kernel samples (calib.predict.models.KERNEL_SAMPLES) do
    from calib.predict.models import KERNEL_SAMPLES  # a few kernels, not an architecture: no map of one

    for h in held_out:
        h["mapped"] = h["complete"] and h["model"] not in KERNEL_SAMPLES
    mapped = [h for h in held_out if h["mapped"]]
    if not any(h["node_sum_ms"] > 0 for h in mapped):
        return Predictor(full, validation=held_out)
    overhead, factor = whole_model_map(mapped, per_call=False)
    errors = []
    for h in held_out:  # each model's map fitted without it (all its batch sizes)
        others = [g for g in mapped if g["model"] != h["model"]] or mapped
        other_overhead, other_factor = whole_model_map(others, per_call=False)
        h["predicted_ms"] = other_overhead + h["node_sum_ms"] * other_factor
        if h["predicted_ms"] > 0 and h["mapped"]:
            errors.append(math.log(h["measured_ms"] / h["predicted_ms"]))
    # the architectures behind the errors (the kernel samples and incomplete ones give none): two of them are "few"
    low, high = conformal_interval(errors, len({h["model"] for h in mapped}))
    moved = drift_half_width(drift)
    low, high = -math.hypot(low, moved), math.hypot(high, moved)
    return Predictor(full, factor, low, high, held_out, overhead, moved)


def model_samples(models: list[ModelSample], prefix: str = "model:") -> list[Sample]:
    """Every timed row of these models as a sample (source: prefix + model), with its model's context."""
    return [Sample.of(row, f"{prefix}{m.model}") for m in models for row in with_context(m.rows)
            if row.get("median_ms")]


def with_context(rows) -> list[dict]:
    """The rows with what their model as a whole moves per call ("model_bytes", the sum of every row's bytes):
    a kernel of a model whose data fits in cache runs faster than the same kernel in a big model."""
    rows = list(rows)
    total = sum(float(row.get("bytes") or 0) for row in rows)
    return [{**row, "model_bytes": total} for row in rows]


def whole_model_map(held_out: list[dict], per_call: bool = True) -> tuple[float, float]:
    """(per-inference overhead ms, factor): measured = overhead + factor * node sum, fitted on log error
    (robust soft-L1 least squares, overhead >= 0). The overhead is what a call costs beyond its kernels (the
    engine's dispatch, copying inputs and outputs); without `per_call` (every table: fit_predictor) the
    factor alone.
    Why log error and not relative error: least squares on (predicted / measured - 1) solves
    factor = sum(x) / sum(x^2) for x = node sum / measured, which sits below 1 / typical x whenever the
    held-out node sums spread (2x over-predicted held-out models pulled OpenVINO bf16's factor to 0.83 where
    the median ratio was 0.93, and every unseen model came out 10-30% low). The log error is symmetric in
    over- and under-prediction, as the interval (conformal on log errors) is, and soft-L1 keeps one badly
    held-out architecture from setting the factor. With under FEW_MODELS architectures: the median ratio alone."""
    import numpy as np

    usable = [h for h in held_out if h["node_sum_ms"] > 0 and h["measured_ms"] > 0]
    if not usable:
        return 0.0, 1.0
    logs = np.array([math.log(h["measured_ms"] / h["node_sum_ms"]) for h in usable])
    ratio = float(np.exp(np.median(logs)))
    if len({h["model"] for h in usable}) < FEW_MODELS or len(usable) < 4:
        return 0.0, ratio
    from scipy.optimize import least_squares

    if not per_call:  # a factor alone (fit_predictor), on the same robust log loss
        fit = least_squares(lambda p: p[0] - logs, x0=[math.log(ratio)], loss="soft_l1", f_scale=MAP_LOSS_SCALE)
        return 0.0, float(np.exp(fit.x[0])) if fit.success else ratio

    measured = np.array([h["measured_ms"] for h in usable])
    node_sum = np.array([h["node_sum_ms"] for h in usable])
    fit = least_squares(lambda p: np.log((p[0] + p[1] * node_sum) / measured), x0=[0.0, ratio],
                        bounds=([0.0, 1e-9], [np.inf, np.inf]), loss="soft_l1", f_scale=MAP_LOSS_SCALE)
    overhead, factor = (float(v) for v in fit.x)
    return (overhead, factor) if fit.success and factor > 0 else (0.0, ratio)


def drift_half_width(drift: tuple[float, ...], coverage: float = COVERAGE) -> float:
    """How far a model's median moves between fresh processes minutes apart on this machine (log units, the same
    conformal rank as the interval), from calibration's revisits; 0 without them. The held-out errors compare a
    prediction with each model's median over its processes, so they hold none of the drift a later check meets.
    Measured on the Intel AMX machine kind (torch int8-static tables, 2026-12-06/07): 0.044 and 0.060 in quiet
    sessions, 0.14 in two runs whose anchors read 7% off the table both ways; the interval then covered 75% of the
    bench's unseen configurations, 91% with the drift added in quadrature (independent sources)."""
    magnitudes = sorted(abs(value) for value in drift)
    if not magnitudes:
        return 0.0
    ranked = _conformal_rank(magnitudes, coverage)
    return magnitudes[-1] if ranked is None else ranked


def _conformal_rank(magnitudes: list[float], coverage: float) -> float | None:
    """The ceil((n+1) * coverage)-th smallest of sorted magnitudes; None when there are too few for that rank."""
    rank = math.ceil((len(magnitudes) + 1) * coverage)
    return magnitudes[rank - 1] if rank <= len(magnitudes) else None


def conformal_interval(errors: list[float], models: int, coverage: float = COVERAGE) -> tuple[float, float]:
    """(log low, log high) from held-out log errors (measured / predicted): split-conformal on |error|,
    the ceil((n+1) * coverage)-th smallest; with too few errors for that rank, the largest one widened by
    half, and never narrower than the machine's noise (or +-25% with under FEW_MODELS architectures)."""
    floor = MIN_HALF_WIDTH if models >= FEW_MODELS else FEW_MODELS_HALF_WIDTH
    magnitudes = sorted(abs(error) for error in errors)
    if not magnitudes:
        return -floor, floor
    ranked = _conformal_rank(magnitudes, coverage)
    half = max(floor, 1.5 * magnitudes[-1] if ranked is None else ranked)
    return -half, half


__all__ = ["Sample", "KeyLaw", "NodeCost", "CostModel", "ModelSample", "Prediction", "Predictor",
           "fit_cost_model", "fit_law", "fit_predictor", "model_samples", "whole_model_map",
           "conformal_interval", "drift_half_width", "cost_key"]
