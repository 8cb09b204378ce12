"""Decode order: the latent grid of each band lighting up in the order the decoder coded it.

Driven only by the decoder's own ``TraceStep`` events (``core.results``): for Phase 5 one step is one
checkerboard group of one band (the ``1 2 / 3 4`` lattice from ``core.nn.masks.group_index_map``); for
Phase 4 one step is one raster row. The painting code works on any QPainter, so the same function
draws the widget, the GIF frames (in a worker thread, onto QImages) and the PNG frames.
"""

from __future__ import annotations

import io

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSplitter, QStyle, QVBoxLayout, QWidget,
)

BANDS = ("LL", "LH", "HL", "HH")
BAND_POS = {"LL": (0, 0), "HL": (0, 1), "LH": (1, 0), "HH": (1, 1)}  # the usual wavelet pyramid layout
GROUP_COLORS = {1: QColor("#3b8beb"), 2: QColor("#f5a524"), 3: QColor("#2ecc71"), 4: QColor("#b065e0")}
RASTER_COLOR = QColor("#e4572e")
BG, PANEL, PENDING, TEXT, DIM = QColor("#15181d"), QColor("#1f232a"), QColor("#2c323b"), QColor("#eef1f5"), QColor("#8c96a3")
STAGE_COLORS = {"hyper": QColor("#6c7a89"), "synthesis": QColor("#4a5562")}


def _group_map(groups: int, rows: int, cols: int) -> np.ndarray:
    from core.nn.masks import group_index_map  # the codec's own lattice, not a copy of it

    return group_index_map(groups, rows, cols)


class DecodeOrderModel:
    """The steps of one decode and, per band, the step index at which each latent position was coded."""

    def __init__(self, steps=(), groups: int = 4, label: str = "", total_ms: float | None = None):
        self.groups = int(groups)  # 0 = Phase 4 raster
        self.label = label
        self.steps: list = []
        self.decoded_at: dict[str, np.ndarray] = {}
        self.total_ms_reported = total_ms
        for s in steps:
            self.add(s)

    @property
    def phase4(self) -> bool:
        return self.groups == 0

    def add(self, step) -> None:
        k = len(self.steps)
        self.steps.append(step)
        if step.stage != "latent" or step.band is None or step.grid is None:
            return
        rows, cols = step.grid
        at = self.decoded_at.get(step.band)
        if at is None:
            at = self.decoded_at[step.band] = np.full((rows, cols), -1, dtype=np.int64)
        if step.group is not None:
            at[_group_map(self.groups, rows, cols) == step.group] = k
        elif step.row is not None:
            at[step.row, :] = k

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def latent_steps(self) -> list:
        return [s for s in self.steps if s.stage == "latent"]

    @property
    def total_ms(self) -> float:
        return float(sum(s.ms for s in self.steps))

    def describe(self, k: int) -> str:
        if not self.steps:
            return "no decode yet"
        s = self.steps[k]
        if s.stage == "hyper":
            what = "hyperprior: z stream decoded, entropy parameters prepared"
        elif s.stage == "synthesis":
            what = "synthesis: inverse DWT + g_s rebuild the image"
        elif s.group is not None:
            what = f"{s.band} group {s.group}/{self.groups}: {s.positions} positions in one pass"
        else:
            what = f"{s.band} row {s.row}: {s.positions} positions, one at a time"
        nbytes = f" · {s.nbytes} B" if s.nbytes else ""
        return f"step {k + 1}/{len(self.steps)} · {what}{nbytes} · {s.ms:.1f} ms"

    def color(self, step) -> QColor:
        if step.stage != "latent":
            return STAGE_COLORS.get(step.stage, DIM)
        return GROUP_COLORS.get(step.group, RASTER_COLOR) if step.group is not None else RASTER_COLOR

    def step_duration_ms(self, k: int, speed: float = 1.0) -> int:
        """Animation time for step k: proportional to its measured time (x10), kept watchable."""
        ms = self.steps[k].ms if self.steps else 0.0
        return int(min(max(ms * 10.0, 70.0), 1500.0) / max(speed, 0.05))


# ----------------------------------------------------------------------------------------------
# painting (any QPainter: widget, QImage in a worker, PNG frames)

def paint_decode_order(p: QPainter, rect: QRectF, model: DecodeOrderModel, k: int) -> None:
    p.save()
    p.setRenderHint(QPainter.Antialiasing, True)
    p.fillRect(rect, BG)
    pad = 12.0
    f = QFont(p.font())
    f.setPixelSize(max(11, int(rect.height() / 40)))
    p.setFont(f)
    fm = p.fontMetrics()
    lh = fm.height()
    if not model.steps:
        p.setPen(DIM)
        p.drawText(rect, Qt.AlignCenter, "Compress with a learned variant to see its decode order")
        p.restore()
        return
    k = max(0, min(k, len(model.steps) - 1))
    # header
    bold = QFont(f)
    bold.setBold(True)
    bold.setPixelSize(int(f.pixelSize() * 1.2))
    p.setFont(bold)
    p.setPen(TEXT)
    kind = "Phase 4 · serial raster scan" if model.phase4 else f"Phase 5 · {model.groups} checkerboard group(s)"
    p.drawText(QRectF(rect.left() + pad, rect.top() + pad, rect.width() - 2 * pad, lh * 1.4),
               Qt.AlignLeft | Qt.AlignVCenter, f"{model.label}   {kind}")
    total = model.total_ms_reported if model.total_ms_reported else model.total_ms
    p.drawText(QRectF(rect.left() + pad, rect.top() + pad, rect.width() - 2 * pad, lh * 1.4),
               Qt.AlignRight | Qt.AlignVCenter, f"decode {total:.0f} ms · {len(model.latent_steps)} latent steps")
    p.setFont(f)
    p.setPen(DIM)
    y = rect.top() + pad + lh * 1.5
    p.drawText(QRectF(rect.left() + pad, y, rect.width() - 2 * pad, lh), Qt.AlignLeft | Qt.AlignVCenter, model.describe(k))
    y += lh * 1.5
    # bands
    timeline_h = lh * 3.2
    legend_w = min(150.0, rect.width() * 0.2)
    area = QRectF(rect.left() + pad, y, rect.width() - 3 * pad - legend_w, rect.bottom() - y - timeline_h - pad * 2)
    gap = 10.0
    cell_w, cell_h = (area.width() - gap) / 2, (area.height() - gap) / 2
    cur = model.steps[k]
    for band in BANDS:
        r, c = BAND_POS[band]
        br = QRectF(area.left() + c * (cell_w + gap), area.top() + r * (cell_h + gap), cell_w, cell_h)
        _paint_band(p, br, band, model, k, cur, lh)
    # legend
    lx = area.right() + pad
    _paint_legend(p, QRectF(lx, area.top(), legend_w, area.height()), model, lh)
    # timeline
    _paint_timeline(p, QRectF(rect.left() + pad, rect.bottom() - timeline_h - pad, rect.width() - 2 * pad, timeline_h), model, k, lh)
    p.restore()


def _paint_band(p, br: QRectF, band, model, k, cur, lh):
    p.setPen(Qt.NoPen)
    p.setBrush(PANEL)
    p.drawRoundedRect(br, 8, 8)
    band_ms = sum(s.ms for s in model.steps[: k + 1] if s.band == band)
    active = cur.band == band
    p.setPen(TEXT if active else DIM)
    p.drawText(QRectF(br.left() + 8, br.top() + 4, br.width() - 16, lh), Qt.AlignLeft | Qt.AlignVCenter, band)
    p.drawText(QRectF(br.left() + 8, br.top() + 4, br.width() - 16, lh), Qt.AlignRight | Qt.AlignVCenter,
               f"{band_ms:.1f} ms")
    at = model.decoded_at.get(band)
    if at is None:
        p.setPen(DIM)
        p.drawText(br, Qt.AlignCenter, "waiting")
        return
    rows, cols = at.shape
    inner = br.adjusted(8, lh + 8, -8, -8)
    cs = min(inner.width() / cols, inner.height() / rows)
    gx = inner.left() + (inner.width() - cs * cols) / 2
    gy = inner.top() + (inner.height() - cs * rows) / 2
    gap = 1.0 if cs >= 5 else 0.0
    radius = min(cs * 0.18, 3.0)
    show_numbers = cs >= 16 and not model.phase4
    gmap = _group_map(model.groups, rows, cols) if not model.phase4 else None
    numfont = QFont(p.font())
    numfont.setPixelSize(max(8, int(cs * 0.42)))
    for i in range(rows):
        for j in range(cols):
            step = int(at[i, j])
            cell = QRectF(gx + j * cs + gap / 2, gy + i * cs + gap / 2, cs - gap, cs - gap)
            if step < 0 or step > k:
                col = PENDING
            else:
                s = model.steps[step]
                col = QColor(model.color(s))
                if step < k:
                    col.setAlpha(150)  # earlier steps: done but quieter than the current one
            p.setPen(Qt.NoPen)
            p.setBrush(col)
            p.drawRoundedRect(cell, radius, radius)
            if step == k:
                p.setPen(QPen(QColor(255, 255, 255, 230), 1.2))
                p.setBrush(Qt.NoBrush)
                p.drawRoundedRect(cell, radius, radius)
            if show_numbers:
                p.setFont(numfont)
                p.setPen(QColor(255, 255, 255, 220) if 0 <= step <= k else DIM)
                p.drawText(cell, Qt.AlignCenter, str(int(gmap[i, j])))
    p.setFont(QFont(p.font()))


def _paint_legend(p, r: QRectF, model, lh):
    p.setPen(DIM)
    y = r.top()
    if model.phase4:
        lines = [("one step = one row", RASTER_COLOR), ("positions coded one", None), ("after another", None)]
    else:
        lines = [(f"group {g}", GROUP_COLORS[g]) for g in range(1, model.groups + 1)]
        lines.append(("each group: one", None))
        lines.append(("network pass", None))
    for text, col in lines:
        if col is not None:
            p.setPen(Qt.NoPen)
            p.setBrush(col)
            p.drawRoundedRect(QRectF(r.left(), y + lh * 0.2, lh * 0.8, lh * 0.8), 2, 2)
        p.setPen(TEXT if col is not None else DIM)
        p.drawText(QRectF(r.left() + lh * 1.1, y, r.width() - lh, lh * 1.2), Qt.AlignLeft | Qt.AlignVCenter, text)
        y += lh * 1.3
    if model.groups in (2, 4):
        y += lh * 0.5
        p.setPen(DIM)
        p.drawText(QRectF(r.left(), y, r.width(), lh), Qt.AlignLeft, "lattice:")
        y += lh * 1.2
        cs = lh * 1.2
        gm = _group_map(model.groups, 2, 2)
        for i in range(2):
            for j in range(2):
                g = int(gm[i, j])
                cell = QRectF(r.left() + j * (cs + 2), y + i * (cs + 2), cs, cs)
                p.setPen(Qt.NoPen)
                p.setBrush(GROUP_COLORS[g])
                p.drawRoundedRect(cell, 3, 3)
                p.setPen(QColor("white"))
                p.drawText(cell, Qt.AlignCenter, str(g))


def _paint_timeline(p, r: QRectF, model, k, lh):
    total = max(model.total_ms, 1e-6)
    p.setPen(DIM)
    p.drawText(QRectF(r.left(), r.top(), r.width(), lh), Qt.AlignLeft | Qt.AlignVCenter,
               "time per step (bar width ∝ ms)")
    elapsed = sum(s.ms for s in model.steps[: k + 1])
    p.drawText(QRectF(r.left(), r.top(), r.width(), lh), Qt.AlignRight | Qt.AlignVCenter,
               f"{elapsed:.1f} / {total:.1f} ms")
    bar = QRectF(r.left(), r.top() + lh * 1.2, r.width(), r.height() - lh * 1.4)
    p.setPen(Qt.NoPen)
    p.setBrush(PANEL)
    p.drawRoundedRect(bar, 4, 4)
    x = bar.left()
    for i, s in enumerate(model.steps):
        w = bar.width() * s.ms / total
        seg = QRectF(x, bar.top(), max(w, 1.0), bar.height())
        col = QColor(model.color(s))
        if i > k:
            col.setAlpha(45)
        elif i < k:
            col.setAlpha(170)
        p.setBrush(col)
        p.drawRect(seg.adjusted(0, 0, -0.5 if w > 3 else 0, 0))
        if i == k:
            p.setPen(QPen(QColor("white"), 1.5))
            p.setBrush(Qt.NoBrush)
            p.drawRect(seg)
            p.setPen(Qt.NoPen)
        x += w


def render_frame(model: DecodeOrderModel, k: int, size: QSize = QSize(880, 620)) -> QImage:
    """One animation frame as a QImage (safe in a worker thread)."""
    if QGuiApplication.instance() is None:  # Qt aborts the process when it draws text without one
        raise RuntimeError("rendering decode frames needs a running QGuiApplication")
    img = QImage(size, QImage.Format_RGB32)
    p = QPainter(img)
    try:
        paint_decode_order(p, QRectF(0, 0, size.width(), size.height()), model, k)
    finally:
        p.end()
    return img


def gif_bytes(model: DecodeOrderModel, size: QSize = QSize(880, 620), speed: float = 1.0) -> bytes:
    """The whole decode as an animated GIF (frame durations follow the measured step times)."""
    from PIL import Image

    from .imaging import from_qimage

    frames, durations = [], []
    for k in range(len(model.steps)):
        frames.append(Image.fromarray(from_qimage(render_frame(model, k, size))).convert("P", palette=Image.ADAPTIVE))
        durations.append(model.step_duration_ms(k, speed))
    if not frames:
        raise ValueError("no decode steps to export")
    durations[-1] = max(durations[-1], 1500)  # linger on the finished picture before looping
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# widgets

class DecodeCanvas(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = DecodeOrderModel()
        self.k = 0
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def paintEvent(self, e):
        p = QPainter(self)
        paint_decode_order(p, QRectF(self.rect()), self.model, self.k)
        p.end()


class RaceWidget(QWidget):
    """Total decode time of 4 groups vs 2 groups vs Phase 4, side by side."""

    ORDER = (("phase5", "Phase 5 · 4 groups"), ("phase5-2g", "Phase 5 · 2 groups"), ("phase4", "Phase 4 · raster"))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: dict[str, tuple[float, int, str]] = {}  # variant -> (decode ms, latent steps, setting)
        self.setMinimumHeight(112)

    def set_entries(self, entries: dict) -> None:
        self.entries = dict(entries)
        self.update()

    def sizeHint(self):
        return QSize(600, 130)

    def paintEvent(self, e):
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        r = QRectF(self.rect())
        p.fillRect(r, BG)
        fm = p.fontMetrics()
        lh = fm.height()
        p.setPen(TEXT)
        p.drawText(QRectF(10, 6, r.width() - 20, lh), Qt.AlignLeft | Qt.AlignVCenter, "Total decode time")
        p.setPen(DIM)
        p.drawText(QRectF(10, 6, r.width() - 20, lh), Qt.AlignRight | Qt.AlignVCenter,
                   "same image and λ · 'Decode race' fills the missing rows")
        longest = max([v[0] for v in self.entries.values()] + [1e-6])
        ref = self.entries.get("phase4")
        label_w = 150
        y = 8 + lh * 1.3
        row_h = max(lh * 1.3, (r.height() - y - 4) / 3)
        colors = {"phase5": GROUP_COLORS[4], "phase5-2g": GROUP_COLORS[2], "phase4": RASTER_COLOR}
        for variant, name in self.ORDER:
            p.setPen(TEXT)
            p.drawText(QRectF(10, y, label_w, row_h), Qt.AlignLeft | Qt.AlignVCenter, name)
            track = QRectF(10 + label_w, y + row_h * 0.2, r.width() - label_w - 30, row_h * 0.6)
            p.setPen(Qt.NoPen)
            p.setBrush(PANEL)
            p.drawRoundedRect(track, 4, 4)
            e = self.entries.get(variant)
            if e is None:
                p.setPen(DIM)
                p.drawText(track.adjusted(8, 0, 0, 0), Qt.AlignLeft | Qt.AlignVCenter, "not run yet")
            else:
                ms, steps, setting = e
                bar = QRectF(track.left(), track.top(), max(track.width() * ms / longest, 3), track.height())
                grad = QLinearGradient(bar.topLeft(), bar.topRight())
                c = colors[variant]
                grad.setColorAt(0, c.darker(130))
                grad.setColorAt(1, c)
                p.setBrush(grad)
                p.drawRoundedRect(bar, 4, 4)
                text = f"{ms:.0f} ms · {steps} steps"
                if ref is not None and variant != "phase4" and ms > 0:
                    text += f" · {ref[0] / ms:.1f}× faster than Phase 4"
                p.setPen(TEXT)
                inside = fm.horizontalAdvance(text) + 16 < bar.width()
                tr = bar.adjusted(8, 0, -8, 0) if inside else QRectF(bar.right() + 8, bar.top(), track.right() - bar.right(), bar.height())
                p.drawText(tr, Qt.AlignLeft | Qt.AlignVCenter, text)
            y += row_h
        p.end()


SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


class DecodeOrderView(QWidget):
    """Canvas + controls (play/pause/step/speed) + the decode-time race."""

    export_gif_requested = Signal()
    export_frames_requested = Signal()
    race_requested = Signal()
    source_changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []  # results with a decode trace, for the source combo
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.source = QComboBox()
        self.source.setMinimumContentsLength(16)
        self.source.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.source.setToolTip("Which learned result's decode to show")
        bar.addWidget(QLabel("Decode of"))
        bar.addWidget(self.source, 1)
        self.race_btn = QPushButton("Decode race")
        self.race_btn.setToolTip("Compress the current image with 4 groups, 2 groups and Phase 4 and compare decode times")
        self.gif_btn = QPushButton("GIF…")
        self.gif_btn.setToolTip("Save the animation as an animated GIF")
        self.frames_btn = QPushButton("PNG frames…")
        bar.addWidget(self.race_btn)
        bar.addWidget(self.gif_btn)
        bar.addWidget(self.frames_btn)
        lay.addLayout(bar)
        bar = QHBoxLayout()
        self.restart_btn = QPushButton("first")
        self.restart_btn.setIcon(self.style().standardIcon(QStyle.SP_MediaSkipBackward))
        self.back_btn = QPushButton("◀ step")
        self.play_btn = QPushButton("▶ play")
        self.fwd_btn = QPushButton("step ▶")
        for b, tip in ((self.restart_btn, "Back to the first step"), (self.back_btn, "Previous step (←)"),
                       (self.play_btn, "Play / pause (space)"), (self.fwd_btn, "Next step (→)")):
            b.setToolTip(tip)
            bar.addWidget(b)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(2)
        self.speed.setToolTip("Animation speed; each step lasts 10× its measured time (kept between 70 ms and 1.5 s)")
        bar.addWidget(QLabel("speed"))
        bar.addWidget(self.speed)
        bar.addStretch(1)
        lay.addLayout(bar)
        self.explain = QLabel(
            "Each band of the latent is decoded in steps, exactly as the decoder reported them. "
            "<b>Phase 5</b>: one network pass per checkerboard group (the 1 2 / 3 4 lattice), all its positions "
            "at once. <b>Phase 4</b>: one position after another, row by row. Bar widths are measured milliseconds.")
        self.explain.setWordWrap(True)
        self.explain.setStyleSheet("color: #555; font-size: 11px;")
        lay.addWidget(self.explain)
        split = QSplitter(Qt.Vertical)
        self.canvas = DecodeCanvas()
        self.race = RaceWidget()
        split.addWidget(self.canvas)
        split.addWidget(self.race)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 1)
        split.setCollapsible(1, False)
        lay.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._tick)
        self.live = False
        self.restart_btn.clicked.connect(lambda: self.goto(0))
        self.back_btn.clicked.connect(lambda: self.goto(self.k - 1))
        self.fwd_btn.clicked.connect(lambda: self.goto(self.k + 1))
        self.play_btn.clicked.connect(self.toggle)
        self.race_btn.clicked.connect(self.race_requested)
        self.gif_btn.clicked.connect(self.export_gif_requested)
        self.frames_btn.clicked.connect(self.export_frames_requested)
        self.source.currentIndexChanged.connect(self._source_picked)
        self._update_controls()

    # ---- state
    @property
    def model(self) -> DecodeOrderModel:
        return self.canvas.model

    @property
    def k(self) -> int:
        return self.canvas.k

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def speed_value(self) -> float:
        return float(self.speed.currentData())

    def set_model(self, model: DecodeOrderModel, k: int | None = None) -> None:
        self.timer.stop()
        self.canvas.model = model
        self.canvas.k = len(model.steps) - 1 if k is None else k
        self._update_controls()
        self.canvas.update()

    def show_row(self, row) -> None:
        """Show a finished result's decode (from its own decode trace)."""
        self.live = False
        label = f"{row.codec_label} · {row.setting}"
        self.set_model(DecodeOrderModel(row.decode_trace, row.groups or 0, label, row.dec_ms), k=len(row.decode_trace) - 1)
        self._select_source(row)

    def set_rows(self, rows) -> None:
        """Results (of the current image) whose decode can be shown."""
        self.rows = [r for r in rows if r.decode_trace]
        cur = self.source.currentData()
        self.source.blockSignals(True)
        self.source.clear()
        for r in self.rows:
            self.source.addItem(f"{r.codec_label} · {r.setting} · {r.dec_ms:.0f} ms", r)
        idx = next((i for i, r in enumerate(self.rows) if r is cur), self.source.count() - 1)
        self.source.setCurrentIndex(idx)
        self.source.blockSignals(False)
        if not self.rows and not self.live:
            self.set_model(DecodeOrderModel())

    def _select_source(self, row):
        self.source.blockSignals(True)
        for i in range(self.source.count()):
            if self.source.itemData(i) is row:
                self.source.setCurrentIndex(i)
        self.source.blockSignals(False)

    def _source_picked(self, i):
        row = self.source.itemData(i)
        if row is not None:
            self.show_row(row)
            self.source_changed.emit(row)

    # ---- live decode
    def begin_live(self, label: str, groups: int) -> None:
        self.live = True
        self.set_model(DecodeOrderModel((), groups, label + " (decoding…)"), k=0)

    def add_live_step(self, step) -> None:
        if not self.live:
            return
        self.model.add(step)
        self.canvas.k = len(self.model.steps) - 1
        self._update_controls()
        self.canvas.update()

    # ---- playback
    def goto(self, k: int) -> None:
        n = len(self.model.steps)
        self.canvas.k = max(0, min(k, n - 1)) if n else 0
        self._update_controls()
        self.canvas.update()

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if not self.model.steps:
            return
        if self.k >= len(self.model.steps) - 1:
            self.canvas.k = 0
            self.canvas.update()
        self.timer.start(self.model.step_duration_ms(self.k, self.speed_value()))
        self._update_controls()

    def pause(self) -> None:
        self.timer.stop()
        self._update_controls()

    def _tick(self):
        if self.k >= len(self.model.steps) - 1:
            self._update_controls()
            return
        self.goto(self.k + 1)
        if self.k < len(self.model.steps) - 1:
            self.timer.start(self.model.step_duration_ms(self.k, self.speed_value()))
        self._update_controls()

    def _update_controls(self):
        n = len(self.model.steps)
        self.play_btn.setText("⏸ pause" if self.playing else "▶ play")
        for b in (self.restart_btn, self.back_btn, self.fwd_btn, self.play_btn, self.gif_btn, self.frames_btn):
            b.setEnabled(n > 0 and not self.live)
        self.back_btn.setEnabled(n > 0 and self.k > 0 and not self.live)
        self.fwd_btn.setEnabled(n > 0 and self.k < n - 1 and not self.live)

    def keyPressEvent(self, e):
        if e.key() == Qt.Key_Space:
            self.toggle()
        elif e.key() == Qt.Key_Right:
            self.goto(self.k + 1)
        elif e.key() == Qt.Key_Left:
            self.goto(self.k - 1)
        else:
            super().keyPressEvent(e)

    def set_race(self, rows) -> None:
        """Latest result per race variant (for the current image)."""
        entries = {}
        for r in rows:
            if r.variant in ("phase5", "phase5-2g", "phase4") and r.decode_trace:
                entries[r.variant] = (r.dec_ms, sum(1 for s in r.decode_trace if s.stage == "latent"), r.setting)
        self.race.set_entries(entries)
