"""The NumPy reference interpreter: the correctness oracle for every other backend."""

from graphdl.backends.reference.executor import BACKEND, ReferenceBackend

__all__ = ["BACKEND", "ReferenceBackend"]
