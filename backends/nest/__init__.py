"""NEST 3.10 through pyNN.nest: the backend (``backend``), pyNN.nest's recorders made lighter (``recording``) and its
connections made in bulk (``connectors``). The registry imports ``Backend`` from here."""
from .backend import Backend
from .ranks import facts as run_facts

__all__ = ["Backend", "run_facts"]
