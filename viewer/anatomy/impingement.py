"""Bony impingement: poses inside the joint ranges that would still drive the femur into the pelvis.

Each joint angle has its own range, but a real hip stops earlier in some combinations. Flexed and
internally rotated, the femoral neck meets the acetabular rim (what the FADIR test provokes:
femoroacetabular impingement). Extended or adducted in external rotation, the lesser trochanter
swings back against the ischium (ischiofemoral impingement), crushing quadratus femoris between them.
The check measures how deep the femur, outside its head, would reach into the hip bone; the head
itself always touches the acetabulum across the joint space and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.anatomy.bones import SIDES, Surface, load_bone_surfaces, load_landmarks
from viewer.anatomy.muscles.pose_grids import load_pose_grids
from viewer.types import FloatArray

OVERLAP_MM = 1.0  # deeper than this (the distance grid's error), the bones would pass through each other
HEAD_MARGIN_MM = 26.0  # femur points this near the head centre are its head (radius 22.8 mm) and rim
NEAR_PELVIS_MM = 50.0  # only femur points this near the pelvis at rest can ever reach it in the ranges
SITES = {  # hip-bone landmark nearest the contact -> how the impingement is called
    "ischial_tuberosity": "ischiofemoral: the lesser trochanter meets the ischium",
    "acetabulum_centre": "femoroacetabular: the femoral neck meets the acetabular rim",
}


@dataclass(frozen=True)
class Impingement:
    """Where and how deep one femur would enter its hip bone."""

    side: str
    depth_mm: float
    site: str

    def message(self) -> str:
        """One line for the user: which hip, where the bones meet and how deep."""
        return (
            f"{self.side} hip: bony impingement ({self.site}, {self.depth_mm:.1f} mm of overlap); "
            "a living hip stops before this pose"
        )

    def short(self) -> str:
        """One line for a panel: side, kind and depth (the message gives the bones)."""
        return f"{self.side.capitalize()} hip: bony impingement ({self.site.split(':')[0]}, {self.depth_mm:.1f} mm)"

    def as_dict(self) -> dict[str, object]:
        """Side, depth (mm, one decimal) and site, as ``inspect --json`` reports them."""
        return {"side": self.side, "depth_mm": round(self.depth_mm, 1), "site": self.site}


class ImpingementCheck:
    """Tests a pose's femurs against the pelvis (a few hundred points per side, well under a millisecond)."""

    def __init__(self, bones: dict[str, Surface] | None = None, landmarks: dict[str, FloatArray] | None = None) -> None:
        bones = load_bone_surfaces() if bones is None else bones
        landmarks = load_landmarks() if landmarks is None else landmarks
        self.grid = load_pose_grids(bones)["pelvis"]  # the one the muscle deformers already loaded
        self.points: dict[str, FloatArray] = {}
        self.site_landmarks: dict[str, FloatArray] = {}  # per side, in the order of SITES
        for side in SIDES:
            femur = bones[f"femur_{side}"].vertices
            distance, _ = self.grid.sample(femur)
            outside_head = np.linalg.norm(femur - landmarks[f"femoral_head_centre_{side}"], axis=1) > HEAD_MARGIN_MM
            self.points[side] = femur[outside_head & (distance < NEAR_PELVIS_MM)]
            self.site_landmarks[side] = np.array([landmarks[f"{name}_{side}"] for name in SITES])

    def check(self, transforms: dict[str, FloatArray]) -> list[Impingement]:
        """Impingements at the pose given by ``thigh_<side>`` transforms (pelvis frame), deepest first."""
        found = []
        for side in SIDES:
            thigh = transforms.get(f"thigh_{side}")
            if thigh is None:
                continue
            points = self.points[side] @ thigh[:3, :3].T + thigh[:3, 3]
            distance, _ = self.grid.sample(points)
            deepest = int(np.argmin(distance))
            if -distance[deepest] > OVERLAP_MM:
                nearest = np.argmin(np.linalg.norm(self.site_landmarks[side] - points[deepest], axis=1))
                site = list(SITES.values())[int(nearest)]
                found.append(Impingement(side, float(-distance[deepest]), site))
        return sorted(found, key=lambda i: -i.depth_mm)
