"""trace-engine: a columnar engine for agent evidence and rollout records."""

__version__ = "0.1.0"
