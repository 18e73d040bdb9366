"""Switchboard: a self-hostable contact center and task-routing platform."""

__version__ = "0.1.0"
