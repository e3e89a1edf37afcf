"""The skin as a scene structure: its surface per body type, its deformer, and its palette of tones.

The palette is data (``assets/annotations/skin_tones.json``); the surface and its blend-skinning
weights are built by :mod:`viewer.tools.build_skin` and loaded by :mod:`viewer.anatomy.skin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from viewer.anatomy.bones import load_bone_surfaces
from viewer.anatomy.posed import Deformer
from viewer.model.structures import DeformerFactory, Structure

SKIN_OPACITY = 0.3  # the skin starts translucent: what lies beneath shows through


def skin_structure(body: str | None = None) -> Structure:
    """The translucent skin of the hip region: where the therapist's hand actually is.

    ``body`` is the body type (``female``, the default, or ``male``): the same
    bones and muscles under a different surface and fat.
    """
    from viewer.anatomy.body_skin import DEFAULT_BODY
    from viewer.anatomy.skin import load_skin

    body = body or DEFAULT_BODY
    surface = load_skin(body)
    return Structure(
        name="skin",
        kind="skin",
        display_name=f"Skin and subcutaneous fat ({body} body)",
        colour=skin_tones()[default_skin_tone()].colour,
        vertices=surface.vertices,
        faces=surface.faces,
        segment=None,
        layer=-1,
        layer_name="skin",
        info={
            "body_type": body,
            "layer": "Outermost: skin over subcutaneous fat (thickest over the buttock and lateral thigh, "
            "1-3 cm over the bony points a therapist feels: PSIS, ASIS, sacrum, iliac crest; 2-5 cm over the "
            "greater trochanter). The surface of an average adult "
            f"{'woman' if body == 'female' else 'man'} (MakeHuman, CC0) fitted to the atlas; the bones and "
            "muscles are the same for every body type, only the surface and its fat change.",
            "massage_note": "Every technique starts here: the hand, knuckle or elbow meets the skin, and force "
            "travels through the fat and the superficial layers to the muscle being worked.",
        },
    )


def skin_deformer_factory(skin: Structure, body: str) -> DeformerFactory:
    """Makes the skin's dual-quaternion skinning deformer (with its body type's weights, pose correctives and the
    thighs' contact) when first posed."""

    def make() -> Deformer:
        from viewer.anatomy.bones import load_landmarks
        from viewer.anatomy.skin import load_skin_asset
        from viewer.anatomy.skin_contact import ThighContact
        from viewer.anatomy.skin_correctives import load_correctives
        from viewer.anatomy.skinning import SkinDeformer

        weights = load_skin_asset(body).weights
        contact = ThighContact(skin.vertices, skin.faces, weights, load_landmarks())
        return SkinDeformer(skin.name, skin.vertices, load_bone_surfaces(), weights, load_correctives(body), contact)

    return make


@dataclass(frozen=True)
class SkinTone:
    """One colour of the skin palette (``assets/annotations/skin_tones.json``)."""

    id: str
    display_name: str
    colour: str  # hex, e.g. "#e9b99c"


@cache
def skin_palette() -> tuple[dict[str, SkinTone], str]:
    """The skin palette (``assets/annotations/skin_tones.json``): id -> tone in the file's order, and the default id."""
    from viewer.io.annotations import AnnotationError, load_annotation
    from viewer.paths import annotations_dir

    data = load_annotation("skin_tones")
    tones = {t["id"]: SkinTone(t["id"], t["display_name"], t["colour"]) for t in data["tones"]}
    if data["default"] not in tones:
        raise AnnotationError(annotations_dir() / "skin_tones.json", f"{data['default']!r} is not a tone", "default")
    return tones, data["default"]


def skin_tones() -> dict[str, SkinTone]:
    """The skin palette, id -> tone."""
    return skin_palette()[0]


def default_skin_tone() -> str:
    """The tone the viewer starts with."""
    return skin_palette()[1]
