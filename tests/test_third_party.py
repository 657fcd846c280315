"""calib.third_party drops torch's Enum-constant notice that importing torchao prints, and only it."""

import logging
import subprocess
import sys

import pytest

from calib.third_party import quiet_known_noise

NOTICE = "is an Enum subclass and is now natively supported"


def _import_torchao(quiet: bool) -> str:
    code = ("from calib.third_party import quiet_known_noise\nquiet_known_noise()\n" if quiet else "") + \
        "import torchao.quantization.pt2e\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_the_notice_is_gone_with_the_filter():
    pytest.importorskip("torchao")
    if NOTICE not in _import_torchao(quiet=False):
        pytest.skip("this torch/torchao pair prints no such notice: the filter has nothing to drop")
    assert NOTICE not in _import_torchao(quiet=True)


def test_other_warnings_of_that_logger_still_show(caplog):
    quiet_known_noise()
    quiet_known_noise()  # twice: still one filter
    logger = logging.getLogger("torch.utils._pytree")
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger="torch.utils._pytree"):
        logger.warning("something else entirely")
        logger.warning("%s " + NOTICE + " by torch.compile as an opaque value type", "<enum 'X'>")
    assert [r.getMessage() for r in caplog.records] == ["something else entirely"]
