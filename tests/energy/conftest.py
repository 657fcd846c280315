import pytest


@pytest.fixture
def sysfs(tmp_path):
    """A fake / under tmp_path laid out like sysfs: {"/sys/...": "text"} -> the root (files rewritable)."""

    def build(files: dict):
        for absolute, content in files.items():
            target = tmp_path / absolute.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        return tmp_path

    return build
