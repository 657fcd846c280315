"""Timing: clocks, the adaptive measurement loop and the statistics derived from raw samples."""

from calib.timing.engine import Measurement, TimingSettings, measure
from calib.timing.stats import Summary, summarize

__all__ = ["Measurement", "TimingSettings", "measure", "Summary", "summarize"]
