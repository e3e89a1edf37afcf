"""What the scene is made of: named structures with their rest geometry and teaching data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from viewer.anatomy.posed import Deformer
from viewer.types import FloatArray, IntArray

if TYPE_CHECKING:
    from viewer.anatomy.muscles.spec import Appearance

KINDS = ("skin", "bone", "muscle", "fascia", "nerve", "danger")


@dataclass
class Structure:
    """One displayable structure, e.g. ``femur_right`` or ``gluteus_medius_left``.

    ``segment`` says which body part carries it rigidly (``pelvis``,
    ``thigh_right``, ``shank_left``); deformable structures use ``None`` and
    are re-shaped by the scene for each pose.
    """

    name: str
    kind: str
    display_name: str
    colour: str
    vertices: FloatArray  # anatomical position, mm, pelvis frame
    faces: IntArray
    side: str | None = None
    segment: str | None = "pelvis"
    layer: int = 99  # 0 = most superficial
    layer_name: str = "bone"
    info: dict = field(default_factory=dict)
    common_names: tuple[str, ...] = ()
    latin_name: str | None = None  # Terminologia Anatomica, e.g. "musculus gluteus maximus"
    fibres: FloatArray | None = None  # (n_fibres, n_samples, 3) polylines origin -> insertion
    outer_fibres: FloatArray | None = None  # the same fibres traced on the outer surface, for drawing
    centreline: FloatArray | None = None  # nerves: the course, (n, 3), all branches stacked
    # Muscles and fascia, (n_vertices, 2): across-fibre distance (mm) from the u = 0 edge of the fibre sheet and
    # along-fibre fraction s (0 origin .. 1 insertion). A rest property: posing moves the vertices, not these.
    fibre_uv: FloatArray | None = None
    appearance: Appearance | None = None  # muscles and fascia: tendon colour, sheen, translucency, striations

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"structure {self.name}: kind {self.kind!r} not one of {KINDS}")
        if self.fibre_uv is not None and self.fibre_uv.shape != (len(self.vertices), 2):
            raise ValueError(
                f"structure {self.name}: fibre_uv has shape {self.fibre_uv.shape}, not ({len(self.vertices)}, 2)"
            )


DeformerFactory = Callable[[], Deformer]
