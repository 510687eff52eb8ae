"""Compatibility namespaces: ``graphdl.compat.v1`` is TF1's API (``import graphdl.compat.v1 as tf``)."""
