"""Small helpers for tests that look at pixels."""

from __future__ import annotations

import numpy as np


def read_png(path) -> np.ndarray:
    """Pixels (height, width, channels), top row first."""
    import vtkmodules.vtkIOImage as io
    from vtkmodules.util.numpy_support import vtk_to_numpy

    reader = io.vtkPNGReader()
    reader.SetFileName(str(path))
    reader.Update()
    data = reader.GetOutput()
    width, height, _ = data.GetDimensions()
    return vtk_to_numpy(data.GetPointData().GetScalars()).reshape(height, width, -1)[::-1]


def warm_share(image: np.ndarray) -> float:
    """Share of pixels that are warm ivory or flesh (bone, muscle) rather than the grey background."""
    rgb = image[..., :3].astype(int)
    return float(((rgb[..., 0] - rgb[..., 2]) > 18).mean())
