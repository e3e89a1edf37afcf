"""The muscle cages make room for the sciatic nerve where it runs between them.

The nerve runs in the fat between gluteus maximus (behind) and the short rotators and quadratus femoris (in
front). Its tube is relaxed against the bones and the cages, and where the gap between two cages is thinner than
the nerve it is flattened only so far: at rest its tube entered the even-slab quadratus femoris cage (46 of its
1442 vertices) and the maximus cage (42). The forms leave the nerve its channel (``forms.keep_nerve_channel``);
here the deep cages it lies on do the same (BED_LAYER): each face the tube enters is lifted, along the cage's own
thickness (deep face to top face), until the tube lies clear of it, and the nerve, relaxed again, comes forward
into that bed out of maximus' cage.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from viewer.anatomy.bones import Surface
from viewer.anatomy.geometry import inside, length
from viewer.anatomy.muscles.binding import closest_points
from viewer.anatomy.muscles.build import RightMuscle
from viewer.anatomy.nerve import nerve_tubes
from viewer.types import FloatArray

# How far past a tube vertex a lifted face goes: the nerve's own clearance (1 mm, which its relaxation keeps from
# every cage). Lifted only 0.5 mm past it, the bed left the nerve relaxed into it squeezed between quadratus femoris
# and maximus, inside both cages (6 and 12 of the usual tube's 1442 vertices, 0.2 and 0.35 mm deep), and maximus'
# form, cut round it, folded at its channel's rim in external rotation with adduction (109 degrees on the solver).
# 1.5 mm cleared maximus' cage too, its form then bending 85 at most in motion (71 with 1 mm).
BED_MARGIN_MM = 1.0
BED_ROUNDS = 8  # rounds of lifting (a lifted face can bring a neighbouring triangle onto the tube)
BED_MAX_SHARE = 0.7  # a face is lifted at most this share of the cage's thickness there
BED_PASSES = 2  # tubes relaxed against the cages, cages lifted off them (make_room_for_the_nerve)
# The layer whose cages make the room: the nerve lies on the short rotators and quadratus femoris, under maximus.
# Maximus' cage is coarse (cells about 10 mm): a groove one cell wide in its deep face folded its posed form to
# 90 degrees at flexion 90 with the knee at 90 (72 before) and, spread over three cells, to 95 in external rotation
# with adduction; relaxed against the deep cages' bed, the nerve comes forward out of maximus' cage instead.
BED_LAYER = 2


def lifted_faces(cage: RightMuscle, tubes: list[FloatArray]) -> FloatArray:
    """The cage's vertices (2 n_u n_s, 3) with its faces lifted off the nerve's ``tubes`` (each (k, 3) vertices).

    Per round, every tube vertex inside the cage finds the nearest point of the cage's surface; the corners of
    that triangle move into the cage along their sample's thickness direction (the deep face towards the top
    face, the top face towards the deep face), each by its barycentric share, so that point comes to lie
    BED_MARGIN_MM beyond the tube vertex (a corner far from it hardly moves: the bed is no wider than the tube).
    """
    vertices = np.array(cage.vertices, float)
    count = len(vertices) // 2
    slab = vertices[count:] - vertices[:count]  # deep face to top face, per sample
    thickness = length(slab)
    inward = np.concatenate([slab, -slab]) / (np.concatenate([thickness, thickness])[:, None] + 1e-12)
    limit = BED_MAX_SHARE * np.concatenate([thickness, thickness])
    lift = np.zeros(len(vertices))
    rest = vertices.copy()
    points = np.concatenate(tubes) if tubes else np.zeros((0, 3))
    for _ in range(BED_ROUNDS):
        near = np.all((points > vertices.min(axis=0) - 1.0) & (points < vertices.max(axis=0) + 1.0), axis=1)
        entered = points[near][inside(vertices, cage.faces, points[near])]
        if not len(entered):
            break
        triangle, weights = closest_points(vertices, cage.faces, entered)
        corners = cage.faces[triangle]  # (p, 3)
        surface = np.einsum("pk,pkd->pd", weights, vertices[corners])
        share = weights / np.einsum("pk,pk->p", weights, weights)[:, None]  # moves the nearest point as far
        for k in range(3):
            depth = np.einsum("pd,pd->p", entered - surface, inward[corners[:, k]]) + BED_MARGIN_MM
            np.maximum.at(lift, corners[:, k], lift[corners[:, k]] + share[:, k] * depth)
        lift = np.minimum(lift, limit)
        vertices = rest + lift[:, None] * inward
    return vertices


def make_room_for_the_nerve(
    cages: list[RightMuscle], bones: dict[str, Surface], landmarks: dict[str, FloatArray]
) -> list[RightMuscle]:
    """The right-side ``cages`` with their faces lifted off the nerve's tubes (:func:`lifted_faces`), every variant.

    The nerve is relaxed against the cages it lies between, so it settles a little differently once they made
    room: BED_PASSES times the tubes are relaxed against the cages as they are and the cages lifted off them
    (after one pass, up to 13 of a branch's 1442 vertices lay in the cages it was relaxed against; after two, 6).
    A branch leaves the muscles it passes through whole.
    """
    for _ in range(BED_PASSES):
        tubes = nerve_tubes(bones, cages, landmarks)
        cages = [
            replace(cage, vertices=lifted_faces(cage, [v for v, passes in tubes if cage.spec.name not in passes]))
            if cage.spec.layer == BED_LAYER
            else cage
            for cage in cages
        ]
    return cages


__all__ = ["make_room_for_the_nerve"]
