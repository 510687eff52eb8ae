"""ONNX import: build a graphdl graph from an ONNX model (``import_model``), op by op through a converter registry."""

from .importer import ImportedModel, import_model
from .registry import CONVERTERS, UnsupportedOnnxError

__all__ = ["CONVERTERS", "ImportedModel", "UnsupportedOnnxError", "import_model"]
