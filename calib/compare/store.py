"""Runs read from a results store for the readers that take results files (`calib compare --store`,
`calib check --history`): the latest run of each device class as the typed ResultFile every reader takes."""

from __future__ import annotations

from dataclasses import replace

from calib.results.record import ResultFile


def latest_results(store, model: str | None = None, kind: str | None = "run") -> list[ResultFile]:
    """The newest run of each device class (that measured `model`, when given: then only its records), as
    ResultFiles labelled "device_class@date". Empty when the store holds no such run."""
    found = []
    for run in store.latest_runs(model=model, kind=None if kind in (None, "any") else kind):
        result = store.result_file(run["id"])
        if model is not None:
            result = replace(result, records=tuple(r for r in result.records if str(r.identity.model) == model))
        found.append(result)
    return found
