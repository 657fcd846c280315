"""The store's schema (SQLAlchemy Core): one schema for SQLite and PostgreSQL.

    store_meta  key -> value: "schema_version" (SCHEMA_VERSION), "created_by" (the calib that made it)
    runs        one row per results file (a `calib run` / `ab` side / `train` / `predict` invocation):
                run_key (the run's stable identity, unique), its header (command, created, calib
                version, environment, device report), where it ran (host, device_class, device
                fingerprint) and what it measured (git commit and branch), complete, source file
    records     one row per record of a run: (run_id, seq) unique, the configuration's identity in
                columns (config_key, model, backend, precision, batch_size, input_shape, device,
                variant), the statistics history queries read (median_ms and its interval,
                n_samples), the run's created/device_class/commit/branch copied in for indexed
                series queries, and `body`: the whole typed record (calib.results.record), raw
                samples included

Version history (MIGRATIONS in calib.store.db moves an older store forward on open):
  1: first version.
"""

from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA_VERSION = 1

metadata = MetaData()

_Json = JSON().with_variant(JSONB(), "postgresql")

store_meta = Table(
    "store_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_key", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # run | ab | train | predict | calibrate
    Column("created", DateTime(timezone=True), nullable=False),
    Column("calib_version", String(40)),
    Column("schema_version", Integer),  # the results file's
    Column("command", _Json),
    Column("environment", _Json),
    Column("device_report", _Json),
    Column("host", String(255)),
    Column("device_class", String(200), nullable=False),
    Column("device_fingerprint", String(64)),
    Column("git_commit", String(64)),
    Column("git_branch", String(255)),
    Column("complete", Boolean),
    Column("source", Text),  # the results file it came from (a path on the machine that wrote it)
    Column("pushed", DateTime(timezone=True)),  # when it entered the store
)
Index("ix_runs_device_class_created", runs.c.device_class, runs.c.created)
Index("ix_runs_created", runs.c.created)

records = Table(
    "records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),  # its place in the run's file
    Column("config_key", String(40), nullable=False),
    Column("model", String(255)),
    Column("backend", String(64)),
    Column("precision", String(64)),
    Column("batch_size", Integer),
    Column("input_shape", String(128)),
    Column("device", String(64)),
    Column("variant", String(64)),
    Column("status", String(16)),
    Column("median_ms", Float),
    Column("ci_low_ms", Float),
    Column("ci_high_ms", Float),
    Column("n_samples", Integer),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("device_class", String(200), nullable=False),
    Column("git_commit", String(64)),
    Column("git_branch", String(255)),
    Column("body", _Json, nullable=False),
    UniqueConstraint("run_id", "seq", name="uq_records_run_seq"),
)
Index("ix_records_series", records.c.config_key, records.c.device_class, records.c.created)
Index("ix_records_model_precision", records.c.model, records.c.precision)
Index("ix_records_device_class_created", records.c.device_class, records.c.created)
Index("ix_records_branch", records.c.git_branch)
