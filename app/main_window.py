"""The main window: images in, variant panel, job queue, table, RD plot, comparison, decode order."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
    QMessageBox, QProgressBar, QPushButton, QScrollArea, QSplitter, QStyle, QTabWidget, QToolButton, QVBoxLayout,
    QWidget,
)

from . import APP_NAME, ICON, SAMPLE_IMAGE, version
from .compare_view import CompareView
from .decode_order import DecodeOrderView
from .errors import error_dialog
from .imaging import from_qimage, to_pixmap
from .rd_plot import RDPlot, curve_color
from .results_table import ResultsModel, ResultsTable
from .settings import Settings
from .variant_panel import LAMBDAS, VariantPanel
from .workers import (
    ClassicalJob, CodecProvider, DecodeFileJob, FuncJob, ImageEntry, JobQueue, LearnedJob, LoadImagesJob, MatchBppJob,
    ResultRow, WarmupJob, thumbnail,
)

ABOUT = (
    "<h3>Wavelet Codec Studio</h3>"
    "<p><b>Phase 5</b> is a learned image codec. It transforms the image into a small latent, splits that "
    "latent into four wavelet bands (LL, LH, HL, HH) and codes each band in <b>checkerboard groups</b>: with "
    "4 groups, positions are coded in the pattern <tt>1 2 / 3 4</tt>, every position of a group in one "
    "network pass, each group using the ones before it as context.</p>"
    "<p><b>Phase 4</b> codes the same latent one position at a time (a raster scan): a little better "
    "context, many more passes. The <i>Decode order</i> tab shows both, step by step, with the time each "
    "step took.</p><p>Drop photos on the window to compare against JPEG, WebP, AVIF and the other codecs "
    "installed here: the table and the RD plot fill in as each encode finishes.</p>"
)


class JobRow(QWidget):
    """One job in the Jobs dock: its title, its own progress bar and a cancel button."""

    def __init__(self, job, on_cancel, parent=None):
        super().__init__(parent)
        self.job = job
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 1, 4, 1)
        self.label = QLabel(job.title)
        self.label.setMinimumWidth(120)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.bar.setFormat("queued")
        self.bar.setMaximumHeight(16)
        self.cancel = QToolButton()
        self.cancel.setText("✕")
        self.cancel.setToolTip("Cancel this job")
        self.cancel.clicked.connect(lambda: on_cancel(job))
        lay.addWidget(self.label, 2)
        lay.addWidget(self.bar, 3)
        lay.addWidget(self.cancel)

    def refresh(self, msg: str = "") -> None:
        pct = int(100 * self.job.done / max(self.job.total, 1))
        self.bar.setValue(pct)
        self.bar.setFormat(f"{pct}% {msg}".strip() if self.job.state == "running" else self.job.state)


class MainWindow(QMainWindow):
    ready = Signal()  # start-up checks done (codecs and variants known)
    image_added = Signal(object)
    result_added = Signal(object)
    error_shown = Signal(object)

    def __init__(self, provider: CodecProvider | None = None, settings: Settings | None = None,
                 device: str | None = None, t_start: float | None = None):
        super().__init__()
        self.t_start = t_start if t_start is not None else time.perf_counter()
        self.first_result_s: float | None = None
        self.provider = provider or CodecProvider()
        self.settings = settings or Settings()
        self.requested_device = device
        self.queue = JobQueue(self)
        self.images: dict[str, ImageEntry] = {}
        self.current_key: str | None = None
        self.codec_info: dict[str, dict] = {}
        self.info: dict | None = None
        self.last_error = None
        self.pending_match: dict[int, list[str]] = {}  # learned job id -> classical codecs to match
        self.live_job = None
        self.job_rows: dict[int, JobRow] = {}
        self._clip_n = 0
        self._auto_compress = False
        self.setWindowTitle(f"{APP_NAME} {version()}")
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._build()
        self._menus()
        self._toolbar()
        self.queue.job_added.connect(self._job_added)
        self.queue.job_changed.connect(self._job_changed)
        self.queue.job_finished.connect(self._job_finished)
        self.queue.overall.connect(self._overall)
        self._restore()

    # ------------------------------------------------------------------------------------------
    # construction
    def _build(self):
        # central: views on top, numbers below
        self.tabs = QTabWidget()
        self.compare = CompareView()
        self.decode_view = DecodeOrderView()
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.decode_view, "Decode order")
        self.results = ResultsModel(self)
        self.table = ResultsTable(self.results)
        self.rd = RDPlot()
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.table)
        bottom.addWidget(self.rd)
        bottom.setSizes([560, 520])
        self.main_split = QSplitter(Qt.Vertical)
        self.main_split.addWidget(self.tabs)
        self.main_split.addWidget(bottom)
        self.main_split.setSizes([520, 330])
        self.notice = QFrame()
        self.notice.setObjectName("notice")
        self.notice.setStyleSheet("#notice { background: #fff4d6; border: 1px solid #e0b84c; border-radius: 4px; }")
        nl = QHBoxLayout(self.notice)
        nl.setContentsMargins(8, 4, 8, 4)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.demo_btn = QPushButton("Use untrained demo models")
        self.demo_btn.setToolTip("Tiny randomly initialised models: real code paths and decode order, "
                                 "but useless compression. For exploring the app only.")
        close = QToolButton()
        close.setText("✕")
        close.clicked.connect(self.notice.hide)
        nl.addWidget(self.notice_label, 1)
        nl.addWidget(self.demo_btn)
        nl.addWidget(close)
        self.demo_btn.clicked.connect(self.use_demo_models)
        self.notice.hide()
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 0)
        cl.addWidget(self.notice)
        cl.addWidget(self.main_split, 1)
        self.setCentralWidget(central)

        # docks
        self.image_list = QListWidget()
        self.image_list.setIconSize(QSize(56, 56))
        self.image_list.setToolTip("Drop images or folders anywhere on the window, or paste (Ctrl+V)")
        self.image_list.currentItemChanged.connect(self._image_picked)
        img_box = QWidget()
        il = QVBoxLayout(img_box)
        il.setContentsMargins(4, 4, 4, 4)
        hint = QLabel("<small>Drop photos or folders here · Ctrl+O · Ctrl+V</small>")
        hint.setStyleSheet("color: #666")
        il.addWidget(self.image_list)
        il.addWidget(hint)
        self.images_dock = self._dock("Images", img_box, Qt.LeftDockWidgetArea)
        self.panel = VariantPanel()
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        self.panel_dock = self._dock("Variant", scroll, Qt.LeftDockWidgetArea)
        self.jobs_box = QWidget()
        self.jobs_layout = QVBoxLayout(self.jobs_box)
        self.jobs_layout.setContentsMargins(2, 2, 2, 2)
        self.jobs_layout.addStretch(1)
        jscroll = QScrollArea()
        jscroll.setWidget(self.jobs_box)
        jscroll.setWidgetResizable(True)
        self.jobs_dock = self._dock("Jobs", jscroll, Qt.LeftDockWidgetArea)
        self.panel.setMinimumWidth(270)
        self.resizeDocks([self.images_dock, self.panel_dock, self.jobs_dock], [150, 520, 110], Qt.Vertical)
        self.resizeDocks([self.panel_dock], [300], Qt.Horizontal)
        self.panel.compress_clicked.connect(self.compress)
        self.panel.sweep_clicked.connect(self.sweep)
        self.panel.match_clicked.connect(self.match_bpp)
        self.panel.race_clicked.connect(self.decode_race)
        self.panel.changed.connect(self._panel_changed)
        self.decode_view.race_requested.connect(self.decode_race)
        self.decode_view.export_gif_requested.connect(self.export_gif)
        self.decode_view.export_frames_requested.connect(self.export_frames)
        self.table.row_activated.connect(self._row_activated)
        self.table.selectionModel().selectionChanged.connect(self._table_selection)
        self.rd.plot.scene().sigMouseClicked.connect(self._plot_clicked)

        # status bar
        sb = self.statusBar()
        self.device_label = QLabel("Device: …")
        self.jobs_label = QLabel("idle")
        self.overall_bar = QProgressBar()
        self.overall_bar.setMaximumWidth(220)
        self.overall_bar.setMaximumHeight(16)
        self.overall_bar.setRange(0, 100)
        self.overall_bar.setValue(100)
        self.cancel_all_btn = QPushButton("Cancel all")
        self.cancel_all_btn.setEnabled(False)
        self.cancel_all_btn.clicked.connect(self.queue.cancel_all)
        sb.addWidget(self.jobs_label, 1)
        sb.addPermanentWidget(self.overall_bar)
        sb.addPermanentWidget(self.cancel_all_btn)
        sb.addPermanentWidget(self.device_label)
        self.resize(1400, 900)
        self.fixed_layout = False  # screenshots use a set size and leave the user's layout alone

    def _dock(self, title, widget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock-{title.lower()}")  # saveState needs stable object names
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _menus(self):
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.act_open = self._action(f, "&Open images…", self.open_dialog, QKeySequence.Open)
        self._action(f, "Open &folder…", self.open_folder_dialog)
        self._action(f, "Open .&wcs bitstream…", self.open_wcs_dialog)
        self._action(f, "&Paste image", self.paste, QKeySequence.Paste)
        self.recent_menu = f.addMenu("&Recent files")
        self._fill_recent()
        f.addSeparator()
        ex = f.addMenu("&Export")
        self._action(ex, "Bitstream of selected result…", self.export_bitstream, "Ctrl+S")
        self._action(ex, "Reconstruction PNG…", self.export_recon)
        self._action(ex, "Results as CSV…", lambda: self.export_results("csv"))
        self._action(ex, "Results as JSON…", lambda: self.export_results("json"))
        self._action(ex, "RD plot as PNG…", lambda: self.export_plot("png"))
        self._action(ex, "RD plot as SVG…", lambda: self.export_plot("svg"))
        self._action(ex, "Decode order as GIF…", self.export_gif)
        self._action(ex, "Decode order as PNG frames…", self.export_frames)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.Quit)
        r = mb.addMenu("&Run")
        self._action(r, "&Compress", self.compress, "Ctrl+R")
        self._action(r, "&Sweep all lambdas and qualities", self.sweep, "Ctrl+Shift+R")
        self._action(r, "&Match bpp", self.match_bpp, "Ctrl+M")
        self._action(r, "&Decode race", self.decode_race, "Ctrl+D")
        self._action(r, "Cancel &all jobs", self.queue.cancel_all, "Esc")
        v = mb.addMenu("&View")
        for d in (self.images_dock, self.panel_dock, self.jobs_dock):
            v.addAction(d.toggleViewAction())
        self._action(v, "Copy results table", self.table.copy_selection)
        h = mb.addMenu("&Help")
        self._action(h, "What does Phase 5 do?", self.show_about)
        self.act_about = self._action(h, f"&About {APP_NAME}", self.show_product_about)
        self.act_about.setMenuRole(QAction.AboutRole)  # macOS: the application menu's "About"

    def _toolbar(self):
        tb = self.addToolBar("Actions")
        tb.setObjectName("toolbar-actions")
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        st = self.style()
        items = [
            ("Open…", QStyle.SP_DialogOpenButton, self.open_dialog, "Open images (or drop them on the window)"),
            ("Paste", None, self.paste, "Paste an image or image file from the clipboard"),
            (None, None, None, None),
            ("Compress", QStyle.SP_MediaPlay, self.compress,
             "Learned variant at the chosen λ, and the chosen classical codecs at its bpp (Ctrl+R)"),
            ("Sweep", None, self.sweep, "All six λ and every quality step: fills the RD curves (Ctrl+Shift+R)"),
            ("Match bpp", None, self.match_bpp, "Classical codecs at the learned result's bpp (Ctrl+M)"),
            ("Decode race", None, self.decode_race, "4 groups vs 2 groups vs Phase 4 decode time (Ctrl+D)"),
            (None, None, None, None),
            ("Cancel all", QStyle.SP_BrowserStop, self.queue.cancel_all, "Stop the running job and empty the queue (Esc)"),
        ]
        self.toolbar_actions = {}
        for text, icon, slot, tip in items:
            if text is None:
                tb.addSeparator()
                continue
            a = QAction(text, self)
            if icon is not None:
                a.setIcon(st.standardIcon(icon))
            a.setToolTip(tip)
            a.triggered.connect(lambda *_, f=slot: f())
            tb.addAction(a)
            self.toolbar_actions[text] = a
        self.panel.actions_box.hide()

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(lambda *_: slot())
        menu.addAction(a)
        return a

    def _restore(self):
        g, s = self.settings.layout()
        if g is not None:
            self.restoreGeometry(g)
        if s is not None:
            self.restoreState(s)
        p = self.settings.panel
        if p["phase4"]:
            self.panel.phase4.setChecked(True)
        else:
            self.panel.set_choices(p["groups"], p["context"], False)
        self.panel.set_lambda(self.settings.lam)
        self.panel.refine.setValue(self.settings.refine)

    def save_settings(self):
        if not self.fixed_layout:
            self.settings.save_layout(self.saveGeometry(), self.saveState())
        if self.codec_info:  # only once the list is known: an early quit must not forget the choice
            self.settings.codecs = self.panel.chosen_codecs()
        self.settings.lam = self.panel.lam()
        self.settings.panel = self.panel.choices()
        self.settings.device = self.panel.device_name()
        self.settings.refine = self.panel.refine_steps()
        self.settings.sync()

    def closeEvent(self, e):
        self.save_settings()
        self.decode_view.pause()
        self.queue.cancel_all()
        self.queue.wait(5000)  # cancelled jobs stop at their next step
        super().closeEvent(e)

    # ------------------------------------------------------------------------------------------
    # start-up
    def start_up(self, load_sample: bool = True) -> None:
        """Load the bundled sample (no torch needed), then check codecs and weights in the pool."""
        self._auto_compress = load_sample
        if load_sample and SAMPLE_IMAGE.exists() and not self.images:
            self.queue.submit(self._load_job([SAMPLE_IMAGE], recent=False))
        job = WarmupJob(self.provider)
        job.signals.result.connect(self._warmed_up)
        self.queue.submit(job)

    def _warmed_up(self, job, info: dict):
        self.info = info
        self.codec_info = {n: dict(label=l, ok=ok, why=why) for n, l, ok, why in info["codecs"]}
        self.panel.set_codecs(info["codecs"], self.settings.codecs)
        self.panel.set_cuda(info["cuda"], info.get("cuda_name", ""))
        self.panel.set_availability(info["variants"])
        want = self.requested_device or self.settings.device
        if want == "auto":
            want = "cuda" if info["cuda"] else "cpu"
        if not self.panel.set_device(want):
            self.panel.set_device("cpu")
            if want == "cuda":
                self.statusBar().showMessage("CUDA is not available here: using the CPU", 8000)
        self._update_device_label()
        missing = [v for v, why in info["variants"].items() if why]
        if missing and not self.provider.demo:
            installed = [v for v, why in info["variants"].items() if not why]
            what = "the learned variants" if not installed else ", ".join(missing)
            self.notice_label.setText(
                f"<b>Weights for {what} are not installed</b> (see README, 'Weights'), so those variants "
                "cannot run. Classical codecs work as usual.")
            self.notice.show()
        else:
            self.notice.hide()
        self.ready.emit()
        self._maybe_auto_compress()

    def _maybe_auto_compress(self):
        # the first screen should already show a result: compress once the image and the checks are in
        if self._auto_compress and self.current_key is not None and self.info is not None:
            self._auto_compress = False
            self.compress()

    def use_demo_models(self) -> None:
        self.provider.demo = True
        self.notice.hide()
        self.panel.set_availability(self.provider.availability())
        self.statusBar().showMessage("Untrained demo models: real code paths and decode order, not real compression", 10000)
        self._refresh_views()
        if self.current_key and not any(r.kind == "learned" for r in self.rows_for()):
            self.compress()

    def _update_device_label(self):
        dev = self.panel.device_name()
        if dev == "cuda" and self.info:
            self.device_label.setText(f"Device: CUDA · {self.info.get('cuda_name', '')}")
        else:
            import os

            self.device_label.setText(f"Device: CPU ({os.cpu_count()} cores)")

    def _panel_changed(self):
        self._update_device_label()

    # ------------------------------------------------------------------------------------------
    # images in
    def _load_job(self, paths, recent=True) -> LoadImagesJob:
        job = LoadImagesJob(paths)
        job.signals.result.connect(lambda j, entry: self.add_image(entry, recent=recent))
        return job

    def add_paths(self, paths) -> list:
        """Files and folders (drop, dialog, recent): .wcs files are decoded, the rest loaded as images."""
        paths = [str(p) for p in paths]
        wcs = [p for p in paths if p.lower().endswith(".wcs")]
        rest = [p for p in paths if not p.lower().endswith(".wcs")]
        jobs = []
        for p in wcs:
            jobs.append(self.open_wcs(p))
        if rest:
            first = Path(rest[0])
            self.settings.last_folder = str(first if first.is_dir() else first.parent)
            jobs.append(self.queue.submit(self._load_job(rest)))
        return jobs

    def add_image(self, entry: ImageEntry, recent: bool = True) -> None:
        if entry.key in self.images:  # same file again: refresh its pixels, keep its results
            self.images[entry.key] = entry
        else:
            self.images[entry.key] = entry
            it = QListWidgetItem(f"{entry.name}\n{entry.size[0]}×{entry.size[1]}")
            it.setData(Qt.UserRole, entry.key)
            thumb = entry.thumb if entry.thumb is not None else thumbnail(entry.rgb)
            it.setIcon(QIcon(to_pixmap(thumb)))
            it.setToolTip(entry.path or entry.name)
            self.image_list.addItem(it)
        if entry.path and recent:
            self.settings.add_recent(entry.path)
            self._fill_recent()
        if self.current_key is None or self.current_key == entry.key:
            self.select_image(entry.key)
        self.image_added.emit(entry)
        self._maybe_auto_compress()

    def select_image(self, key: str) -> None:
        for i in range(self.image_list.count()):
            if self.image_list.item(i).data(Qt.UserRole) == key:
                self.image_list.setCurrentRow(i)
                break
        if self.current_key != key:
            self.current_key = key
            self._refresh_views()
        elif self.compare.original is None:
            self._refresh_views()

    def _image_picked(self, cur, prev):
        if cur is not None:
            key = cur.data(Qt.UserRole)
            if key != self.current_key:
                self.current_key = key
                self._refresh_views()

    def current_image(self) -> ImageEntry | None:
        return self.images.get(self.current_key) if self.current_key else None

    def open_dialog(self):
        from .workers import image_extensions

        exts = " ".join(f"*{e}" for e in sorted(image_extensions()))
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.last_folder,
                                                f"Images ({exts});;Bitstreams (*.wcs);;All files (*)")
        if paths:
            self.add_paths(paths)

    def open_folder_dialog(self):
        d = QFileDialog.getExistingDirectory(self, "Open a folder of images", self.settings.last_folder)
        if d:
            self.add_paths([d])

    def open_wcs_dialog(self):
        p, _ = QFileDialog.getOpenFileName(self, "Open a .wcs bitstream", self.settings.last_folder, "Bitstreams (*.wcs)")
        if p:
            self.add_paths([p])

    def open_wcs(self, path):
        job = DecodeFileJob(self.provider, path, self.panel.device_name())
        job.signals.result.connect(self._wcs_decoded)
        job.signals.step.connect(self._job_step)
        return self.queue.submit(job)

    def _wcs_decoded(self, job, payload):
        from .decode_order import DecodeOrderModel

        entry, info, dec = payload
        self.add_image(entry)
        groups = 0 if info["context"] == "raster" else info["groups"]
        self.decode_view.set_model(DecodeOrderModel(dec.trace, groups, f"{entry.name} ({info['variant']})",
                                                    dec.timings.get("total")))
        self.tabs.setCurrentWidget(self.decode_view)
        self.statusBar().showMessage(
            f"{entry.name}: {info['variant']} λ={info['lambda']:g}, {info['bytes']:,} bytes, "
            f"{info['bpp']:.3f} bpp, decoded in {dec.timings.get('total', 0):.0f} ms", 10000)

    def paste(self) -> bool:
        md = QGuiApplication.clipboard().mimeData()
        if md is None:
            return False
        if md.hasUrls() and any(u.isLocalFile() for u in md.urls()):
            self.add_paths([u.toLocalFile() for u in md.urls() if u.isLocalFile()])
            return True
        if md.hasImage():
            img = QGuiApplication.clipboard().image()
            if not img.isNull():
                rgb = from_qimage(img)
                self._clip_n += 1
                self.add_image(ImageEntry(f"clipboard-{self._clip_n}", f"Pasted image {self._clip_n}", rgb,
                                          None, thumbnail(rgb)))
                return True
        self.statusBar().showMessage("The clipboard holds no image or image file", 5000)
        return False

    def _fill_recent(self):
        self.recent_menu.clear()
        items = self.settings.recent_files
        for p in items:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda *_, p=p: self.add_paths([p]))
        if items:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list").triggered.connect(lambda: (self.settings.clear_recent(), self._fill_recent()))
        self.recent_menu.setEnabled(bool(items))

    # drag and drop: files, folders (and images dragged out of other apps)
    def dragEnterEvent(self, e):
        md = e.mimeData()
        if (md.hasUrls() and any(u.isLocalFile() for u in md.urls())) or md.hasImage():
            e.acceptProposedAction()
        else:
            e.ignore()

    def dragMoveEvent(self, e):
        self.dragEnterEvent(e)

    def dropEvent(self, e):
        md = e.mimeData()
        if md.hasUrls():
            paths = [u.toLocalFile() for u in md.urls() if u.isLocalFile()]
            if paths:
                self.add_paths(paths)
                e.acceptProposedAction()
                return
        if md.hasImage():
            img = md.imageData()
            if img is not None and not img.isNull():
                rgb = from_qimage(img)
                self._clip_n += 1
                self.add_image(ImageEntry(f"dropped-{self._clip_n}", f"Dropped image {self._clip_n}", rgb, None, thumbnail(rgb)))
                e.acceptProposedAction()
                return
        e.ignore()

    # ------------------------------------------------------------------------------------------
    # work
    def _learned_variant(self, quiet=False) -> str | None:
        name, why = self.panel.variant()
        if name is None or why:
            if not quiet:
                self.statusBar().showMessage(f"{name or 'Learned codec'}: {why}; running the classical codecs only", 8000)
            return None
        return name

    def _learned(self, image, variant, lam, match=None, device=None, refine=None) -> LearnedJob:
        refine = self.panel.refine_steps() if refine is None else refine
        job = LearnedJob(self.provider, image, variant, lam, device or self.panel.device_name(), refine)
        job.signals.result.connect(self._result)
        job.signals.step.connect(self._job_step)
        if match:
            self.pending_match[job.id] = list(match)
        return self.queue.submit(job)

    def _classical(self, image, name, qualities) -> ClassicalJob:
        job = ClassicalJob(image, name, qualities)
        job.signals.result.connect(self._result)
        return self.queue.submit(job)

    def _default_quality(self, name: str) -> int:
        from core.baselines import get_codec

        sweep = list(get_codec(name).default_sweep) or [50]
        return sweep[len(sweep) // 2]

    def compress(self) -> list:
        """The learned variant at the panel's λ, and the chosen classical codecs (matched to its bpp)."""
        image = self.current_image()
        if image is None:
            self.statusBar().showMessage("Open or drop an image first", 5000)
            return []
        if self.info is None:  # start-up checks still running: compress when they finish
            self._auto_compress = True
            return []
        jobs = []
        variant = self._learned_variant()
        codecs = self.panel.chosen_codecs()
        if variant:
            match = codecs if self.panel.auto_match.isChecked() else None
            jobs.append(self._learned(image, variant, self.panel.lam(), match=match))
            if match:
                return jobs
        for name in codecs:
            jobs.append(self._classical(image, name, [self._default_quality(name)]))
        return jobs

    def sweep(self) -> list:
        """Every lambda for the learned variant and every default quality step for each chosen codec."""
        image = self.current_image()
        if image is None or self.info is None:
            return []
        from core.baselines import get_codec

        jobs = []
        variant = self._learned_variant(quiet=True)
        if variant:
            jobs += [self._learned(image, variant, lam) for lam in LAMBDAS]
        for name in self.panel.chosen_codecs():
            jobs.append(self._classical(image, name, get_codec(name).default_sweep))
        return jobs

    def match_bpp(self, target: ResultRow | None = None, codecs=None) -> list:
        """Run classical codecs at the setting closest to a learned result's bpp."""
        image = self.current_image()
        if image is None:
            return []
        if target is None:
            sel = [r for r in self.table.selected_rows() if r.kind == "learned"]
            learned = sel or [r for r in self.rows_for() if r.kind == "learned"]
            if not learned:
                self.statusBar().showMessage("Match bpp needs a learned result first: press Compress", 6000)
                return []
            target = learned[-1]
        image = self.images.get(target.image_key, image)
        jobs = []
        for name in codecs if codecs is not None else self.panel.chosen_codecs():
            job = MatchBppJob(image, name, target.bpp)
            job.signals.result.connect(self._result)
            jobs.append(self.queue.submit(job))
        return jobs

    def decode_race(self) -> list:
        """4 groups, 2 groups and Phase 4 on the current image at the panel's λ."""
        image = self.current_image()
        if image is None or self.info is None:
            return []
        avail = self.provider.availability()
        jobs = []
        lam = self.panel.lam()
        for v in ("phase5", "phase5-2g", "phase4"):
            have = any(r.variant == v and abs(r.value - lam) < 1e-9 for r in self.rows_for())
            if avail.get(v) is None and not have:
                jobs.append(self._learned(image, v, lam, refine=0))  # decode times: refining would only slow it
        if not jobs and not any(avail.get(v) is None for v in ("phase5", "phase5-2g", "phase4")):
            self.statusBar().showMessage("The decode race needs the learned variants' weights (or the demo models)", 8000)
        self.tabs.setCurrentWidget(self.decode_view)
        return jobs

    # ------------------------------------------------------------------------------------------
    # results
    def rows_for(self, key: str | None = None) -> list[ResultRow]:
        key = key or self.current_key
        return [r for r in self.results.rows if r.image_key == key]

    def _result(self, job, row: ResultRow) -> None:
        self.results.colors[row.curve] = curve_color(row.curve)
        self.results.add(row)
        if self.first_result_s is None:
            self.first_result_s = time.perf_counter() - self.t_start
        if row.image_key == self.current_key:
            self.rd.add_row(row)
            self._update_compare()
            learned = [r for r in self.rows_for() if r.decode_trace]
            self.decode_view.set_rows(learned)
            if row.decode_trace:
                self.decode_view.show_row(row)
            self.decode_view.set_race(self.rows_for())
        codecs = self.pending_match.pop(job.id, None)
        if codecs:
            self.match_bpp(row, codecs)
        self.result_added.emit(row)

    def _job_step(self, job, step) -> None:
        image_key = getattr(getattr(job, "image", None), "key", None)
        if image_key is not None and image_key != self.current_key:
            return
        if self.live_job is not job:
            self.live_job = job
            if isinstance(job, LearnedJob):
                groups, label = job.provider.get(job.variant, job.device).groups, job.provider.label(job.variant)
            else:  # a .wcs file: the job read its header before decoding
                groups, label = getattr(job, "groups", 4), Path(job.path).name
            self.decode_view.begin_live(label, groups)
        self.decode_view.add_live_step(step)

    def _default_compare_rows(self, rows) -> list[ResultRow]:
        """Latest learned result, then the latest (preferably bpp-matched) result of other codecs."""
        picked = []
        learned = [r for r in rows if r.kind == "learned"]
        if learned:
            name = self.panel.variant()[0]
            same = [r for r in learned if r.variant == name]  # the panel's variant first (not a race's)
            # ...at the panel's lambda: after a sweep, that is the result the matched codecs were matched to
            at_lam = [r for r in same if abs(r.value - self.panel.lam()) < 1e-9]
            picked.append((at_lam or same or learned)[-1])
        seen = set()
        for r in sorted(reversed(rows), key=lambda r: not r.matched):
            if r.kind == "classical" and r.curve not in seen:
                seen.add(r.curve)
                picked.append(r)
        return picked[:3]

    def _update_compare(self):
        rows = self.rows_for()
        sel = self.table.selected_rows()
        self.compare.set_rows(sel[:3] if sel else self._default_compare_rows(rows), rows)

    def _table_selection(self, *_):
        if self.table.selected_rows():
            self._update_compare()

    def _row_activated(self, row):
        if row is None:
            return
        if row.decode_trace:
            self.decode_view.show_row(row)
            self.tabs.setCurrentWidget(self.decode_view)
        else:
            self.tabs.setCurrentWidget(self.compare)

    def _plot_clicked(self, ev):
        r = self.rd.nearest(ev.scenePos())
        if r is not None:
            self.compare.set_rows([r] + [x for x in self._default_compare_rows(self.rows_for()) if x is not r][:2], self.rows_for())

    def _refresh_views(self):
        image = self.current_image()
        self.table.proxy.set_image(self.current_key)
        rows = self.rows_for()
        self.rd.set_rows(rows)
        self.compare.set_original(image.rgb if image else None)
        self.compare.set_rows(self._default_compare_rows(rows), rows)
        learned = [r for r in rows if r.decode_trace]
        self.decode_view.live = False
        self.decode_view.set_rows(learned)
        if learned:
            self.decode_view.show_row(learned[-1])
        self.decode_view.set_race(rows)
        if image is not None:
            self.setWindowTitle(f"{image.name} — {APP_NAME} {version()}")

    # ------------------------------------------------------------------------------------------
    # jobs: per-job rows, overall bar, errors
    def _job_added(self, job):
        row = JobRow(job, self.queue.cancel)
        self.job_rows[job.id] = row
        self.jobs_layout.insertWidget(self.jobs_layout.count() - 1, row)
        job.signals.failed.connect(self._job_failed)
        self.cancel_all_btn.setEnabled(True)

    def _job_changed(self, job):
        row = self.job_rows.get(job.id)
        if row is not None:
            row.refresh()

    def _job_finished(self, job, outcome):
        row = self.job_rows.pop(job.id, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        if job is self.live_job:
            self.live_job = None
            self.decode_view.live = False
            if outcome != "done":  # an unfinished live decode: show the last finished one instead
                self._refresh_views()
        self.pending_match.pop(job.id, None)
        if outcome == "cancelled":
            self.statusBar().showMessage(f"Cancelled: {job.title}", 4000)

    def _overall(self, pct, active):
        self.overall_bar.setValue(pct)
        self.overall_bar.setFormat(f"{pct}% of {active} job(s)" if active else "done")
        self.jobs_label.setText(f"{active} job(s) running or queued" if active else "idle")
        self.cancel_all_btn.setEnabled(active > 0)

    def _job_failed(self, job, kind, message):
        retry = None
        if kind == "device" and isinstance(job, LearnedJob):
            def retry():
                self.panel.set_device("cpu")
                self._learned(job.image, job.variant, job.lam, device="cpu", refine=job.refine)
        self.show_error(kind, message, retry)

    def show_error(self, kind: str, message: str, retry_cpu=None):
        self.last_error = error_dialog(self, kind, message, retry_cpu)
        self.error_shown.emit(self.last_error)
        return self.last_error

    def show_about(self):
        QMessageBox.about(self, "What does Phase 5 do?", ABOUT)

    def product_about_text(self) -> str:
        import platform
        import sys

        from PySide6 import __version__ as pyside_version

        torch = sys.modules.get("torch")  # never import it here: the GUI thread must not block
        torch_line = (f"PyTorch {torch.__version__} ({'CUDA ' + torch.version.cuda if torch.version.cuda else 'CPU'})"
                      if torch is not None else "PyTorch (not loaded yet)")
        from html import escape

        from core.manifest import describe, read_manifest

        frozen = " (bundle)" if getattr(sys, "frozen", False) else ""
        try:
            variants = list(read_manifest()["models"])
        except Exception as exc:  # a damaged manifest is reported, not fatal here
            variants, weights = [], escape(str(exc))
        else:  # how far the shipped weights are trained: they improve from release to release
            weights = "<br>".join(escape(describe(v)) for v in variants) or "none installed"
        return (f"<h3>{APP_NAME}</h3><p>Version {version()}{frozen}</p>"
                "<p>Run the Phase 5 wavelet-domain learned image codec and compare it with classical codecs.</p>"
                f"<p><small><b>Weights</b><br>{weights}</small></p>"
                f"<p><small>Python {platform.python_version()}, Qt for Python {pyside_version}, "
                f"{torch_line}</small></p>")

    def show_product_about(self):
        QMessageBox.about(self, f"About {APP_NAME}", self.product_about_text())

    # ------------------------------------------------------------------------------------------
    # export (dialogs confirm replacing a file, so writers get overwrite=True only after that)
    def _selected_or_latest(self, learned_only=False) -> ResultRow | None:
        rows = self.table.selected_rows() or (self.compare.rows[:1] if self.compare.rows else [])
        rows = [r for r in rows if r.kind == "learned"] if learned_only else rows
        if not rows:
            cand = [r for r in self.rows_for() if not learned_only or r.kind == "learned"]
            rows = cand[-1:]
        return rows[0] if rows else None

    def _save_name(self, title, default_name, filt) -> str | None:
        start = str(Path(self.settings.last_folder or Path.home()) / default_name)
        path, _ = QFileDialog.getSaveFileName(self, title, start, filt)
        if path:
            self.settings.last_folder = str(Path(path).parent)
        return path or None

    def _stem(self, row=None) -> str:
        img = self.current_image()
        base = Path(img.name).stem if img else "result"
        if row is not None:
            base += f"_{row.curve}_{row.setting.replace(' ', '').replace('λ=', 'lam').replace('(matched)', 'm')}"
        return base

    def _guard(self, fn, *args, **kwargs):
        try:
            out = fn(*args, **kwargs)
            self.statusBar().showMessage(f"Saved {out if not isinstance(out, list) else f'{len(out)} files'}", 6000)
            return out
        except FileExistsError as exc:
            self.show_error("exists", str(exc))
        except Exception as exc:
            from .workers import describe_error

            self.show_error(*describe_error(exc))
        return None

    def export_bitstream(self):
        from . import export

        row = self._selected_or_latest()
        if row is None:
            return
        path = self._save_name("Save bitstream", self._stem(row) + row.ext, f"Bitstream (*{row.ext});;All files (*)")
        if path:
            self._guard(export.export_bitstream, row, path, overwrite=True)

    def export_recon(self):
        from . import export

        row = self._selected_or_latest()
        if row is None:
            return
        path = self._save_name("Save reconstruction", self._stem(row) + ".png", "PNG (*.png)")
        if path:
            self._guard(export.export_recon, row, path, overwrite=True)

    def export_results(self, fmt: str):
        from . import export

        path = self._save_name(f"Save results as {fmt.upper()}", self._stem() + f"_results.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if path:
            names = {k: e.name for k, e in self.images.items()}
            fn = export.export_csv if fmt == "csv" else export.export_json
            self._guard(fn, self.results.rows, path, overwrite=True, image_names=names)

    def export_plot(self, fmt: str):
        from . import export

        path = self._save_name(f"Save RD plot as {fmt.upper()}", self._stem() + f"_rd.{fmt}", f"{fmt.upper()} (*.{fmt})")
        if path:
            self._guard(export.export_plot, self.rd.plot, path, overwrite=True)

    def export_gif(self):
        from . import export

        model = self.decode_view.model
        if not model.steps:
            self.statusBar().showMessage("No decode to export yet", 5000)
            return
        path = self._save_name("Save decode-order animation", self._stem() + "_decode.gif", "GIF (*.gif)")
        if path:
            self._export_job("Decode-order GIF", export.export_gif, model, path, overwrite=True,
                             speed=self.decode_view.speed_value())

    def export_frames(self):
        from . import export

        model = self.decode_view.model
        if not model.steps:
            return
        folder = QFileDialog.getExistingDirectory(self, "Folder for the PNG frames", self.settings.last_folder)
        if not folder:
            return
        clash = [p for p in Path(folder).glob("decode_*.png")]
        overwrite = False
        if clash:
            ans = QMessageBox.question(self, "Replace frames?", f"{len(clash)} decode_*.png files are already in {folder}. Replace them?")
            if ans != QMessageBox.Yes:
                return
            overwrite = True
        self._export_job("Decode-order frames", export.export_frames, model, folder, overwrite=overwrite)

    def _export_job(self, title, fn, *args, **kwargs) -> FuncJob:
        job = FuncJob(title, fn, *args, **kwargs)
        job.signals.result.connect(lambda j, out: self.statusBar().showMessage(
            f"Saved {out if not isinstance(out, list) else f'{len(out)} frames'}", 6000))
        return self.queue.submit(job)

    # ------------------------------------------------------------------------------------------
    def grab_png(self, path) -> None:
        """Screenshot of the window (used by `make screenshot`)."""
        self.grab().save(str(path), "PNG")
