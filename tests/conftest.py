import pytest

# Timing options that keep a CLI run of a tiny model well under a second.
FAST = ["--max-time", "0.3", "--min-time", "0.05", "--min-samples", "5", "--warmup-min-time", "0.01",
        "--warmup-min-count", "1", "-q"]


@pytest.fixture
def fast_options():
    return list(FAST)


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner(env={"COLUMNS": "200"})  # golden output is rendered at a fixed width
