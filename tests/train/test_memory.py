"""The CPU peak is the peak of the process's allocations during the run (glibc mallinfo2), not the
resident set's growth: a freed block is not counted twice and a short-lived one is seen."""

import time

import pytest
import torch

from calib.train.memory import PeakMemory, allocated_reader


@pytest.mark.skipif(allocated_reader() is None, reason="needs glibc's mallinfo2")
def test_a_short_lived_allocation_is_the_peak_and_the_kind_says_how():
    with PeakMemory("cpu") as memory:
        block = torch.ones(16 * 2 ** 20)  # 64 MiB
        time.sleep(0.02)
        del block
    assert 60 * 2 ** 20 <= memory.growth_bytes < 80 * 2 ** 20
    assert "mallinfo2" in memory.to_dict()["peak_kind"] and memory.to_dict()["samples"] > 0
    with PeakMemory("cpu") as again:  # what the first run freed is not this run's
        time.sleep(0.01)
    assert again.growth_bytes < 8 * 2 ** 20
