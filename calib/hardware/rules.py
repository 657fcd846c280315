"""The verdict table: when a precision is native, emulated or unsupported on a device.

Read it top to bottom like documentation. For each compute type and device architecture the
first row whose `requires` holds wins, so the specific rows come before the fallbacks.

  compute   what the heavy ops (matmul, conv) compute in: fp32 tf32 fp16 bf16 int8 fp8.
            Each calib precision maps to one (calib.precisions: amp-bf16 computes in bf16,
            int8-dynamic and int8-static in int8), so autocast shares the cast rows.
  arch      "x86_64", "aarch64", "cpu" (any CPU, including 32-bit ARM) or "cuda".
  requires  space-separated conditions that must all hold: a CPU flag as the kernel prints it
            ("avx512_bf16"), alternatives joined by "|" ("fphp|asimdhp" would mean either),
            "cc>=8.0" (compute capability at least), or "cc=5.3|6.0|6.2" (one of).
            An empty string always holds. The tensor-core thresholds come from
            calib.dtypes.TENSOR_CORE_CC, the one table of which GPU generation brought what.
  status    "native": the hardware computes this type (the speed-up is there to be had);
            "emulated": it runs, but through conversion to a wider type (usually slower than fp32);
            "unsupported": calib does not run it on this device.

Decisions are made from flags and compute capability only, never from product names: a VM can
hide AMX while exposing AVX512_BF16, and an engineering sample has no model name at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from calib.dtypes import TENSOR_CORE_CC, cc_text

NATIVE, EMULATED, UNSUPPORTED = "native", "emulated", "unsupported"
STATUSES = (NATIVE, EMULATED, UNSUPPORTED)


@dataclass(frozen=True)
class Rule:
    compute: str
    arch: str
    requires: str
    status: str
    evidence: str  # may name {cc}, the device's compute capability
    engine: str | None = None  # int8 only: the quantized engine calib will use (the evidence says why)


# "8.0" for tf32: the compute capability that introduced each type's tensor cores.
_TC = {compute: cc_text(capability) for compute, capability in TENSOR_CORE_CC.items()}
_CUDA_INT8 = "calib runs int8 on CUDA only through TensorRT or ONNX Runtime: PyTorch-native int8 (torch.ao) is CPU-only"

RULES: list[Rule] = [
    # ---- fp32: the reference every ratio is measured against -------------------------------
    Rule("fp32", "cpu", "avx512f", NATIVE, "AVX-512F fp32 FMA"),
    Rule("fp32", "cpu", "avx2 fma", NATIVE, "AVX2 + FMA fp32"),
    Rule("fp32", "cpu", "asimd", NATIVE, "NEON (asimd) fp32 FMA"),
    Rule("fp32", "cpu", "", NATIVE, "fp32 is the CPU's own float arithmetic (no wide SIMD flags seen)"),
    Rule("fp32", "cuda", "", NATIVE, "fp32 on CUDA cores"),
    # ---- tf32 ---------------------------------------------------------------------------
    Rule("tf32", "cpu", "", UNSUPPORTED,
         f"TF32 is a CUDA tensor-core mode (compute capability {_TC['tf32']}+); calib runs tf32 only on CUDA"),
    Rule("tf32", "cuda", f"cc>={_TC['tf32']}", NATIVE,
         f"TF32 tensor cores (compute capability {{cc}} >= {_TC['tf32']})"),
    Rule("tf32", "cuda", "", UNSUPPORTED,
         f"TF32 needs compute capability {_TC['tf32']}+ (this GPU: {{cc}}); allow_tf32 is ignored and matmuls "
         "run fp32"),
    # ---- fp16 ---------------------------------------------------------------------------
    Rule("fp16", "x86_64", "amx_fp16", NATIVE, "amx_fp16: AMX fp16 tile matmul (oneDNN)"),
    Rule("fp16", "x86_64", "avx512_fp16", NATIVE, "avx512_fp16: AVX512-FP16 arithmetic"),
    Rule("fp16", "x86_64", "f16c", EMULATED,
         "f16c only converts fp16<->fp32; with no avx512_fp16/amx_fp16 the arithmetic runs in fp32 after conversion"),
    Rule("fp16", "aarch64", "fphp asimdhp", NATIVE, "fphp + asimdhp: ARMv8.2 fp16 scalar and vector arithmetic"),
    Rule("fp16", "cpu", "", EMULATED,
         "no fp16 arithmetic flags (x86: avx512_fp16 or amx_fp16; ARM: fphp + asimdhp); fp16 is widened to fp32"),
    Rule("fp16", "cuda", f"cc>={_TC['fp16']}", NATIVE,
         f"fp16 tensor cores (compute capability {{cc}} >= {_TC['fp16']})"),
    Rule("fp16", "cuda", "cc=5.3|6.0|6.2", NATIVE,
         "fp16 arithmetic at twice the fp32 rate (half2) on compute capability {cc}, but no tensor cores"),
    Rule("fp16", "cuda", "", EMULATED,
         "compute capability {cc} has no tensor cores and only a token fp16 rate; fp16 math is slower than fp32"),
    # ---- bf16 ---------------------------------------------------------------------------
    Rule("bf16", "x86_64", "amx_bf16", NATIVE, "amx_bf16: AMX bf16 tile matmul (oneDNN)"),
    Rule("bf16", "x86_64", "avx512_bf16", NATIVE, "avx512_bf16: bf16 dot products (vdpbf16ps, oneDNN)"),
    Rule("bf16", "x86_64", "avx_ne_convert", EMULATED,
         "avx_ne_convert only converts bf16<->fp32; with no avx512_bf16/amx_bf16 bf16 math runs in fp32"),
    Rule("bf16", "aarch64", "bf16", NATIVE, "bf16: ARMv8.6 BFDOT/BFMMLA instructions"),
    Rule("bf16", "aarch64", "svebf16", NATIVE, "svebf16: SVE bf16 instructions"),
    Rule("bf16", "cpu", "", EMULATED,
         "no bf16 arithmetic flags (x86: avx512_bf16 or amx_bf16; ARM: bf16 or svebf16); bf16 is widened to fp32"),
    Rule("bf16", "cuda", f"cc>={_TC['bf16']}", NATIVE,
         f"bf16 tensor cores (compute capability {{cc}} >= {_TC['bf16']})"),
    Rule("bf16", "cuda", "", EMULATED,
         f"no bf16 arithmetic below compute capability {_TC['bf16']} (this GPU: {{cc}}); bf16 is computed "
         "through fp32"),
    # ---- int8 (int8-dynamic and int8-static) ----------------------------------------------
    # engine: torch.backends.quantized.engine on CPU (the same choice as calib.quant.engine).
    Rule("int8", "x86_64", "amx_int8", NATIVE, "amx_int8: AMX int8 tile matmul; engine 'x86' dispatches to oneDNN",
         "x86"),
    Rule("int8", "x86_64", "avx512_vnni", NATIVE,
         "avx512_vnni: u8s8 dot products (vpdpbusd); engine 'x86' uses oneDNN/fbgemm VNNI kernels", "x86"),
    Rule("int8", "x86_64", "avx_vnni", NATIVE,
         "avx_vnni: 256-bit u8s8 dot products (vpdpbusd); engine 'x86' uses oneDNN VNNI kernels", "x86"),
    # No VNNI: fbgemm still runs u8s8 on AVX2 (vpmaddubsw + vpmaddwd), a real integer path
    # that beats fp32 on most layers but gains less than VNNI and needs 7-bit activations.
    Rule("int8", "x86_64", "avx2", NATIVE,
         "AVX2 u8s8 via fbgemm (vpmaddubsw), no VNNI: engine 'fbgemm', 7-bit activations (reduce_range)",
         "fbgemm"),
    Rule("int8", "aarch64", "i8mm", NATIVE, "i8mm (SMMLA) and asimddp (SDOT) int8 instructions; engine 'qnnpack'",
         "qnnpack"),
    Rule("int8", "aarch64", "asimddp", NATIVE, "asimddp: SDOT/UDOT int8 dot products; engine 'qnnpack'", "qnnpack"),
    # Like AVX2 without VNNI: qnnpack was written for exactly these cores (widening NEON multiply-adds).
    Rule("int8", "aarch64", "asimd", NATIVE,
         "NEON widening int8 multiply-accumulate, no SDOT (asimddp); engine 'qnnpack'", "qnnpack"),
    Rule("int8", "cpu", "", EMULATED,
         "no int8 SIMD flags (AVX2, VNNI, AMX, NEON): quantized ops run generic kernels, no faster than fp32",
         "x86"),
    Rule("int8", "cuda", f"cc>={_TC['int8']}", NATIVE,
         f"int8 tensor cores (compute capability {{cc}} >= {_TC['int8']}); " + _CUDA_INT8, "TensorRT/ONNX Runtime"),
    Rule("int8", "cuda", "cc>=6.1", NATIVE,
         "DP4A int8 dot products on compute capability {cc}, no int8 tensor cores; " + _CUDA_INT8,
         "TensorRT/ONNX Runtime"),
    Rule("int8", "cuda", "", UNSUPPORTED,
         f"compute capability {{cc}} has no fast int8 (DP4A needs 6.1+, tensor cores {_TC['int8']}+); " + _CUDA_INT8,
         "TensorRT/ONNX Runtime"),
    # ---- fp8 ----------------------------------------------------------------------------
    # No CPU calib targets computes fp8; running it would mean fp8 storage upcast to fp32,
    # which measures memory traffic, not fp8 arithmetic. So calib does not offer it on CPU.
    Rule("fp8", "cpu", "", UNSUPPORTED,
         f"no fp8 arithmetic on this CPU; calib runs fp8 only on CUDA {_TC['fp8']}+ (torch._scaled_mm)"),
    Rule("fp8", "cuda", f"cc>={_TC['fp8']}", NATIVE,
         f"fp8 e4m3 tensor cores (compute capability {{cc}} >= {_TC['fp8']}, torch._scaled_mm)"),
    Rule("fp8", "cuda", "", UNSUPPORTED,
         f"fp8 matmul (torch._scaled_mm) needs compute capability {_TC['fp8']}+ (this GPU: {{cc}})"),
]


@dataclass(frozen=True)
class OrtInt8Types:
    """ONNX Runtime's static int8 (QDQ) types on a device: the first row whose `requires` holds wins,
    read by calib.backends.onnx_convert as calib.quant.engine reads the int8 rows' engine above."""

    arch: str
    requires: str
    types: str  # "u8s8" (uint8 activations, int8 weights) or "s8s8" (int8 both)
    evidence: str


ORT_INT8_TYPES: list[OrtInt8Types] = [
    OrtInt8Types("cuda", "", "s8s8", "s8s8: GPU execution providers (CUDA, TensorRT) expect symmetric int8 QDQ"),
    # Measured on the development machines, resnet18 QDQ per-channel, 2 threads: AMX Xeon u8s8 13.97 ms,
    # s8s8 36.08 ms, fp32 30.60 ms; Zen 3 (AVX2, no VNNI) u8s8 11.2 ms, s8s8 22.9 ms, fp32 23 ms.
    OrtInt8Types("x86_64", "avx2|avx512f", "u8s8",
                 "u8s8: ONNX Runtime's fast x86 int8 kernels are u8 x s8 (vpmaddubsw; vpdpbusd with VNNI/AMX); "
                 "its s8s8 path was no faster than fp32 without VNNI and slower than fp32 on an AMX Xeon "
                 "(weights could saturate; reduce_range=False kept for speed)"),
    OrtInt8Types("aarch64", "asimddp", "s8s8", "s8s8: the CPU has asimddp (SDOT int8 dot products)"),
    OrtInt8Types("cpu", "", "s8s8", "s8s8: ORT's default (no AVX2 or SDOT flags read from this CPU)"),
]

# The flags the rules above read (plus a few shown for context), in the order `calib device` prints them.
PRECISION_FLAGS = {
    "x86_64": ["avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx_vnni_int8", "avx512_bf16",
               "avx512_fp16", "avx_ne_convert", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16"],
    "aarch64": ["asimd", "fphp", "asimdhp", "asimddp", "i8mm", "bf16", "sve", "sve2", "svebf16", "sme"],
}
