"""hippocam: spiking content-addressable memories and converted event-driven networks on Brian2, NEST and
SpiNNaker, from one backend-agnostic PyNN description.

The user API::

    import hippocam
    mem = hippocam.Memory(cue_size=5, content_size=10, backend="brian2")
    mem.learn(0, [1, 3]); mem.recall_cue(0)

Subpackages (layers point one way: ``experiments`` -> ``cam`` / ``event_models`` -> ``backends`` -> ``errors``):

* ``hippocam.cam``           the CA3 content-addressable memory
* ``hippocam.event_models``  converted vision and point-cloud SNNs, their reference simulator, NIR
* ``hippocam.backends``      Brian2, NEST, SpiNNaker and the SpiNNaker model behind one interface
* ``hippocam.experiments``   the ``hippocam`` command, the experiments and the HTML report
* ``hippocam.errors``        ``InputError``, ``BackendError``
"""
from importlib import metadata as _metadata

# Absolute, not relative: pytest imports the repository root's __init__.py (the root is a package) under the
# checkout folder's name, where a relative import has no parent package.
from hippocam.errors import BackendError, HippocamError, InputError

try:
    __version__ = _metadata.version("hippocam")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

_API = {"Memory": "hippocam.cam", "OpResult": "hippocam.cam", "Operation": "hippocam.cam", "learn": "hippocam.cam",
        "recall_cue": "hippocam.cam", "recall_content": "hippocam.cam", "Oracle": "hippocam.cam",
        "Answer": "hippocam.cam"}

__all__ = ["__version__", "BackendError", "HippocamError", "InputError", *_API]


def __getattr__(name):
    # lazy, so that ``import hippocam.backends`` does not load the memory (and its layer) as well
    if name in _API:
        import importlib
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'hippocam' has no attribute {name!r}")
