"""Models: the catalog, user model files, and the inputs each model takes."""

from calib.models.catalog import CATALOG, ModelEntry, get_entry
from calib.models.loader import LoadedModel, load_model

__all__ = ["CATALOG", "ModelEntry", "get_entry", "LoadedModel", "load_model"]
