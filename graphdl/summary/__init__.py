"""TF1's ``tf.summary``: summary ops and the ``FileWriter`` that writes them for TensorBoard.

    loss_summary = tf.summary.scalar("loss", loss)
    tf.summary.histogram("weights", w)
    merged = tf.summary.merge_all()
    writer = tf.summary.FileWriter("/tmp/logs", graph=tf.get_default_graph())
    summary, _ = sess.run([merged, train_op], feed_dict)
    writer.add_summary(summary, step)

Needs the ``tensorboard`` package (``pip install tensorboard``) for its protobufs and event
writer; it is imported when a summary op runs or a FileWriter opens. The proto classes
``Summary``, ``SummaryDescription``, ``Event``, ``SessionLog`` and ``TaggedRunMetadata`` are
available here as in TF1.
"""

from graphdl.summary.summary_ops import (
    audio,
    histogram,
    image,
    merge,
    merge_all,
    scalar,
    tensor_summary,
    text,
)
from graphdl.summary.writer import FileWriter, FileWriterCache

_PROTO_CLASSES = {
    "Summary": ("summary_pb2", "Summary"),
    "SummaryDescription": ("summary_pb2", "SummaryDescription"),
    "Event": ("event_pb2", "Event"),
    "SessionLog": ("event_pb2", "SessionLog"),
    "TaggedRunMetadata": ("event_pb2", "TaggedRunMetadata"),
}


def __getattr__(name):
    if name in _PROTO_CLASSES:
        from graphdl.summary._tensorboard import tensorboard

        module, cls = _PROTO_CLASSES[name]
        return getattr(getattr(tensorboard(), module), cls)
    raise AttributeError(f"module 'graphdl.summary' has no attribute '{name}'")

