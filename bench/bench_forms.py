"""Build time and shape report of the muscle display forms at rest (right side); the pose grid is bench_shapes.py.

Usage: PYTHONPATH=. python bench/bench_forms.py  (from the checkout root)
Builds the cages and the forms as the scene has them (viewer.anatomy.muscles.forms.build_forms, with the
nerve's channel kept free of muscle), prints the build times
and one row per muscle: vertices, closed, share of edges bending over 40 degrees, largest bend,
volume against the reference, share of vertices inside another muscle or a bone, and the farthest
cage origin/insertion point from the form. Limits: viewer/anatomy/muscles/form_metrics.py.
"""

from __future__ import annotations

import time

from viewer.anatomy.bones import load_bone_surfaces, load_landmarks
from viewer.anatomy.muscles import derive_landmarks, load_muscle_specs
from viewer.anatomy.muscles.build import build_right_side
from viewer.anatomy.muscles.form_metrics import format_table, measure_forms
from viewer.anatomy.muscles.forms import build_forms
from viewer.anatomy.nerve import nerve_channels


def main() -> None:
    bones, landmarks = load_bone_surfaces(), load_landmarks()
    start = time.perf_counter()
    built = build_right_side(load_muscle_specs(), bones, {**landmarks, **derive_landmarks(bones, landmarks)})
    cages = time.perf_counter()
    forms = build_forms(built, bones, nerve_channels(bones, built, landmarks))
    done = time.perf_counter()
    print(f"cages {cages - start:.1f} s, forms {done - cages:.1f} s, "
          f"{sum(len(f.vertices) for f in forms.values())} vertices in all")
    measures = measure_forms(forms, built, bones)
    print(format_table(measures))
    for m in measures.values():
        if m.failures():
            print(f"  {m.name}: " + "; ".join(m.failures()))


if __name__ == "__main__":
    main()
