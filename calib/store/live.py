"""A running command's records going into the store as they finish (calib.results.store.ResultWriter
calls this sink after each write of the JSON file, which stays the artifact).

The store was opened, or its SQLite file's folder checked, before any work (a bad URL, a dead server
or a newer schema is exit 2 then). A failure later, in
the middle of a run, never costs a measurement: the sink says so once, stops writing, and names the
command that adds the file's records afterwards (`calib push FILE`)."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass


@dataclass
class StoreTarget:
    """Where a command's runs go and what they are filed under (from --store/--commit/--branch/--device-class)."""

    store: object | None  # calib.store.db.Store, or None: the store is turned off (or not opened yet)
    commit: str | None = None
    branch: str | None = None
    device_class: str | None = None
    # A SQLite store that does not exist yet is created with the first results file, not before: a command
    # refused for bad input leaves nothing behind (its folder was checked writable up front).
    pending_url: str | None = None

    def opened(self):
        if self.store is None and self.pending_url is not None:
            from calib.store import open_store

            self.store, self.pending_url = open_store(self.pending_url), None
        return self.store

    def header(self, environment: dict) -> dict:
        """What a results file's header records for the store: its identity, device class and commit."""
        from calib.store.identity import device_class, git_info

        return {"run_id": uuid.uuid4().hex, "device_class": device_class(environment, self.device_class),
                "git": git_info(self.commit, self.branch)}

    def sink(self) -> "StoreSink | None":
        if self.opened() is None:
            return None
        return StoreSink(self.store)


class StoreSink:
    def __init__(self, store):
        self.store = store
        self.run_id = None
        self.failed: str | None = None
        self.path = None

    def begin(self, payload: dict, path) -> None:
        self.path = path
        self._guarded(lambda: setattr(self, "run_id", self.store.add_run(payload, source=str(path))[0]))

    def add(self, seq: int, record: dict) -> None:
        if self.run_id is not None:
            self._guarded(lambda: self.store.add_record(self.run_id, seq, record))

    def finish(self, records: list) -> None:
        """The run ended: records changed after they were first written (calib train fills in the deviations
        from its baseline at the end) are brought up to date, then the run is marked complete."""
        if self.run_id is not None:
            self._guarded(lambda: self.store.sync_records(self.run_id, enumerate(records)))
        if self.run_id is not None:
            self._guarded(lambda: self.store.finish_run(self.run_id))

    def close(self, records: list) -> None:
        """An interrupted run: what it finished is in the store as it is in the file."""
        if self.run_id is not None:
            self._guarded(lambda: self.store.sync_records(self.run_id, enumerate(records)))

    def _guarded(self, action) -> None:
        if self.failed is not None:
            return
        try:
            action()
        except Exception as error:  # noqa: BLE001 - the store failing never costs the run or its file
            from calib.errors import first_line

            self.failed = first_line(error)
            self.run_id = None
            print(f"calib: warning: the store stopped taking this run's records ({self.failed}); they are in "
                  f"{self.path}: `calib push {self.path} --store URL` adds them later", file=sys.stderr)
