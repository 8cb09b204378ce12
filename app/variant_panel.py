"""The variant panel: lambda, checkerboard groups, context, Phase 4, device and classical codecs."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
    QListWidgetItem, QPushButton, QRadioButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

#: The seed's training lambdas (mirrors core.codec.LAMBDAS; kept here so the panel builds before
#: torch is imported). A test checks the two agree.
LAMBDAS = (0.0025, 0.0035, 0.0067, 0.013, 0.025, 0.05)
STEPS_PER_SEGMENT = 10  # slider positions between two seed lambdas (log-spaced)

# (groups, context, phase4) for each named variant: the panel's controls map onto these.
VARIANT_CHOICES = {
    "phase5": (4, "standard", False),
    "phase5-light": (4, "light", False),
    "phase5-2g": (2, "standard", False),
    "phase5-cb": (4, "off", False),
    "phase4": (1, "raster", True),
}


def slider_to_lambda(pos: int) -> float:
    seg, frac = divmod(pos, STEPS_PER_SEGMENT)
    if seg >= len(LAMBDAS) - 1:
        return LAMBDAS[-1]
    a, b = math.log(LAMBDAS[seg]), math.log(LAMBDAS[seg + 1])
    return float(f"{math.exp(a + (b - a) * frac / STEPS_PER_SEGMENT):.5g}")


def lambda_to_slider(lam: float) -> int:
    best = min(range(STEPS_PER_SEGMENT * (len(LAMBDAS) - 1) + 1), key=lambda p: abs(math.log(slider_to_lambda(p) / lam)))
    return best


class VariantPanel(QWidget):
    """Emits ``changed`` whenever a choice changes; ``variant()`` resolves the named variant."""

    changed = Signal()
    compress_clicked = Signal()
    sweep_clicked = Signal()
    match_clicked = Signal()
    race_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.availability: dict[str, str | None] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)

        # -- lambda
        box = QGroupBox("Rate (λ)")
        bl = QVBoxLayout(box)
        row = QHBoxLayout()
        self.lam_combo = QComboBox()
        self.lam_combo.setToolTip("The six lambdas the model was trained at; the slider also reaches values between them")
        for v in LAMBDAS:
            self.lam_combo.addItem(f"{v:g}", v)
        self.lam_label = QLabel()
        self.lam_label.setMinimumWidth(70)
        row.addWidget(QLabel("λ"))
        row.addWidget(self.lam_combo, 1)
        row.addWidget(self.lam_label)
        bl.addLayout(row)
        self.lam_slider = QSlider(Qt.Horizontal)
        self.lam_slider.setRange(0, STEPS_PER_SEGMENT * (len(LAMBDAS) - 1))
        self.lam_slider.setTickInterval(STEPS_PER_SEGMENT)
        self.lam_slider.setTickPosition(QSlider.TicksBelow)
        self.lam_slider.setToolTip("Low λ: fewer bits. High λ: better quality. Ticks mark the trained values.")
        bl.addWidget(self.lam_slider)
        ends = QHBoxLayout()
        ends.addWidget(QLabel("<small>fewer bits</small>"))
        ends.addStretch(1)
        ends.addWidget(QLabel("<small>higher quality</small>"))
        bl.addLayout(ends)
        lay.addWidget(box)

        # -- variant
        box = QGroupBox("Learned codec")
        form = QFormLayout(box)
        self.groups = QButtonGroup(self)
        grow = QHBoxLayout()
        for g in (1, 2, 4):
            rb = QRadioButton(str(g))
            rb.setToolTip({1: "no spatial context (ablation)", 2: "anchors, then the rest",
                           4: "the 2×2 lattice 1 2 / 3 4"}[g])
            self.groups.addButton(rb, g)
            grow.addWidget(rb)
        self.groups.button(4).setChecked(True)
        form.addRow("Checkerboard groups", grow)
        self.context = QComboBox()
        for c, text in (("standard", "standard (enhanced)"), ("light", "light"), ("off", "off (single masked conv)")):
            self.context.addItem(text, c)
        form.addRow("Context", self.context)
        self.phase4 = QCheckBox("Phase 4 (serial raster scan)")
        self.phase4.setToolTip("The baseline Phase 5 is measured against: one latent position at a time")
        form.addRow(self.phase4)
        self.variant_label = QLabel()
        self.variant_label.setWordWrap(True)
        form.addRow("Variant", self.variant_label)
        self.refine = QSpinBox()
        self.refine.setRange(0, 500)
        self.refine.setSingleStep(10)
        self.refine.setSpecialValueText("off")
        self.refine.setSuffix(" steps")
        self.refine.setToolTip(
            "Encoder refinement: search this many optimisation steps for a latent that codes this image in "
            "fewer bits for its quality. Slower encodes (about 0.7 s a step for 768×512 on 2 CPU cores), "
            "the same decoder; results get their own RD curve. 30 is a good start.")
        form.addRow("Refinement", self.refine)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        self.device.addItem("CUDA", "cuda")
        form.addRow("Device", self.device)
        self.set_cuda(False, "")
        lay.addWidget(box)

        # -- classical codecs
        box = QGroupBox("Classical codecs")
        bl = QVBoxLayout(box)
        self.codec_list = QListWidget()
        self.codec_list.setMaximumHeight(170)
        bl.addWidget(self.codec_list)
        self.auto_match = QCheckBox("Match their bpp to the learned result")
        self.auto_match.setChecked(True)
        self.auto_match.setToolTip("After a learned encode, run each chosen codec at the setting closest to its bpp")
        bl.addWidget(self.auto_match)
        lay.addWidget(box)

        # -- actions
        self.compress_btn = QPushButton("Compress")
        self.compress_btn.setDefault(True)
        self.compress_btn.setToolTip("Encode the current image with the learned variant and the chosen codecs (Ctrl+R)")
        self.sweep_btn = QPushButton("Sweep")
        self.sweep_btn.setToolTip("All six lambdas and every codec's quality steps, for the RD curves")
        self.match_btn = QPushButton("Match bpp")
        self.match_btn.setToolTip("Run the chosen classical codecs at the learned result's bpp")
        self.race_btn = QPushButton("Decode race")
        self.race_btn.setToolTip("Decode with 4 groups, 2 groups and Phase 4 to compare decode times")
        self.actions_box = QWidget()  # hidden in the main window, which has these on its toolbar
        al = QVBoxLayout(self.actions_box)
        al.setContentsMargins(0, 0, 0, 0)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        row1.addWidget(self.compress_btn)
        row1.addWidget(self.sweep_btn)
        row2.addWidget(self.match_btn)
        row2.addWidget(self.race_btn)
        al.addLayout(row1)
        al.addLayout(row2)
        lay.addWidget(self.actions_box)
        lay.addStretch(1)

        self.set_lambda(0.013)
        self.lam_slider.valueChanged.connect(self._slider_moved)
        self.lam_combo.activated.connect(lambda i: self.set_lambda(self.lam_combo.itemData(i)))
        self.groups.idToggled.connect(lambda *_: self._changed())
        self.context.currentIndexChanged.connect(lambda *_: self._changed())
        self.phase4.toggled.connect(lambda *_: self._changed())
        self.device.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.codec_list.itemChanged.connect(lambda *_: self.changed.emit())
        self.compress_btn.clicked.connect(self.compress_clicked)
        self.sweep_btn.clicked.connect(self.sweep_clicked)
        self.match_btn.clicked.connect(self.match_clicked)
        self.race_btn.clicked.connect(self.race_clicked)
        self._changed()

    # ---- lambda
    def lam(self) -> float:
        return slider_to_lambda(self.lam_slider.value())

    def set_lambda(self, lam: float) -> None:
        self.lam_slider.setValue(lambda_to_slider(float(lam)))
        self._slider_moved()

    def _slider_moved(self, *_):
        lam = self.lam()
        self.lam_label.setText(f"λ = {lam:g}")
        exact = [i for i, v in enumerate(LAMBDAS) if abs(v - lam) < 1e-9]
        self.lam_combo.blockSignals(True)
        if exact:
            self.lam_combo.setCurrentIndex(exact[0])
            self.lam_combo.setEditText("")
        self.lam_combo.blockSignals(False)
        self.changed.emit()

    # ---- variant
    def choices(self) -> dict:
        return {"groups": self.groups.checkedId(), "context": self.context.currentData(), "phase4": self.phase4.isChecked()}

    def set_choices(self, groups: int, context: str, phase4: bool) -> None:
        b = self.groups.button(groups if groups in (1, 2, 4) else 4)
        b.setChecked(True)
        i = self.context.findData(context)
        self.context.setCurrentIndex(max(i, 0))
        self.phase4.setChecked(bool(phase4))
        self._changed()

    def set_variant(self, variant: str) -> None:
        g, c, p4 = VARIANT_CHOICES[variant]
        if p4:
            self.phase4.setChecked(True)
        else:
            self.set_choices(g, c, False)

    def variant(self) -> tuple[str | None, str]:
        """(named variant or None, explanation) for the current choices."""
        c = self.choices()
        if c["phase4"]:
            name = "phase4"
        else:
            name = next((n for n, (g, ctx, p4) in VARIANT_CHOICES.items()
                         if not p4 and g == c["groups"] and ctx == c["context"]), None)
        if name is None:
            return None, f"no shipped variant has {c['groups']} group(s) with {c['context']} context"
        why = self.availability.get(name)
        return name, (why or "")

    def _changed(self):
        p4 = self.phase4.isChecked()
        for b in self.groups.buttons():
            b.setEnabled(not p4)
        self.context.setEnabled(not p4)
        name, why = self.variant()
        if name is None:
            self.variant_label.setText(f"<span style='color:#c0392b'>{why}</span>")
        elif why:
            self.variant_label.setText(f"<b>{name}</b> <span style='color:#b9770e'>— not installed</span>")
            self.variant_label.setToolTip(why)
        else:
            self.variant_label.setText(f"<b>{name}</b>")
            self.variant_label.setToolTip("")
        self.changed.emit()

    def set_availability(self, availability: dict) -> None:
        self.availability = dict(availability)
        self._changed()

    # ---- device
    def set_cuda(self, available: bool, name: str = "") -> None:
        item = self.device.model().item(1)
        item.setEnabled(available)
        item.setToolTip(name if available else "no CUDA GPU available to this PyTorch build")
        if not available and self.device.currentIndex() == 1:
            self.device.setCurrentIndex(0)

    def refine_steps(self) -> int:
        """Encoder refinement steps for learned encodes (0: the plain encoder)."""
        return self.refine.value()

    def device_name(self) -> str:
        return self.device.currentData()

    def set_device(self, device: str) -> bool:
        i = self.device.findData(device)
        if i < 0 or not self.device.model().item(i).isEnabled():
            return False
        self.device.setCurrentIndex(i)
        return True

    # ---- classical codecs
    def set_codecs(self, codecs, chosen=None) -> None:
        """codecs: (name, label, available, reason) as core.baselines reports them."""
        chosen = set(chosen if chosen is not None else ("jpeg", "webp"))
        self.codec_list.blockSignals(True)
        self.codec_list.clear()
        for name, label, ok, why in codecs:
            it = QListWidgetItem(label)
            it.setData(Qt.UserRole, name)
            flags = Qt.ItemIsUserCheckable | (Qt.ItemIsEnabled if ok else Qt.NoItemFlags)
            it.setFlags(flags)
            it.setCheckState(Qt.Checked if ok and name in chosen else Qt.Unchecked)
            it.setToolTip("" if ok else f"unavailable here: {why}")
            if not ok:
                it.setText(f"{label} (unavailable)")
            self.codec_list.addItem(it)
        self.codec_list.blockSignals(False)
        self.changed.emit()

    def chosen_codecs(self) -> list[str]:
        out = []
        for i in range(self.codec_list.count()):
            it = self.codec_list.item(i)
            if it.checkState() == Qt.Checked:
                out.append(it.data(Qt.UserRole))
        return out

    def set_chosen_codecs(self, names) -> None:
        names = set(names)
        for i in range(self.codec_list.count()):
            it = self.codec_list.item(i)
            if it.flags() & Qt.ItemIsEnabled:
                it.setCheckState(Qt.Checked if it.data(Qt.UserRole) in names else Qt.Unchecked)
