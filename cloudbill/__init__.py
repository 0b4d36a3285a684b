"""cloudbill: an open-source, self-hostable cloud billing center."""

__version__ = "0.1.0"
