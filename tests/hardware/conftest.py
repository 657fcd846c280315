from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hardware"


@pytest.fixture
def fixture_text():
    def read(name: str) -> str:
        return (FIXTURES / name).read_text()

    return read


@pytest.fixture
def captured_root(tmp_path):
    """Build a fake / under tmp_path: {"/proc/cpuinfo": text or bytes, ...} -> the root dir."""

    def build(files: dict) -> Path:
        for absolute, content in files.items():
            target = tmp_path / absolute.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        return tmp_path

    return build
