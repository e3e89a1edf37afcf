"""The main window: the 3D view in the middle, view presets on the toolbar, structures on the side."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMenu,
    QScrollArea,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from viewer.cache import atomic_write
from viewer.model.history import History
from viewer.model.layers import PeelState
from viewer.model.scene import SceneModel
from viewer.model.technique_session import TechniqueSession
from viewer.render.scene_view import SceneView
from viewer.render.technique_view import TechniqueView
from viewer.render.views import VIEWS
from viewer.ui.about import AboutDialog
from viewer.ui.body_menu import BodyMenu
from viewer.ui.export_dialog import HandoutDialog, PictureExportDialog, export_3d_model
from viewer.ui.help_overlay import HelpOverlay
from viewer.ui.info_panel import InfoPanel
from viewer.ui.layers_panel import LayersPanel
from viewer.ui.lengths_panel import LengthsPanel
from viewer.ui.lesson_panel import LessonPanel
from viewer.ui.listening import while_alive
from viewer.ui.motion_panel import MotionPanel
from viewer.ui.presentation import Presentation
from viewer.ui.scene_files import SceneFiles, dropped_files
from viewer.ui.settings import WindowSettings
from viewer.ui.structures_panel import StructuresPanel
from viewer.ui.study import add_study_tools
from viewer.ui.techniques_panel import TechniquesPanel
from viewer.ui.view_widget import ViewWidget

WINDOW_TITLE = "Glute Viewer — 3D atlas of the hip and gluteal region"
CLICK_TOLERANCE_PX = 4
UNDO_COVERS = (
    "Undo covers what is shown, opacity, ghosting, peeling, danger zones (with the nerve variant and the danger "
    "margin), techniques, the pose sliders, "
    "the stretch colouring, the body type and the skin tone; not the camera, the selection or the timeline's playback."
)


class MainWindow(QMainWindow):
    """Owns the Qt widgets; all state lives in the :class:`SceneModel`."""

    def __init__(self, model: SceneModel, settings: WindowSettings | None = None) -> None:
        super().__init__()
        self.model = model
        self.settings = settings or WindowSettings()  # none given: remember nothing beyond this run
        self.text_scale = self.settings.number("view/text_scale", 1.0, 0.75, 2.0)
        self.last_error: str | None = None
        self.setWindowTitle(WINDOW_TITLE)
        self.setAcceptDrops(True)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.interactor = ViewWidget(central, auto_update=False)
        self.interactor.setMinimumSize(420, 300)  # the 3D view keeps priority; panels shrink, scroll or tab instead
        column.addWidget(self.interactor, 1)
        self.setCentralWidget(central)
        self.scene_view = SceneView(self.interactor, model)
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)
        self._render_timer.timeout.connect(self.scene_view.flush)
        self.scene_view.schedule_render = self._render_timer.start  # many changes, one frame
        self.scene_view.present = self.interactor.update  # the widget's paint draws that frame, once
        self.peel = PeelState()
        self.history = History(model, self.peel)
        self.techniques = TechniqueSession(model, self.history, self.peel)
        self.technique_view = TechniqueView(
            self.interactor,
            self.techniques,
            text_sizes=self.scene_view.text_sizes,
            request_render=self.scene_view.request_render,
        )
        self.scene_view.labels.obstacles.append(self.technique_view.caption_boxes)
        self._technique_timer = QTimer(self)
        self._technique_timer.setSingleShot(True)
        self._technique_timer.setInterval(250)  # recompute once the pose settles, not every frame
        self._technique_timer.timeout.connect(self.technique_view.update)
        self.technique_view.schedule = self._technique_timer.start
        self.view_actions: dict[str, QAction] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._build_toolbar()
        self.scene_files = SceneFiles(self)
        self._build_export_menu()
        self.body_menu = BodyMenu(self, model, self.history, self.scene_view)
        self.menuBar().addMenu(self.body_menu)
        self.structures_panel = StructuresPanel(model, self.history)
        self.layers_panel = LayersPanel(model, self.history, self.peel)
        layers_dock = self._add_dock("Layers", self.layers_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        structures_dock = self._add_dock("Structures", self.structures_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.splitDockWidget(layers_dock, structures_dock, Qt.Orientation.Vertical)
        self.info_panel = InfoPanel(model, self.techniques, self.history)
        info_dock = self._add_dock("About the selection", self.info_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.motion_panel = MotionPanel(model, self.history)
        self.layers_panel.action_found.connect(self.motion_panel.timeline_panel.select_action)
        self._add_dock("Motion", self.motion_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.lengths_panel = LengthsPanel(model, self.motion_panel.timeline_panel.timeline)
        lengths_dock = self._add_dock("Muscle lengths", self.lengths_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(info_dock, lengths_dock)
        self.techniques_panel = TechniquesPanel(model, self.techniques)
        techniques_dock = self._add_dock("Techniques", self.techniques_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(lengths_dock, techniques_dock)
        add_study_tools(self, techniques_dock)
        self.lesson_panel = LessonPanel(self)
        lesson_dock = self._add_dock("Lesson", self.lesson_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(info_dock, lesson_dock)
        self.resizeDocks([layers_dock, info_dock], [300, 340], Qt.Orientation.Horizontal)
        info_dock.raise_()
        self.help_overlay = HelpOverlay(self)
        self._build_view_and_help_menus()
        self.presentation = Presentation(self)  # after the menus: it keeps their keys working when they hide
        column.addWidget(self.presentation.caption)
        self._default_layout = self.saveState()
        self._restore_settings()
        self._press_position: tuple[int, int] | None = None
        iren = self.interactor.iren
        iren.add_observer("LeftButtonPressEvent", self._on_left_press)
        # the camera style draws a frame when the button comes up; after a click (no drag) the selection draws the
        # one frame instead: its render is switched off around the style's handler (priorities: before, after it)
        iren.style.AddObserver("LeftButtonReleaseEvent", self._before_style_release, 10.0)
        iren.style.AddObserver("LeftButtonReleaseEvent", self._on_left_release, -10.0)
        iren.add_observer("EndInteractionEvent", lambda *_args: self.scene_view._refresh_labels())
        self.statusBar().showMessage(
            "Click a structure to learn about it. Drag to rotate, scroll to zoom. "
            "Views: A P R L S I, Shift+R/L posterolateral, Home resets."
        )

    def _add_dock(self, title: str, widget, area: Qt.DockWidgetArea) -> QDockWidget:
        """A panel in a dock that can move, float or close (View → Panels brings it back); its content
        scrolls when the dock is smaller than the panel, so the window fits a 1024×768 screen."""
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower().replace(" ", "_"))
        scroller = QScrollArea()
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        scroller.setWidget(widget)
        dock.setWidget(scroller)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        return dock

    def raise_dock(self, title: str) -> None:
        """Show a panel (opened again if it was closed) in front of the panels tabbed with it."""
        dock = self.docks[title]
        if not self.presentation.on:
            dock.show()
        dock.raise_()

    def _on_left_press(self, *_args) -> None:
        self._press_position = self.interactor.iren.get_event_position()

    def _is_click(self) -> bool:
        """Whether the left button comes up where it went down (within CLICK_TOLERANCE_PX): a click, not a drag."""
        start = self._press_position
        x, y = self.interactor.iren.get_event_position()
        return start is not None and abs(x - start[0]) <= CLICK_TOLERANCE_PX and abs(y - start[1]) <= CLICK_TOLERANCE_PX

    def _before_style_release(self, *_args) -> None:
        if self._is_click():
            self.interactor.iren.interactor.EnableRenderOff()  # the camera did not move: no frame of its own

    def _on_left_release(self, *_args) -> None:
        """A click that did not drag selects what is under it (or clears the selection)."""
        self.interactor.iren.interactor.EnableRenderOn()
        click = self._is_click()
        self._press_position = None
        if click:
            self.click_at(*self.interactor.iren.get_event_position())

    def click_at(self, x: int, y: int) -> None:
        """A click in the view: probes with the probe tool on, answers a quiz's "click the..." question, else selects."""
        if self.probe_action.isChecked():
            self.probe_panel.probe_click(x, y)
        elif self.quiz_panel.awaiting_click:
            self.quiz_panel.answer_click(self.scene_view.pick(x, y))
        else:
            self.select_at(x, y)

    def select_at(self, x: int, y: int) -> str | None:
        """Select the structure drawn at display pixel (x, y), VTK convention (origin bottom left)."""
        name = self.scene_view.pick(x, y)
        self.model.select(name)
        return name

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Views", self)
        toolbar.setObjectName("views_toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        for name, preset in VIEWS.items():
            action = QAction(preset.label, self)
            action.setShortcut(QKeySequence(preset.shortcut))
            action.setToolTip(f"{preset.label} view ({preset.shortcut})")
            action.triggered.connect(lambda _checked=False, view=name: self.show_view(view))
            toolbar.addAction(action)
            self.view_actions[name] = action
        toolbar.addSeparator()
        reset = QAction("Reset view", self)
        reset.setShortcut(QKeySequence(Qt.Key.Key_Home))
        reset.setToolTip("Back to the posterior view of the gluteal region (Home)")
        reset.triggered.connect(self.reset_view)
        toolbar.addAction(reset)
        self.view_actions["reset"] = reset
        toolbar.addSeparator()
        self.stretch_action = QAction("Colour by stretch", self)
        self.stretch_action.setCheckable(True)
        self.stretch_action.setShortcut(QKeySequence("C"))
        self.stretch_action.setToolTip("Paint muscles by length change from anatomical position (C)")
        self.stretch_action.toggled.connect(lambda on: self.history.set_colour_mode("stretch" if on else "anatomy"))
        self.model.colour_mode_changed.connect(self._on_colour_mode)
        toolbar.addAction(self.stretch_action)
        self.fibres_action = QAction("Fibres", self)
        self.fibres_action.setCheckable(True)
        self.fibres_action.setShortcut(QKeySequence("F"))
        self.fibres_action.setToolTip("Draw each muscle's fibre direction (F)")
        self.fibres_action.toggled.connect(self.model.set_fibres_visible)
        toolbar.addAction(self.fibres_action)
        self.presentation_action = QAction("Presentation", self)
        self.presentation_action.setCheckable(True)
        self.presentation_action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.presentation_action.setToolTip("Full screen with large text and no side panels, for projecting (F5)")
        self.presentation_action.toggled.connect(self.set_presentation)
        toolbar.addAction(self.presentation_action)
        toolbar.addSeparator()
        self.labels_action = self._toggle(toolbar, "Labels", "T", "Name the visible structures with leader lines (T)")
        self.labels_action.toggled.connect(self.scene_view.set_labels)
        self.pins_action = self._toggle(toolbar, "Landmarks", "M", "Pins on the landmarks a therapist palpates (M)")
        self.pins_action.toggled.connect(self.scene_view.set_pins)
        self.latin_action = self._toggle(
            toolbar, "Latin names", "N", "Name structures and landmarks in Terminologia Anatomica Latin (N)"
        )
        self.latin_action.toggled.connect(lambda on: self.model.set_language("latin" if on else "english"))
        self.model.language_changed.connect(self._on_language)
        self.danger_action = self._toggle(
            toolbar, "Danger zones", "D", "Sciatic nerve danger zones and the caution area on the skin (D)"
        )
        self.danger_action.toggled.connect(self._show_danger)
        self.model.visibility_changed.connect(self._sync_danger_action)
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.history.undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(self.history.redo)
        toolbar.addAction(self.undo_action)
        toolbar.addAction(self.redo_action)
        self.history.changed.connect(self._on_history)
        self._on_history(False, False)
        for key, text, slot in (
            (Qt.Key.Key_PageDown, "Peel a layer (next step when presenting)", self._page_down),
            (Qt.Key.Key_PageUp, "Restore a layer (previous step when presenting)", self._page_up),
            (Qt.Key.Key_Space, "Play/pause (next step when presenting)", self._space),
        ):
            shortcut = QAction(text, self)
            shortcut.setShortcut(QKeySequence(key))
            shortcut.triggered.connect(slot)
            self.addAction(shortcut)

    def _page_down(self) -> None:
        self.presentation.next() if self.presentation.steps else self.history.peel()

    def _page_up(self) -> None:
        self.presentation.previous() if self.presentation.steps else self.history.restore()

    def _space(self) -> None:
        self.presentation.next() if self.presentation.steps else self.motion_panel.timeline_panel.toggle_play()

    def file_menu(self) -> QMenu:
        """The File menu (made on first use, so every part of the window adds to the same one)."""
        for action in self.menuBar().actions():
            if action.menu() is not None and action.text().replace("&", "") == "File":
                return action.menu()
        return self.menuBar().addMenu("&File")

    def _build_export_menu(self) -> None:
        """File → Export picture… (Ctrl+E), Export handout…, Export 3D model…"""
        menu = self.file_menu()
        menu.addSeparator()
        self.export_actions: dict[str, QAction] = {}
        for key, text, shortcut, slot in (
            ("picture", "Export &picture…", "Ctrl+E", lambda: PictureExportDialog(self).exec()),
            ("handout", "Export &handout…", "Ctrl+Shift+E", lambda: HandoutDialog(self).exec()),
            ("model", "Export &3D model…", "", lambda: export_3d_model(self)),
        ):
            action = menu.addAction(text)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            self.export_actions[key] = action

    def _build_view_and_help_menus(self) -> None:
        """View → panels, text size; File → Restore defaults; Help → keys (F1, ?) and About."""
        view = self.menuBar().addMenu("&View")
        panels = view.addMenu("&Panels")
        for title, dock in self.docks.items():
            toggle = dock.toggleViewAction()
            toggle.setToolTip(f"Show or hide the {title} panel")
            panels.addAction(toggle)
        view.addSeparator()
        for text, key, factor in (("&Larger text", "Ctrl++", 1.15), ("&Smaller text", "Ctrl+-", 1 / 1.15)):
            action = view.addAction(text)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"{text.replace('&', '')} for labels and presentation captions ({key})")
            action.triggered.connect(lambda _checked=False, f=factor: self.set_text_scale(self.text_scale * f))
        file_menu = self.file_menu()
        file_menu.addSeparator()
        restore = file_menu.addAction("Restore &defaults")
        restore.setToolTip("Forget the remembered layout, text size, language, body type and recent files")
        restore.triggered.connect(self.restore_defaults)
        help_menu = self.menuBar().addMenu("&Help")
        self.help_action = help_menu.addAction("&Keys and mouse")
        self.help_action.setShortcuts([QKeySequence(Qt.Key.Key_F1), QKeySequence("?")])
        self.help_action.setToolTip("Every key and mouse action (F1 or ?)")
        self.help_action.triggered.connect(self.help_overlay.toggle)
        self.about_action = help_menu.addAction("&About Glute Viewer")
        self.about_action.setToolTip("Version, licences and the published works the texts draw on")
        self.about_action.triggered.connect(lambda: AboutDialog(self).open())

    # --- settings ---------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry, state = self.settings.layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self.model.set_language(self.settings.text("view/language", self.model.language, ("english", "latin")))
        self.set_text_scale(self.text_scale)
        self.lesson_panel.choose_lesson(self.settings.text("lesson/last", "", self.lesson_panel.shipped_ids()) or None)

    def set_text_scale(self, scale: float) -> None:
        """The text size setting: on-screen labels (doubled when presenting) and presentation captions."""
        self.text_scale = min(max(scale, 0.75), 2.0)
        self.settings.set("view/text_scale", self.text_scale)
        self.scene_view.set_label_scale(self.text_scale * (2.0 if self.presentation.on else 1.0))
        self.presentation.update_caption()

    def restore_defaults(self) -> None:
        """Forget the remembered settings: default layout, text size, language and body."""
        self.settings.clear()
        self.restoreState(self._default_layout)
        self.set_text_scale(1.0)
        self.model.set_language("english")
        self.scene_files.update_recent()

    def save_settings(self) -> None:
        """Remember the layout, language and body type (on closing; the text size and files as they change)."""
        self.settings.set("view/language", self.model.language)
        if self.model.body is not None:
            self.settings.set("scene/body", self.model.body)
        if self.lesson_panel.current_lesson_id() is not None:
            self.settings.set("lesson/last", self.lesson_panel.current_lesson_id())
        self.settings.save_layout(self.saveGeometry(), self.saveState())

    # --- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = dropped_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.scene_files.open(files[0])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if hasattr(self, "presentation"):  # not while the window is being built
            self.scene_view.set_label_scale(self.scene_view.label_scale)  # labels re-laid for the new size
            self.presentation.update_caption()

    def _toggle(self, toolbar: QToolBar, text: str, key: str, tip: str) -> QAction:
        action = QAction(text, self)
        action.setCheckable(True)
        action.setShortcut(QKeySequence(key))
        action.setToolTip(tip)
        toolbar.addAction(action)
        return action

    def _sync_danger_action(self, name: str, _visible: bool) -> None:
        """The toggle follows the zones when a technique shows them."""
        if self.model.structures[name].kind == "danger":
            shown = self.scene_view.danger_visible()
            if shown != self.danger_action.isChecked():
                self.danger_action.blockSignals(True)
                self.danger_action.setChecked(shown)
                self.danger_action.blockSignals(False)

    @while_alive
    def _on_colour_mode(self, mode: str) -> None:
        self.stretch_action.setChecked(mode == "stretch")

    @while_alive
    def _on_language(self, language: str) -> None:
        self.latin_action.setChecked(language == "latin")

    def _show_danger(self, on: bool) -> None:
        with self.history.group("danger zones"):
            for name in self.model.names("danger"):
                self.history.set_visible(name, on)

    def _on_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)
        self.undo_action.setToolTip(f"Undo {self.history.undo_label or ''} (Ctrl+Z). {UNDO_COVERS}")
        self.redo_action.setToolTip(f"Redo {self.history.redo_label or ''}")

    def set_presentation(self, on: bool) -> None:
        """Projector mode: full screen, docks and status bar hidden, larger text, lesson keys (Esc leaves)."""
        self.presentation.set_on(on)

    def show_view(self, view: str) -> None:
        """Turn the camera to the preset view ``view`` (``posterior``, ``right``...)."""
        self.scene_view.set_view(view)

    def reset_view(self) -> None:
        """Back to the posterior view."""
        self.scene_view.reset_view()

    def save_screenshot(self, path: Path) -> Path:
        """Save what the window shows, 3D view included, as a PNG."""
        self.scene_view.flush()
        QApplication.processEvents()
        screen = self.screen() or QApplication.primaryScreen()
        pixmap = screen.grabWindow(self.winId())
        if pixmap.isNull():
            raise OSError(f"{path}: could not grab the window picture")

        def write(temporary: Path) -> None:
            if not pixmap.save(str(temporary), "PNG"):
                raise OSError(f"{path}: could not save the window picture")

        return atomic_write(Path(path), write)  # an interrupted save never leaves half a picture

    def closeEvent(self, event) -> None:
        if self.presentation.on:
            self.presentation.set_on(False)
        self.save_settings()
        self.lesson_panel.transition.finish()
        self.quiz_panel.glide.finish()
        self._render_timer.stop()
        self.scene_view.schedule_render = lambda: None  # the model outlives the window: no frame after closing
        self.scene_view.close()  # and the view stops listening to it
        self.interactor.close()
        super().closeEvent(event)
