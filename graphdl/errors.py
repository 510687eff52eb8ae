"""Exception classes with TF1's names (``graphdl.errors.InvalidArgumentError`` ...).

Each also subclasses the natural Python exception, so ``except ValueError`` catches an
``InvalidArgumentError`` just as ``except errors.InvalidArgumentError`` does.
"""

from __future__ import annotations

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class OpError(Exception):
    """An error raised while building or running a graph, naming the op involved.

    Accepts TF1's ``(node_def, op, message)`` arguments, or just a message.
    """

    error_code = UNKNOWN

    def __init__(self, node_def=None, op=None, message=None, error_code=None):
        if message is None and isinstance(node_def, str) and op is None:
            message, node_def = node_def, None
        self.node_def = node_def
        self.op = op
        self.message = message if message is not None else ""
        if error_code is not None:
            self.error_code = error_code
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __reduce__(self):
        return (type(self), (None, None, self.message))


class CancelledError(OpError):
    error_code = CANCELLED


class UnknownError(OpError):
    error_code = UNKNOWN


class InvalidArgumentError(OpError, ValueError):
    error_code = INVALID_ARGUMENT


class DeadlineExceededError(OpError, TimeoutError):
    error_code = DEADLINE_EXCEEDED


class NotFoundError(OpError, KeyError, ValueError):
    error_code = NOT_FOUND


class AlreadyExistsError(OpError, ValueError):
    error_code = ALREADY_EXISTS


class PermissionDeniedError(OpError, PermissionError):
    error_code = PERMISSION_DENIED


class UnauthenticatedError(OpError):
    error_code = UNAUTHENTICATED


class ResourceExhaustedError(OpError, MemoryError):
    error_code = RESOURCE_EXHAUSTED


class FailedPreconditionError(OpError, RuntimeError):
    error_code = FAILED_PRECONDITION


class AbortedError(OpError, RuntimeError):
    error_code = ABORTED


class OutOfRangeError(OpError, IndexError):
    error_code = OUT_OF_RANGE


class UnimplementedError(OpError, NotImplementedError):
    error_code = UNIMPLEMENTED


class InternalError(OpError, RuntimeError):
    error_code = INTERNAL


class UnavailableError(OpError, RuntimeError):
    error_code = UNAVAILABLE


class DataLossError(OpError, IOError):
    error_code = DATA_LOSS
