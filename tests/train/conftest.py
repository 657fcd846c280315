import pytest


@pytest.fixture(scope="module")
def mlp_task():
    from calib.models.loader import load_any
    from calib.train import build_task

    return build_task(load_any("tiny-mlp"))


@pytest.fixture(scope="module")
def digits_task():
    from calib.models.loader import load_any
    from calib.train import build_task

    return build_task(load_any("digits-cnn"))


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: one thread is both faster and steadier for tiny models
    yield
    torch.set_num_threads(threads)
