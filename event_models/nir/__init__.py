"""NIR: export of hippocam nets (``export``), import of other frameworks' graphs (``reader``)."""
