import pytest

# Timing options that keep a CLI run of a tiny model well under a second. --no-tune: the rule's first
# candidate, so a test's implementation does not depend on a race (tests/test_tuning.py races them).
FAST = ["--max-time", "0.3", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
        "--warmup-min-count", "1", "-q", "--no-tune"]


@pytest.fixture
def fast_options():
    return list(FAST)


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner(env={"COLUMNS": "200"})  # golden output is rendered at a fixed width


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    """One ONNX cache for the session (exports are reused across tests), never ~/.cache."""
    folder = tmp_path_factory.mktemp("calib-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALIB_CACHE_DIR", str(folder))
        yield folder
