"""`--model file.onnx`: a LoadedModel read from the graph, runnable by ONNX Runtime only."""

import pytest

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter warns

import torch  # noqa: E402

from calib.backends import get_backend  # noqa: E402
from calib.models.onnx_model import load_onnx_model  # noqa: E402
from calib.errors import BackendUnavailable, ModelLoadError, UsageError  # noqa: E402
from run_configs import run_config


def _export(path, dynamic_spatial=False):
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    axes = {"x": {0: "batch", 2: "h", 3: "w"} if dynamic_spatial else {0: "batch"}, "y": {0: "batch"}}
    torch.onnx.export(module, (torch.randn(2, 3, 16, 16),), str(path), dynamo=False, input_names=["x"],
                      output_names=["y"], dynamic_axes=axes)
    return module


def test_reads_shape_from_the_graph(tmp_path):
    _export(tmp_path / "m.onnx")
    model = load_onnx_model(str(tmp_path / "m.onnx"))
    assert model.module is None and model.item_shape == (3, 16, 16) and model.input_kind == "image"
    assert model.info["onnx_path"].endswith("m.onnx")
    (inputs,) = model.make_inputs(5)
    assert inputs.shape == (5, 3, 16, 16) and inputs.dtype == torch.float32


def test_symbolic_dims_need_input_shape(tmp_path):
    _export(tmp_path / "m.onnx", dynamic_spatial=True)
    with pytest.raises(UsageError, match="--input-shape"):
        load_onnx_model(str(tmp_path / "m.onnx"))
    assert load_onnx_model(str(tmp_path / "m.onnx"), (3, 8, 8)).item_shape == (3, 8, 8)


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="no such file"):
        load_onnx_model(str(tmp_path / "missing.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(ModelLoadError, match="not a readable ONNX model"):
        load_onnx_model(str(tmp_path / "junk.onnx"))


def test_runs_on_onnxruntime_and_not_on_torch(tmp_path, onnx_cache):
    module = _export(tmp_path / "m.onnx")
    model = load_onnx_model(str(tmp_path / "m.onnx"))
    prepared = get_backend("onnxruntime").prepare(model, run_config("int8-static", "cpu", 1, 1, calib_samples=4))
    try:
        assert prepared.info["exporter"] == "file"
        assert prepared.run().shape == module(*model.make_inputs(1)).shape
    finally:
        prepared.close()
    with pytest.raises(BackendUnavailable, match="--backend onnxruntime"):
        get_backend("torch").prepare(model, run_config("fp32", "cpu", 1, 1))


def test_external_data_files_are_counted_and_converted(tmp_path, onnx_cache):
    import onnx

    _export(tmp_path / "m.onnx")
    path = tmp_path / "external" / "m.onnx"
    path.parent.mkdir()
    onnx.save_model(onnx.load(str(tmp_path / "m.onnx")), str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.onnx.data", size_threshold=0)
    model = load_onnx_model(str(path))
    for precision in ("fp32", "int8-dynamic", "fp16"):
        prepared = get_backend("onnxruntime").prepare(model, run_config(precision, "cpu", 1, 1))
        try:
            assert prepared.run().shape == (1, 4)
            if precision == "fp32":
                assert prepared.model_size_bytes > path.stat().st_size  # the .data file counts too
        finally:
            prepared.close()
