"""TF1's ``tf.queue``: ``FIFOQueue``, ``PaddingFIFOQueue``, ``RandomShuffleQueue`` and their base ``QueueBase``."""

from graphdl.ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue

__all__ = ["FIFOQueue", "PaddingFIFOQueue", "QueueBase", "RandomShuffleQueue"]
