"""``tf.data.experimental``: ``AUTOTUNE`` (accepted wherever TF1 takes a parallelism or buffer size)."""

from graphdl.data.dataset_ops import AUTOTUNE

__all__ = ["AUTOTUNE"]
