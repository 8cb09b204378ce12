"""Live rate-distortion curves (pyqtgraph): points appear as encodes finish; hover; BD-rate table."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

METRICS = {"PSNR (dB)": "psnr", "MS-SSIM (dB)": "ms_ssim_db", "MS-SSIM": "ms_ssim"}

# Learned variants warm, classical codecs cool: the story of the plot is learned vs classical.
PALETTE = {
    "phase5": "#e4572e", "phase5-light": "#f3a712", "phase5-2g": "#c0392b", "phase5-cb": "#ff8c69",
    "phase4": "#8e44ad", "jpeg": "#4f83cc", "jpeg444": "#2e5aa8", "webp": "#29a19c", "avif": "#3cb371",
    "heic": "#6c8ebf", "jxl": "#1abc9c", "hevc": "#5d6d7e", "vvc": "#17202a", "jpeg2000": "#7f8c8d",
}
_SPARE = ["#d35400", "#16a085", "#2c3e50", "#9b59b6", "#27ae60", "#e67e22"]


def curve_color(curve: str) -> QColor:
    if curve not in PALETTE:
        PALETTE[curve] = _SPARE[len(PALETTE) % len(_SPARE)]
    return QColor(PALETTE[curve])


def metric_value(row, key: str) -> float:
    if key == "ms_ssim_db":
        from core.metrics import ms_ssim_db  # lazy: keeps torch out of app start-up

        return ms_ssim_db(row.ms_ssim)
    return float(getattr(row, key))


def monotone_envelope(rate, dist):
    """Sorted by rate, keeping only points whose quality beats every cheaper point (BD-rate needs
    quality to rise strictly with rate; a matched point can sit between two sweep points)."""
    pts = sorted(zip(rate, dist))
    r_out, d_out = [], []
    for r, d in pts:
        if not np.isfinite(d):
            continue
        if r_out and r <= r_out[-1]:
            if d > d_out[-1]:
                r_out[-1], d_out[-1] = r, d
            continue
        if d_out and d <= d_out[-1]:
            continue
        r_out.append(r)
        d_out.append(d)
    return r_out, d_out


class RDPlot(QWidget):
    point_clicked = Signal(object)  # ResultRow

    def __init__(self, parent=None):
        super().__init__(parent)
        self.points: dict[str, list] = {}  # curve -> [ResultRow]
        self.labels: dict[str, str] = {}
        self.items: dict[str, pg.PlotDataItem] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.metric_combo = QComboBox()
        self.metric_combo.addItems(list(METRICS))
        self.anchor = QComboBox()
        self.anchor.setToolTip("BD-rate of every curve is measured against this one")
        bar.addWidget(QLabel("Quality"))
        bar.addWidget(self.metric_combo)
        bar.addWidget(QLabel("BD-rate anchor"))
        bar.addWidget(self.anchor, 1)
        lay.addLayout(bar)
        split = QSplitter(Qt.Vertical)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.getAxis("bottom").setLabel("bits per pixel (bpp)")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)  # "0.5 bpp", never "500 (x0.001)"
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(-10, -10), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 200))
        self.hover_text = pg.TextItem("", anchor=(0, 1), color="#111", fill=pg.mkBrush(255, 255, 224, 235),
                                      border=pg.mkPen("#999"))
        self.hover_text.setZValue(100)
        self.hover_text.hide()
        self.plot.addItem(self.hover_text, ignoreBounds=True)
        self.hover_dot = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#111", width=2), brush=pg.mkBrush(0, 0, 0, 0))
        self.hover_dot.setZValue(99)
        self.plot.addItem(self.hover_dot, ignoreBounds=True)
        split.addWidget(self.plot)
        self.bd_table = QTableWidget(0, 3)
        self.bd_table.setHorizontalHeaderLabels(["Curve", "Points", "BD-rate vs anchor"])
        self.bd_table.verticalHeader().setVisible(False)
        self.bd_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.bd_table.setEditTriggers(QTableWidget.NoEditTriggers)
        split.addWidget(self.bd_table)
        split.setSizes([400, 110])
        lay.addWidget(split, 1)
        self.hovered = None
        self._user_anchor = False
        self.anchor.activated.connect(lambda *_: setattr(self, "_user_anchor", True))
        self.metric_combo.currentIndexChanged.connect(self.redraw)
        self.anchor.currentIndexChanged.connect(self.update_bd)
        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=lambda ev: self.hover(ev[0]))
        self._set_axis_label()

    # ---- data
    def metric_key(self) -> str:
        return METRICS[self.metric_combo.currentText()]

    def clear(self) -> None:
        self.points.clear()
        self.labels.clear()
        for it in self.items.values():
            self.plot.removeItem(it)
            self.legend.removeItem(it)
        self.items.clear()
        self.anchor.clear()
        self.hover_text.hide()
        self.hover_dot.clear()
        self.update_bd()

    def add_row(self, row) -> None:
        points = self.points.setdefault(row.curve, [])
        points[:] = [r for r in points if r.setting != row.setting]  # a rerun replaces its point
        points.append(row)
        self.labels[row.curve] = row.codec_label
        if self.anchor.findData(row.curve) < 0:
            self.anchor.blockSignals(True)
            self.anchor.addItem(row.codec_label, row.curve)
            # JPEG is the anchor people expect, until the user picks another
            if not self._user_anchor and self.anchor.findData("jpeg") >= 0:
                self.anchor.setCurrentIndex(self.anchor.findData("jpeg"))
            self.anchor.blockSignals(False)
        self._draw_curve(row.curve)
        self.update_bd()

    def set_anchor(self, curve: str) -> None:
        self._user_anchor = True
        self.anchor.setCurrentIndex(self.anchor.findData(curve))

    def set_rows(self, rows) -> None:
        self.clear()
        for r in rows:
            self.add_row(r)

    def curve_data(self, curve: str) -> tuple[np.ndarray, np.ndarray]:
        """(bpp, quality) sorted by bpp, as plotted."""
        rows = sorted(self.points.get(curve, []), key=lambda r: r.bpp)
        key = self.metric_key()
        return np.array([r.bpp for r in rows]), np.array([metric_value(r, key) for r in rows])

    # ---- drawing
    def _set_axis_label(self):
        self.plot.getAxis("left").setLabel(self.metric_combo.currentText())

    def _draw_curve(self, curve: str) -> None:
        x, y = self.curve_data(curve)
        ok = np.isfinite(y)
        color = curve_color(curve)
        learned = any(r.kind == "learned" for r in self.points[curve])
        if curve not in self.items:
            item = self.plot.plot(
                [], [], name=self.labels[curve], pen=pg.mkPen(color, width=2.5 if learned else 1.8,
                                                             style=Qt.SolidLine if learned else Qt.DashLine),
                symbol="o" if learned else "s", symbolSize=8 if learned else 7, symbolBrush=color,
                symbolPen=pg.mkPen("w", width=1),
            )
            self.items[curve] = item
        self.items[curve].setData(x[ok], y[ok])

    def redraw(self, *_):
        self._set_axis_label()
        for c in self.points:
            self._draw_curve(c)
        self.plot.enableAutoRange()
        self.update_bd()

    # ---- hover
    def nearest(self, scene_pos, max_px: float = 14.0):
        """The plotted point nearest a scene position (within max_px screen pixels), or None."""
        vb = self.plot.getPlotItem().vb
        best, best_d = None, max_px
        key = self.metric_key()
        for curve, rows in self.points.items():
            for r in rows:
                y = metric_value(r, key)
                if not math.isfinite(y):
                    continue
                sp = vb.mapViewToScene(pg.Point(r.bpp, y))
                d = math.hypot(sp.x() - scene_pos.x(), sp.y() - scene_pos.y())
                if d < best_d:
                    best, best_d = r, d
        return best

    def hover(self, scene_pos) -> None:
        r = self.nearest(scene_pos)
        self.hovered = r
        if r is None:
            self.hover_text.hide()
            self.hover_dot.clear()
            return
        y = metric_value(r, self.metric_key())
        self.hover_text.setText(
            f"{r.codec_label} · {r.setting}\n{r.bpp:.4f} bpp · {r.nbytes:,} bytes\n"
            f"PSNR {r.psnr:.2f} dB · MS-SSIM {r.ms_ssim:.4f}"
        )
        self.hover_text.setPos(r.bpp, y)
        self.hover_text.show()
        self.hover_dot.setData([r.bpp], [y])

    # ---- BD-rate
    def bd_rates(self) -> dict[str, str]:
        """curve -> BD-rate text against the chosen anchor ("anchor", "-12.3 %", or why not)."""
        from core.errors import WcsError
        from core.metrics import bd_rate

        anchor = self.anchor.currentData()
        out = {}
        if anchor is None:
            return out
        ra, da = monotone_envelope(*[list(v) for v in self.curve_data(anchor)])
        for curve in self.points:
            if curve == anchor:
                out[curve] = "anchor"
                continue
            rt, dt = monotone_envelope(*[list(v) for v in self.curve_data(curve)])
            try:
                out[curve] = f"{bd_rate(ra, da, rt, dt):+.1f} %"
            except WcsError as exc:
                msg = str(exc)
                out[curve] = "needs ≥ 2 points on each curve" if "at least 2" in msg else \
                    "curves do not overlap" if "overlap" in msg else "n/a"
        return out

    def update_bd(self, *_):
        rates = self.bd_rates()
        self.bd_table.setRowCount(len(rates))
        for i, (curve, text) in enumerate(rates.items()):
            name = QTableWidgetItem(self.labels.get(curve, curve))
            name.setForeground(curve_color(curve))
            self.bd_table.setItem(i, 0, name)
            self.bd_table.setItem(i, 1, QTableWidgetItem(str(len(self.points[curve]))))
            self.bd_table.setItem(i, 2, QTableWidgetItem(text))
