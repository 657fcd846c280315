"""RunConfig from the flat option names the CLI uses (--calib-samples 8 -> calib_samples=8), for tests."""

from calib.backends import RunConfig
from calib.settings import CalibrationSettings, CompileSettings, Int8Settings

_CALIBRATION = {"calib_data": "data", "calib_samples": "samples", "calib_method": "method",
                "calib_percentile": "percentile", "qscheme": "qscheme", "weight_granularity": "weight_granularity"}


def run_config(precision, device="cpu", batch_size=1, threads=1, options=None, **more) -> RunConfig:
    options = {**(options or {}), **more}
    calibration = CalibrationSettings(**{_CALIBRATION[k]: v for k, v in options.items() if k in _CALIBRATION})
    int8 = Int8Settings(path=options.get("int8_path", "auto"), engine=options.get("int8_engine"))
    compile_settings = CompileSettings(mode=options.get("compile_mode", "default"))
    return RunConfig(precision, device, batch_size, threads, calibration=calibration, int8=int8,
                     compile=compile_settings)
