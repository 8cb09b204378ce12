"""Side-by-side comparison: synchronised zoom and pan, a split slider, and an error heat map."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QComboBox, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QGridLayout, QHBoxLayout,
    QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from .imaging import heat_rgb, to_pixmap

MODES = ("Side by side", "Split", "Error map")


def caption(row) -> str:
    if row is None:
        return "Original"
    return f"{row.codec_label} · {row.setting} · {row.bpp:.3f} bpp · {row.psnr:.2f} dB"


class SplitItem(QGraphicsItem):
    """Two images on one canvas: A left of the split line, B right of it."""

    def __init__(self, pix_a, pix_b):
        super().__init__()
        self.pix_a, self.pix_b = pix_a, pix_b
        self.frac = 0.5

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.pix_a.width(), self.pix_a.height())

    def set_frac(self, f: float) -> None:
        self.frac = min(max(f, 0.0), 1.0)
        self.update()

    def paint(self, p: QPainter, option, widget=None):
        w, h = self.pix_a.width(), self.pix_a.height()
        x = w * self.frac
        p.drawPixmap(QRectF(0, 0, x, h), self.pix_a, QRectF(0, 0, x, h))
        p.drawPixmap(QRectF(x, 0, w - x, h), self.pix_b, QRectF(x, 0, w - x, h))
        pen = QPen(QColor(255, 255, 255, 220), 0)  # cosmetic: one screen pixel at any zoom
        p.setPen(pen)
        p.drawLine(QPointF(x, 0), QPointF(x, h))


class ImagePane(QGraphicsView):
    """One image; wheel zooms about the cursor, drag pans; emits ``view_changed`` for syncing."""

    view_changed = Signal(object, bool)  # pane, by the user (wheel, drag, scroll bar) or not
    resized = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setBackgroundBrush(QColor(32, 33, 36))
        self.setFrameShape(QGraphicsView.NoFrame)
        self.caption = ""
        self.item: QGraphicsItem | None = None
        self._quiet = False
        self._pressed = False
        self.horizontalScrollBar().valueChanged.connect(self._moved)
        self.verticalScrollBar().valueChanged.connect(self._moved)
        # scroll-bar clicks and drags are the user's; value changes from resizing are not
        self.horizontalScrollBar().actionTriggered.connect(lambda *_: setattr(self, "_bar_action", True))
        self.verticalScrollBar().actionTriggered.connect(lambda *_: setattr(self, "_bar_action", True))
        self._bar_action = False

    def set_item(self, item: QGraphicsItem, caption_text: str) -> None:
        self.scene().clear()
        self.item = item
        self.scene().addItem(item)
        self.scene().setSceneRect(item.boundingRect())
        self.caption = caption_text
        self.viewport().update()

    def zoom(self) -> float:
        return self.transform().m11()

    def center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def apply(self, zoom: float, center: QPointF) -> None:
        self._quiet = True
        try:
            self.setTransform(QTransform.fromScale(zoom, zoom))
            self.setRenderHint(QPainter.SmoothPixmapTransform, zoom < 1.0)  # pixels stay crisp when magnified
            self.centerOn(center)
        finally:
            self._quiet = False
        self.viewport().update()

    def zoom_by(self, factor: float) -> None:
        z = min(max(self.zoom() * factor, 0.02), 64.0)
        self.scale(z / self.zoom(), z / self.zoom())
        self.setRenderHint(QPainter.SmoothPixmapTransform, z < 1.0)
        self.view_changed.emit(self, True)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.resized.emit()

    def wheelEvent(self, event):
        self.zoom_by(1.25 ** (event.angleDelta().y() / 120.0))

    def mousePressEvent(self, e):
        self._pressed = True
        super().mousePressEvent(e)

    def mouseReleaseEvent(self, e):
        super().mouseReleaseEvent(e)
        self._pressed = False

    def _moved(self, *_):
        if not self._quiet:
            user = self._pressed or self._bar_action
            self._bar_action = False
            self.view_changed.emit(self, user)

    def drawForeground(self, p: QPainter, rect):
        if not self.caption:
            return
        p.save()
        p.resetTransform()
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 0.95)
        p.setFont(f)
        fm = p.fontMetrics()
        w = fm.horizontalAdvance(self.caption) + 14
        p.fillRect(QRectF(6, 6, w, fm.height() + 8), QColor(0, 0, 0, 160))
        p.setPen(QColor(240, 240, 240))
        p.drawText(QRectF(13, 10, w, fm.height()), Qt.AlignLeft | Qt.AlignVCenter, self.caption)
        p.restore()


class CompareView(QWidget):
    """Original plus chosen reconstructions. Modes: side by side, split slider, error heat map."""

    mode_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.original = None
        self.rows: list = []  # the reconstructions being compared (ResultRow)
        self.candidates: list = []  # every result for the current image (for the split's A/B choice)
        self.panes: list[ImagePane] = []
        self._zoom, self._center, self._fitted = None, None, True
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        bar.addWidget(self.mode)
        self.fit_btn = QPushButton("Fit")
        self.one_btn = QPushButton("1:1")
        self.zin_btn = QPushButton("+")
        self.zout_btn = QPushButton("−")
        for b in (self.fit_btn, self.one_btn, self.zin_btn, self.zout_btn):
            b.setMaximumWidth(44)
            bar.addWidget(b)
        self.a_combo, self.b_combo = QComboBox(), QComboBox()
        self.a_label, self.b_label = QLabel("A"), QLabel("B")
        for w in (self.a_label, self.a_combo, self.b_label, self.b_combo):
            bar.addWidget(w)
        self.a_combo.setMinimumContentsLength(18)
        self.b_combo.setMinimumContentsLength(18)
        self.scale_label = QLabel("full scale")
        self.scale = QSpinBox()
        self.scale.setRange(1, 255)
        self.scale.setValue(32)
        self.scale.setSuffix(" levels")
        self.scale.setToolTip("Absolute error (mean over R, G, B) shown at the brightest colour")
        bar.addWidget(self.scale_label)
        bar.addWidget(self.scale)
        bar.addStretch(1)
        self.zoom_label = QLabel()
        bar.addWidget(self.zoom_label)
        lay.addLayout(bar)
        self.grid = QGridLayout()
        self.grid.setSpacing(2)
        lay.addLayout(self.grid, 1)
        self.split = QSlider(Qt.Horizontal)
        self.split.setRange(0, 1000)
        self.split.setValue(500)
        self.split.setToolTip("Drag to move the split between A (left) and B (right)")
        lay.addWidget(self.split)
        self.mode.currentIndexChanged.connect(self._rebuild)
        self.fit_btn.clicked.connect(self.fit)
        self.one_btn.clicked.connect(lambda: self.set_zoom(1.0))
        self.zin_btn.clicked.connect(lambda: self.panes and self.panes[0].zoom_by(1.25))
        self.zout_btn.clicked.connect(lambda: self.panes and self.panes[0].zoom_by(0.8))
        self.a_combo.currentIndexChanged.connect(lambda *_: self._rebuild() if self.mode_name() == "Split" else None)
        self.b_combo.currentIndexChanged.connect(lambda *_: self._rebuild() if self.mode_name() == "Split" else None)
        self.split.valueChanged.connect(self._split_moved)
        self.scale.valueChanged.connect(lambda *_: self._rebuild() if self.mode_name() == "Error map" else None)
        self._rebuild()

    # ---- data
    def mode_name(self) -> str:
        return self.mode.currentText()

    def set_mode(self, name: str) -> None:
        self.mode.setCurrentIndex(MODES.index(name))

    def set_original(self, rgb) -> None:
        changed = self.original is None or rgb is None or self.original.shape != rgb.shape
        self.original = rgb
        self.rows, self.candidates = [], []
        if changed:
            self._fitted = True
        self._rebuild()

    def set_rows(self, rows, candidates=None) -> None:
        """Show these reconstructions (at most 3 next to the original)."""
        self.rows = list(rows)[:3]
        self.candidates = list(candidates if candidates is not None else rows)
        self._fill_ab()
        self._rebuild()

    def _fill_ab(self):
        items = [("Original", None)] + [(caption(r), r) for r in self.candidates]
        for combo, default in ((self.a_combo, 1 if self.candidates else 0), (self.b_combo, 2 if len(self.candidates) > 1 else 0)):
            prev = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for text, r in items:
                combo.addItem(text, r)
            idx = next((i for i, (_, r) in enumerate(items) if r is not None and r is prev), default)
            combo.setCurrentIndex(idx)
            combo.blockSignals(False)
        if len(self.rows) >= 1 and self.a_combo.currentData() is None:
            self.a_combo.setCurrentIndex(self._index_of(self.rows[0]))

    def _index_of(self, row) -> int:
        for i in range(self.a_combo.count()):
            if self.a_combo.itemData(i) is row:
                return i
        return 0

    # ---- panes
    def _clear(self):
        for p in self.panes:
            if not self._fitted:
                self._zoom, self._center = p.zoom(), p.center()
            p.setParent(None)
            p.deleteLater()
        self.panes = []

    def _add_pane(self, item, text) -> ImagePane:
        pane = ImagePane(self)
        pane.set_item(item, text)
        pane.view_changed.connect(self._sync)
        pane.resized.connect(self._pane_resized)
        n = len(self.panes)
        cols = 2 if self.mode_name() != "Split" else 1
        self.grid.addWidget(pane, n // cols, n % cols)
        pane.show()
        self.panes.append(pane)
        return pane

    def _rebuild(self, *_):
        mode = self.mode_name()
        split = mode == "Split"
        for w in (self.a_label, self.a_combo, self.b_label, self.b_combo, self.split):
            w.setVisible(split)
        self.scale_label.setVisible(mode == "Error map")
        self.scale.setVisible(mode == "Error map")
        self._clear()
        if self.original is None:
            return
        if split:
            a, b = self.a_combo.currentData(), self.b_combo.currentData()
            pa = to_pixmap(self.original if a is None else a.recon)
            pb = to_pixmap(self.original if b is None else b.recon)
            item = SplitItem(pa, pb)
            item.set_frac(self.split.value() / 1000)
            self._add_pane(item, f"A: {caption(a)}   |   B: {caption(b)}")
        elif mode == "Error map":
            if not self.rows:
                self._add_pane(QGraphicsPixmapItem(to_pixmap(self.original)), "Original (no results yet)")
            for r in self.rows:
                heat = r.heat if r.heat is not None else abs(r.recon.astype("f4") - self.original.astype("f4")).mean(2)
                self._add_pane(QGraphicsPixmapItem(to_pixmap(heat_rgb(heat, self.scale.value()))),
                               f"|error| · {caption(r)} · max {float(heat.max()):.0f}")
        else:
            self._add_pane(QGraphicsPixmapItem(to_pixmap(self.original)), caption(None))
            for r in self.rows:
                self._add_pane(QGraphicsPixmapItem(to_pixmap(r.recon)), caption(r))
        # restore the shared view once the panes have their size
        if self._fitted or self._zoom is None:
            self.fit()
        else:
            self._apply(self._zoom, self._center)

    def _split_moved(self, v):
        for p in self.panes:
            if isinstance(p.item, SplitItem):
                p.item.set_frac(v / 1000)

    # ---- synchronised zoom and pan
    def _apply(self, zoom, center, source=None):
        self._zoom, self._center = zoom, center
        for p in self.panes:
            if p is not source:
                p.apply(zoom, center)
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def _sync(self, source: ImagePane, user: bool = True):
        if user:  # a wheel, drag or scroll by the user ends "fit"; a resize does not
            self._fitted = False
        self._apply(source.zoom(), source.center(), source)

    def fit(self) -> None:
        if not self.panes:
            return
        p = self.panes[0]
        rect = p.scene().sceneRect()
        vw, vh = max(p.viewport().width(), 50), max(p.viewport().height(), 50)
        zoom = min(vw / max(rect.width(), 1), vh / max(rect.height(), 1))
        self._fitted = True
        self._apply(zoom, rect.center())

    def _pane_resized(self):
        # panes get their real size only after layout: keep "fit" true to the final size
        if self._fitted:
            self.fit()

    def set_zoom(self, zoom: float) -> None:
        center = self.panes[0].center() if self.panes else QPointF()
        self._fitted = False
        self._apply(zoom, center)

    def resizeEvent(self, e):
        super().resizeEvent(e)
        if self._fitted:
            self.fit()

    def showEvent(self, e):
        super().showEvent(e)
        if self._fitted:
            self.fit()
