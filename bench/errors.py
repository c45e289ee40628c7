"""The exception tree of the benchmark package (drawn in ``bench/__init__.py``)."""


class BenchError(Exception):
    """Base of every error raised by the benchmark harness."""


class UnknownScenarioError(BenchError):
    """A scenario name asked for on the command line is not registered."""


class PeerUnavailableError(BenchError):
    """A peer cannot run on this host, e.g. its binaries are missing."""


class PeerFailedError(BenchError):
    """A system under measurement raised while being driven."""
