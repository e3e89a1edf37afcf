"""Scene structures built from the anatomy: bones, muscles (with the iliotibial band), and the muscles' deformer.

:func:`viewer.model.scene.build_scene` puts these together with the skin and the nerves.
"""

from __future__ import annotations

import warnings

from viewer.anatomy.bones import bone_specs, load_bone_surfaces
from viewer.anatomy.kinematics import bone_segment
from viewer.anatomy.posed import Deformer
from viewer.model.structures import Structure


def bone_structures() -> list[Structure]:
    """The atlas bones as scene structures."""
    surfaces = load_bone_surfaces()
    return [
        Structure(
            name=spec.name,
            kind="bone",
            display_name=spec.display_name,
            colour=spec.colour,
            vertices=surfaces[spec.name].vertices,
            faces=surfaces[spec.name].faces,
            side=spec.side,
            segment=bone_segment(spec.name),
            layer=100,
            layer_name="bone",
        )
        for spec in bone_specs()
    ]


def muscle_structures(muscles: dict) -> list[Structure]:
    """The gluteal muscles and the iliotibial band as scene structures."""
    structures = []
    for name, muscle in muscles.items():
        spec = muscle.spec
        side_label = f" ({muscle.side})"
        structures.append(
            Structure(
                name=name,
                kind="fascia" if spec.name == "iliotibial_band" else "muscle",
                display_name=spec.display_name + side_label,
                colour=spec.colour,
                vertices=muscle.display_surface().vertices,
                faces=muscle.display_surface().faces,
                side=muscle.side,
                segment=None,
                layer=spec.layer,
                layer_name=spec.layer_name,
                info=dict(spec.info),
                common_names=tuple(spec.common_names),
                fibres=muscle.fibres,
                outer_fibres=getattr(muscle, "outer_fibres", None),
                fibre_uv=muscle.fibre_uv,
                appearance=spec.appearance,
            )
        )
    # superficial first, as a student peels them
    return sorted(structures, key=lambda s: (s.layer, s.name))


def muscle_deformer(geometry: dict) -> Deformer:
    """The muscles' display forms carried by their cages (see :class:`~viewer.anatomy.muscles.forms_posing.FormDeformer`),
    the cages posed by the baked pose space (a few milliseconds a pose), or by the solver itself when the table
    is stale or missing."""
    from viewer.anatomy.muscles.forms_posing import FormDeformer

    return FormDeformer(cage_deformer(geometry), geometry)


def cage_deformer(geometry: dict) -> Deformer:
    """The baked pose space; the solver itself when the table is stale or missing."""
    from viewer.anatomy.muscles import MusclePoser
    from viewer.anatomy.pose_space import load_pose_space

    baked = load_pose_space(geometry)
    if baked is not None:
        return baked
    warnings.warn(
        "the muscle pose space is missing or was baked from other muscles; posing with the solver, which is "
        "slower (run: python -m viewer.tools.bake_poses)",
        RuntimeWarning,
        stacklevel=2,
    )
    return MusclePoser(geometry)
