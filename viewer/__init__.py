"""Glute viewer: a 3D atlas of the hip and gluteal region for bodywork education."""

__version__ = "0.1.0"
