import pytest


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    """One ONNX cache for the session (exports are reused across tests), never ~/.cache."""
    folder = tmp_path_factory.mktemp("calib-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALIB_CACHE_DIR", str(folder))
        yield folder
