"""Massage and self-care techniques as data, their geometry at a pose, and their safety check.

- :mod:`viewer.techniques.library`: load and check ``assets/annotations/techniques/*.json``.
- :mod:`viewer.techniques.geometry`: contact point, approach vector, angle cone and stroke path.
- :mod:`viewer.techniques.safety`: structures crossed, distance to the sciatic nerve, flags and a
  plain-language explanation.
- :mod:`viewer.techniques.context`: the posed inputs (structures, fibres, landmarks, nerve, zones).

No Qt and no rendering here; :mod:`viewer.render.technique_overlay` draws the result.
"""

from viewer.techniques.library import ACTION_IDS, TOOLS, Technique, load_technique, load_techniques, techniques_dir

__all__ = ["ACTION_IDS", "TOOLS", "Technique", "load_technique", "load_techniques", "techniques_dir"]
