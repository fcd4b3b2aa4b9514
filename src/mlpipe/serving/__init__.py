"""Serving: the HTTP service (``app``), its micro-batcher and the scorer shared with batch scoring."""
