"""A closed panel or window leaves nothing connected to the model.

The model's signals hold bound methods weakly (viewer/model/events.py); a panel that listened through a
lambda capturing itself stayed connected, and alive, after it was closed and deleted, and refreshed a
deleted widget on the next change (viewer/ui/listening.py).
"""

from __future__ import annotations

import gc

import pytest

pytest.importorskip("pytestqt")


def signals_of(*owners) -> dict[str, object]:
    from viewer.model.events import Signal

    return {
        f"{type(owner).__name__}.{name}": value
        for owner in owners
        for name, value in vars(owner).items()
        if isinstance(value, Signal)
    }


def listeners(signals: dict[str, object]) -> dict[str, int]:
    return {name: len(signal) for name, signal in signals.items()}


def delete(widgets: list) -> None:
    """Close the widgets and let Qt delete them, as a closed window's panels are; drop Python's references."""
    from PySide6.QtCore import QCoreApplication, QEvent

    for widget in widgets:
        widget.close()
        widget.deleteLater()
    widgets.clear()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()


def test_closed_panels_leave_no_listener_on_the_model(qapp, fresh_scene):
    from viewer.model.actions import Timeline
    from viewer.model.history import History
    from viewer.model.layers import PeelState
    from viewer.model.technique_session import TechniqueSession
    from viewer.ui.info_panel import InfoPanel
    from viewer.ui.layers_panel import LayersPanel
    from viewer.ui.lengths_panel import LengthsPanel
    from viewer.ui.motion_panel import MotionPanel
    from viewer.ui.probe_panel import ProbePanel
    from viewer.ui.techniques_panel import TechniquesPanel

    model = fresh_scene
    peel = PeelState()
    history = History(model, peel)
    session = TechniqueSession(model, history, peel)
    timeline = Timeline(model)
    signals = signals_of(model, peel, history, session, timeline)
    before = listeners(signals)
    panels = [
        ProbePanel(model, None, session),
        LayersPanel(model, history, peel),
        MotionPanel(model, history),
        InfoPanel(model, session, history),
        LengthsPanel(model, timeline),
        TechniquesPanel(model, session),
    ]
    opened = listeners(signals)
    for name in ("SceneModel.pose_changed", "SceneModel.language_changed", "SceneModel.selection_changed",
                 "PeelState.changed", "Timeline.changed", "TechniqueSession.changed"):  # fmt: skip
        assert opened[name] > before[name], name  # the panels listen while open
    delete(panels)
    assert listeners(signals) == before
    model.set_language("latin")  # nothing is left to refresh a deleted panel
    model.set_pose("right", hip_flexion=30.0)
    peel.set_depth(1)
    assert model.language_changed.errors == [] and model.pose_changed.errors == [] and peel.changed.errors == []


def test_a_closed_window_leaves_no_listener_on_the_model(qapp, fresh_scene, tmp_path):
    from PySide6.QtCore import QSettings

    from viewer.ui.main_window import MainWindow
    from viewer.ui.settings import WindowSettings

    model = fresh_scene
    signals = signals_of(model)
    before = listeners(signals)
    window = MainWindow(model, settings=WindowSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    opened = listeners(signals)
    assert opened["SceneModel.colour_mode_changed"] > before["SceneModel.colour_mode_changed"]
    delete([window])
    del window
    gc.collect()
    assert listeners(signals) == before
    model.set_colour_mode("stretch")
    model.set_language("latin")
    assert model.colour_mode_changed.errors == [] and model.language_changed.errors == []
