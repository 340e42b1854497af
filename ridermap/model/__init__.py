"""The community model: schema, bundle, merge and validation."""

from ridermap.model.bundle import Bundle, concat_bundles, conform_layer, empty_layer
from ridermap.model.schema import FACILITY_KINDS, LAYERS, RIDER_ACCESS

__all__ = ["Bundle", "concat_bundles", "conform_layer", "empty_layer", "FACILITY_KINDS", "LAYERS", "RIDER_ACCESS"]
