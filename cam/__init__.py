"""The CA3 content-addressable memory (Casanueva-Morato et al. 2024) on any PyNN backend."""
from .memory import Memory, OpResult
from hippocam.errors import InputError
from .operations import Operation, learn, recall_content, recall_cue
from .oracle import Answer, Oracle

__all__ = ["Memory", "OpResult", "InputError", "Operation", "learn", "recall_cue", "recall_content",
           "Answer", "Oracle"]
