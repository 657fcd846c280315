"""Stored results: the schema, atomic writes, loading and flat exports."""

from calib.results.schema import SCHEMA_VERSION, identity, identity_label, summary_of
from calib.results.store import ResultWriter, load_result

__all__ = ["SCHEMA_VERSION", "identity", "identity_label", "summary_of", "ResultWriter", "load_result"]
