"""The store options every measuring command takes (`calib run`, `ab`, `train`, `predict`), defined once.

The decorator opens the store before the command does any work, so a bad --store URL, an unreachable
server or a store of a newer schema is a one-line exit 2 with nothing measured and no file written;
calib.cli._common.open_results then files each results file's records into it as they finish."""

from __future__ import annotations

import functools

import click

_KEY = "calib.store"


def store_options(command):
    @click.option("--store", "store_url", metavar="URL",
                  help="Also file the records in this store: sqlite:///path.db or postgresql://user@host/db "
                       "(default: CALIB_STORE, else <results-dir>/calib.db; 'none' turns it off).")
    @click.option("--commit", "store_commit", metavar="SHA",
                  help="The commit this run measures (default: the CI's variables, else `git rev-parse HEAD`).")
    @click.option("--branch", "store_branch", metavar="NAME",
                  help="The branch this run measures (default: the CI's variables, else the current branch).")
    @click.option("--device-class", "store_device_class", metavar="NAME",
                  help="Name of this kind of device in the store (default: CALIB_DEVICE_CLASS, else derived from "
                       "the CPU or GPU model), e.g. the CI runner's label.")
    @functools.wraps(command)
    def wrapped(*args, store_url=None, store_commit=None, store_branch=None, store_device_class=None, **kwargs):
        from calib.store import check_sqlite_folder, open_store, resolve_url, sqlite_file
        from calib.store.live import StoreTarget

        url = resolve_url(store_url, kwargs.get("results_dir") or "results")
        target = StoreTarget(None, store_commit, store_branch, store_device_class)
        path = sqlite_file(url) if url else None
        if path is not None and not path.exists():
            check_sqlite_folder(path, url)  # created with the first results file, not before
            target.pending_url = url
        elif url:
            target.store = open_store(url)
        click.get_current_context().meta[_KEY] = target
        return command(*args, **kwargs)

    # listed last in --help (click shows the options added last first)
    params = wrapped.__click_params__
    params[0:0] = [params.pop() for _ in range(4)][::-1]
    return wrapped


def current_target():
    """The StoreTarget the running command opened (None outside a command with store options)."""
    context = click.get_current_context(silent=True)
    return context.meta.get(_KEY) if context is not None else None
