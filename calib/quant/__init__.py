"""Quantization: calibration data, PyTorch int8 paths, fp8, and quantization-error analysis."""
