"""Int8Settings.keep_float / quantize_only on OpenVINO: the ops NNCF leaves float, as an nncf.IgnoredScope.

Names are the OpenVINO model's op friendly names; the switchable ops are OPENVINO_OPS (what
`calib sensitivity -b openvino` lists, calib.sensitivity.names).
"""

from __future__ import annotations

from calib.errors import CalibError

OPENVINO_OPS = ("Convolution", "GroupConvolution", "ConvolutionBackpropData", "MatMul")


def openvino_ignored_scope(ov_model, int8, info: dict | None = None):
    """nncf.IgnoredScope for Int8Settings.keep_float (those ops stay float) or quantize_only (every
    other op ignored); None when neither is set. Unknown names are refused in one line."""
    if not int8.keep_float and not int8.quantize_only:
        return None
    import nncf

    names = [op.get_friendly_name() for op in ov_model.get_ordered_ops()]
    unknown = [name for name in (*int8.keep_float, *int8.quantize_only) if name not in set(names)]
    if unknown:
        raise CalibError(f"int8: no op named {', '.join(unknown[:3])} in the OpenVINO model (names are op "
                         "friendly names; `calib sensitivity -b openvino` lists them)")
    if info is not None:
        info.update({"quantize_only": list(int8.quantize_only)} if int8.quantize_only
                    else {"keep_float": list(int8.keep_float)})
    if int8.quantize_only:
        wanted = set(int8.quantize_only)
        return nncf.IgnoredScope(names=[name for name in names if name not in wanted], validate=False)
    return nncf.IgnoredScope(names=list(int8.keep_float))
