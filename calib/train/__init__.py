"""`calib train`: what each precision does to training speed, memory and the loss curve.

    task = build_task(load_any(model, ...))                 # calib.train.task: model, loss, batches, eval
    records = train_all(task, precisions, settings, device, device_report, writer)

Each configuration (a precision, with or without activation checkpointing: calib.train.checkpointing)
first races its candidates (memory format, compiled or eager: calib.train.candidates, with calib.tuning's
race), then trains a copy of the same initial module on the same batches (calib.train.loop), set up by
calib.train.setup with the winner's settings; the default batch is fitted to memory (calib.train.sizing),
hf:DIR models train on real text (calib.train.text), peak memory is calib.train.memory's; its record
(calib.train.record) has the fields of a `calib run` record plus "training". Per-module forward/backward times: calib.train.layers. The table: calib.render.train_table.
"""

from __future__ import annotations

from calib.train.driver import train_all
from calib.train.precisions import TRAIN_PRECISIONS, get_train_precision
from calib.train.settings import TrainSettings
from calib.train.task import build_task

__all__ = ["train_all", "TRAIN_PRECISIONS", "get_train_precision", "TrainSettings", "build_task"]
