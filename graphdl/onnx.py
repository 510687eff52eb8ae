"""``graphdl.onnx``: export graphdl graphs as ONNX models and import ONNX models as graphdl graphs.

    import graphdl as tf
    model = tf.onnx.export(sess, inputs={"x": x}, outputs={"logits": logits}, path="model.onnx")
    imported = tf.onnx.import_model("model.onnx")   # .graph, .inputs, .outputs, .session()

See :func:`graphdl.backends.onnx.exporter.export` and :func:`graphdl.frontends.onnx.import_model`
for the arguments.
"""

from graphdl.backends.onnx import MAPPINGS, MIN_OPSET, NOT_EXPORTED, default_opset, export
from graphdl.frontends.onnx import ImportedModel, UnsupportedOnnxError, import_model

__all__ = ["MAPPINGS", "MIN_OPSET", "NOT_EXPORTED", "ImportedModel", "UnsupportedOnnxError", "default_opset", "export",
           "import_model"]
