"""The --eval function for models/collapse.py: accuracy on the 797 held-out digits (deterministic).

    calib run -m models/collapse.py:build --eval models/eval_collapse.py:evaluate -p fp32 -p int8-static
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

BATCH = 100


def _collapse():
    spec = importlib.util.spec_from_file_location("calib_collapse_model", Path(__file__).with_name("collapse.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate(predict) -> dict:
    images, labels = _collapse().split("test")
    predicted = np.concatenate([np.asarray(predict(images[i:i + BATCH])).argmax(axis=1)
                                for i in range(0, len(labels), BATCH)])
    return {"score": float((predicted == labels).mean()), "items": int(len(labels))}
