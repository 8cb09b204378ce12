"""Worker-thread jobs (QRunnable + signals), the job queue, and the codec provider.

The GUI thread only ever receives finished, plain data (``ResultRow``, ``TraceStep``, arrays) via
queued signals; every encode, decode, metric and file read runs in the pool. The pool has one
thread by design: jobs queue up in the order the user asked for them, and on a small CPU a second
concurrent codec would only slow both down and starve the GUI.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_ids = itertools.count(1)


# ----------------------------------------------------------------------------------------------
# plain data the GUI receives

@dataclass
class ImageEntry:
    key: str  # unique id of the image in this session (path, or "clipboard-N")
    name: str
    rgb: np.ndarray
    path: str | None = None
    thumb: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass
class ResultRow:
    image_key: str
    curve: str  # one RD curve per codec/variant: "phase5", "jpeg", ...
    codec_label: str
    setting: str  # human text: "λ=0.013", "quality 50"
    value: float  # the setting as a number (lambda or quality)
    kind: str  # "learned" | "classical"
    nbytes: int
    bpp: float
    psnr: float
    ms_ssim: float
    enc_ms: float
    dec_ms: float
    data: bytes = b""
    recon: np.ndarray | None = None
    heat: np.ndarray | None = None  # HxW float32 abs error, computed in the worker
    ext: str = ".bin"
    variant: str | None = None
    groups: int | None = None
    decode_trace: list = field(default_factory=list)
    encode_trace: list = field(default_factory=list)
    matched: bool = False
    id: int = field(default_factory=lambda: next(_ids))

    def table_dict(self) -> dict:
        return {
            "codec": self.codec_label, "setting": self.setting, "bytes": self.nbytes,
            "bpp": round(self.bpp, 5), "psnr": round(self.psnr, 4), "ms_ssim": round(self.ms_ssim, 6),
            "encode_ms": round(self.enc_ms, 2), "decode_ms": round(self.dec_ms, 2),
        }


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(kind, one-line message) for an exception from a job; kind picks the dialog's advice."""
    from core import errors as E

    kinds = [
        (E.CancelledError, "cancelled"), (E.ImageError, "image"), (E.BitstreamError, "bitstream"),
        (E.WeightsMissingError, "weights"), (E.DeviceError, "device"), (FileExistsError, "exists"),
        (E.WcsError, "codec"),
    ]
    for cls, kind in kinds:
        if isinstance(exc, cls):
            return kind, str(exc)
    if isinstance(exc, MemoryError):
        return "memory", "ran out of memory for this image"
    if type(exc).__name__ == "OutOfMemoryError":
        return "device", "the GPU ran out of memory for this image; retry on the CPU"
    return "internal", f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------------------------
# codec provider: shipped weights, or the tiny untrained models tests and demos use

class CodecProvider:
    """Hands out ``core.codec.Codec`` objects. ``demo=True`` uses ``make_test_codec`` (untrained)."""

    def __init__(self, demo: bool = False, demo_kwargs: dict | None = None):
        self.demo = demo
        self.demo_kwargs = demo_kwargs or {}
        self._cache: dict = {}
        self._lock = threading.Lock()

    def label(self, variant: str) -> str:
        return f"{variant} (untrained demo)" if self.demo else variant

    def availability(self) -> dict[str, str | None]:
        from core.codec import VARIANTS, available_variants

        if self.demo:
            return {v: None for v in VARIANTS}
        return available_variants()

    def get(self, variant: str, device: str = "cpu"):
        with self._lock:
            key = (variant, device, self.demo)
            if key not in self._cache:
                from core import codec

                if self.demo:
                    c = codec.make_test_codec(variant, **self.demo_kwargs)
                    if device != "cpu":
                        c = codec.Codec(c.model, c.model_id, c.weights_sha, device, variant)
                else:
                    c = codec.load_codec(variant, device)
                self._cache[key] = c
            return self._cache[key]

    def decode(self, data: bytes, on_step=None, cancel=None, device: str = "cpu"):
        from core import codec

        if self.demo:
            info = codec.read_info(data)
            return self.get(info["variant"], device).decode(data, on_step, cancel)
        return codec.decode(data, on_step=on_step, cancel=cancel, device=device)


# ----------------------------------------------------------------------------------------------
# jobs

class JobSignals(QObject):
    progress = Signal(object, int, int, str)  # job, done, total, message
    step = Signal(object, object)  # job, TraceStep (decoder's own events, as they happen)
    result = Signal(object, object)  # job, payload (ResultRow, ImageEntry, ...)
    failed = Signal(object, str, str)  # job, kind, message
    finished = Signal(object, str)  # job, "done" | "cancelled" | "failed"


class Job(QRunnable):
    """Base job: ``work()`` runs in the pool; ``check()`` raises CancelledError once cancelled."""

    title = "job"

    def __init__(self):
        super().__init__()
        self.setAutoDelete(False)  # the queue keeps a reference; Qt must not delete it under us
        self.id = next(_ids)
        self.signals = JobSignals()
        self._cancel = threading.Event()
        self.state = "queued"
        self.done, self.total = 0, 1

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            from core.errors import CancelledError

            raise CancelledError("cancelled by the user")

    def progress(self, done: int, total: int, msg: str = "") -> None:
        self.done, self.total = done, max(total, 1)
        self.signals.progress.emit(self, done, total, msg)

    def run(self) -> None:  # QRunnable entry point (pool thread)
        _background_priority()
        self.state = "running"
        outcome = "done"
        try:
            self.check()
            self.work()
        except BaseException as exc:  # nothing from a job may escape into Qt's thread
            kind, msg = describe_error(exc)
            if kind == "cancelled":
                outcome = "cancelled"
            else:
                outcome = "failed"
                if kind == "internal":
                    traceback.print_exc()
                self.signals.failed.emit(self, kind, msg)
        self.state = outcome
        self.signals.finished.emit(self, outcome)

    def work(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


_prio = threading.local()


def _background_priority() -> None:
    """Lower this pool thread's CPU priority (once), so the GUI thread wins the CPU when both want it.

    On a 2-core machine the codec's threads otherwise keep the GUI thread waiting for a core for tens
    of ms. On Linux the nice value is per thread and inherited by the threads PyTorch starts from it.
    """
    if getattr(_prio, "done", False):
        return
    _prio.done = True
    try:
        if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        else:
            from PySide6.QtCore import QThread

            QThread.currentThread().setPriority(QThread.LowPriority)
    except (OSError, AttributeError):  # not permitted here: run at normal priority
        pass


def _metrics(orig: np.ndarray, recon: np.ndarray) -> tuple[float, float, np.ndarray]:
    from core import metrics

    return metrics.psnr(orig, recon), metrics.ms_ssim(orig, recon), metrics.error_map(orig, recon, "abs")


class LoadImagesJob(Job):
    """Read image files (and folders' images) off the GUI thread."""

    title = "Open images"

    def __init__(self, paths):
        super().__init__()
        self.paths = [str(p) for p in paths]

    def work(self) -> None:
        from core.images import load_image

        files = expand_paths(self.paths)
        if not files:
            from core.errors import ImageError

            raise ImageError("no image files found in what was dropped or opened")
        errors = []
        for i, p in enumerate(files):
            self.check()
            self.progress(i, len(files), Path(p).name)
            try:
                rgb = load_image(p)
            except Exception as exc:  # one bad file must not stop the others
                errors.append(describe_error(exc)[1])
                continue
            self.signals.result.emit(self, ImageEntry(str(Path(p).resolve()), Path(p).name, rgb, str(p), thumbnail(rgb)))
        self.progress(len(files), len(files))
        if errors:
            from core.errors import ImageError

            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ImageError(errors[0] + more)


def image_extensions() -> set[str]:
    from PIL import Image

    return {e.lower() for e in Image.registered_extensions()}


def expand_paths(paths, limit: int = 500) -> list[str]:
    """Files as given; folders expanded (recursively) to the image files Pillow can read."""
    exts = image_extensions()
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in exts)
            out.extend(str(f) for f in found)
        else:
            out.append(str(p))
    return out[:limit]


def thumbnail(rgb: np.ndarray, size: int = 96) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(rgb)
    im.thumbnail((size, size))
    return np.ascontiguousarray(np.asarray(im))


class WarmupJob(Job):
    """Import torch and core, and find out what this machine offers (variants, codecs, CUDA)."""

    title = "Start-up"

    def __init__(self, provider: CodecProvider):
        super().__init__()
        self.provider = provider

    def work(self) -> None:
        self.progress(0, 2, "loading PyTorch")
        import torch

        from core import baselines

        self.progress(1, 2, "checking codecs")
        codecs = []
        for c in baselines.all_codecs():
            ok, why = c.available()
            codecs.append((c.name, c.label, ok, why))
        info = {
            "variants": self.provider.availability(),
            "codecs": codecs,
            "cuda": bool(torch.cuda.is_available()),
            "cuda_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "",
        }
        self.progress(2, 2)
        self.signals.result.emit(self, info)


class LearnedJob(Job):
    """Encode with a learned variant, then decode the bytes (tracing every step) and measure."""

    def __init__(self, provider: CodecProvider, image: ImageEntry, variant: str, lam: float, device: str = "cpu",
                 refine: int = 0):
        super().__init__()
        self.provider, self.image, self.variant, self.lam, self.device = provider, image, variant, float(lam), device
        self.refine = int(refine)
        more = f" refine {self.refine}" if self.refine else ""
        self.title = f"{provider.label(variant)} λ={self.lam:g}{more} · {image.name}"

    def work(self) -> None:
        self.progress(0, 100, "loading model")
        codec = self.provider.get(self.variant, self.device)
        self.check()
        n_steps = [0]

        def on_enc(step):
            n_steps[0] += 1
            self.progress(min(45, 5 + n_steps[0] * 2), 100, f"encoding: {step.stage} {step.band or ''}")

        def on_refine(i, loss):
            self.progress(5 + int(35 * i / self.refine), 100, f"refining the latent: step {i} of {self.refine}")

        enc = codec.encode(self.image.rgb, lam=self.lam, on_step=on_enc, cancel=lambda: self.cancelled,
                           refine=self.refine, on_refine=on_refine)
        self.check()
        n_steps[0] = 0
        total_steps = max(len(enc.trace), 1)

        def on_dec(step):
            n_steps[0] += 1
            self.signals.step.emit(self, step)
            self.progress(50 + int(40 * n_steps[0] / total_steps), 100, f"decoding: {step.stage} {step.band or ''}")

        dec = codec.decode(enc.data, on_step=on_dec, cancel=lambda: self.cancelled)
        self.check()
        self.progress(92, 100, "measuring")
        ps, ms, heat = _metrics(self.image.rgb, dec.image)
        # A refined encode is another encoder of the same model: its own RD curve beside the plain one.
        curve, label, setting = self.variant, self.provider.label(self.variant), f"λ={self.lam:g}"
        if self.refine:
            curve, label, setting = f"{curve}+refine", f"{label} refined", f"{setting} refine {self.refine}"
        row = ResultRow(
            self.image.key, curve, label, setting, self.lam, "learned",
            enc.nbytes, enc.bpp, ps, ms, enc.timings.get("total", 0.0), dec.timings.get("total", 0.0),
            data=enc.data, recon=dec.image, heat=heat, ext=".wcs", variant=self.variant, groups=codec.groups,
            decode_trace=list(dec.trace), encode_trace=list(enc.trace),
        )
        self.progress(100, 100)
        self.signals.result.emit(self, row)


class ClassicalJob(Job):
    """Run one classical codec at one or more quality settings; one result per setting, as each ends."""

    def __init__(self, image: ImageEntry, codec_name: str, qualities):
        super().__init__()
        self.image, self.codec_name, self.qualities = image, codec_name, list(qualities)
        self.title = f"{codec_name} ×{len(self.qualities)} · {image.name}"

    def work(self) -> None:
        from core.baselines import get_codec

        codec = get_codec(self.codec_name)
        codec.check()
        n = len(self.qualities)
        for i, q in enumerate(self.qualities):
            self.check()
            self.progress(i, n, f"{codec.label} {codec.setting_name} {q}")
            self.signals.result.emit(self, run_classical(self.image, codec, q))
        self.progress(n, n)


def run_classical(image: ImageEntry, codec, q, data: bytes | None = None, matched: bool = False) -> ResultRow:
    t0 = time.perf_counter()
    if data is None:
        data = codec.encode(image.rgb, q)
    t1 = time.perf_counter()
    recon = codec.decode(data)
    t2 = time.perf_counter()
    ps, ms, heat = _metrics(image.rgb, recon)
    h, w = image.rgb.shape[:2]
    name = codec.setting_name.replace("_", " ")
    return ResultRow(
        image.key, codec.name, codec.label, f"{name} {q}" + (" (matched)" if matched else ""), float(q), "classical",
        len(data), 8.0 * len(data) / (w * h), ps, ms, (t1 - t0) * 1e3, (t2 - t1) * 1e3,
        data=data, recon=recon, heat=heat, ext=CODEC_EXT.get(codec.name, ".bin"), matched=matched,
    )


CODEC_EXT = {"jpeg": ".jpg", "jpeg444": ".jpg", "webp": ".webp", "avif": ".avif", "heic": ".heic",
             "jxl": ".jxl", "hevc": ".hevc", "vvc": ".266", "jpeg2000": ".jp2"}


class MatchBppJob(Job):
    """The classical codec's setting whose bpp lands closest to a learned result's bpp."""

    def __init__(self, image: ImageEntry, codec_name: str, target_bpp: float):
        super().__init__()
        self.image, self.codec_name, self.target = image, codec_name, float(target_bpp)
        self.title = f"{codec_name} matched to {self.target:.3f} bpp · {image.name}"

    def work(self) -> None:
        from core.baselines import get_codec, match_bpp

        codec = get_codec(self.codec_name)
        codec.check()
        self.progress(0, 2, f"searching {codec.setting_name}")
        q, data, _ = match_bpp(codec, self.image.rgb, self.target)
        self.check()
        self.progress(1, 2, "measuring")
        row = run_classical(self.image, codec, q, data=data, matched=True)
        self.progress(2, 2)
        self.signals.result.emit(self, row)


class DecodeFileJob(Job):
    """Decode a .wcs file the user opened (corrupt files end in a clear error, never a crash)."""

    def __init__(self, provider: CodecProvider, path: str, device: str = "cpu"):
        super().__init__()
        self.provider, self.path, self.device = provider, str(path), device
        self.title = f"decode {Path(path).name}"

    def work(self) -> None:
        from core.codec import read_info

        data = Path(self.path).read_bytes()
        info = read_info(data)  # validates magic, version, CRC before any model is touched
        self.groups = 0 if info["context"] == "raster" else int(info["groups"])  # read by the GUI on the first step
        self.variant = info["variant"]
        self.progress(0, 1, "decoding")
        dec = self.provider.decode(data, on_step=lambda s: self.signals.step.emit(self, s),
                                   cancel=lambda: self.cancelled, device=self.device)
        entry = ImageEntry(str(Path(self.path).resolve()), Path(self.path).name, dec.image, self.path, thumbnail(dec.image))
        self.progress(1, 1)
        self.signals.result.emit(self, (entry, info, dec))


class FuncJob(Job):
    """Run a plain function in the pool (exports, renders); its return value is the result."""

    def __init__(self, title: str, fn, *args, **kwargs):
        super().__init__()
        self.title, self.fn, self.args, self.kwargs = title, fn, args, kwargs

    def work(self) -> None:
        self.signals.result.emit(self, self.fn(*self.args, **self.kwargs))


# ----------------------------------------------------------------------------------------------
# the queue

class JobQueue(QObject):
    """Queues jobs on a one-thread pool; reports each job's and the overall progress; cancels."""

    job_added = Signal(object)
    job_changed = Signal(object)  # progress or state
    job_finished = Signal(object, str)
    overall = Signal(int, int)  # percent (0..100), active jobs
    idle = Signal()

    def __init__(self, parent=None, threads: int = 1):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.jobs: list[Job] = []  # queued or running
        self._ended = 0  # jobs finished since the queue was last idle (for the overall bar)

    def submit(self, job: Job) -> Job:
        if not self.jobs:
            self._ended = 0
        job.signals.progress.connect(self._on_progress)
        job.signals.finished.connect(self._on_finished)
        self.jobs.append(job)
        self.job_added.emit(job)
        self.pool.start(job)
        self._emit_overall()
        return job

    def cancel(self, job: Job) -> None:
        job.cancel()
        if job.state == "queued" and self.pool.tryTake(job):
            # never started: finish it here so listeners see it leave the queue
            job.state = "cancelled"
            self._on_finished(job, "cancelled")

    def cancel_all(self) -> None:
        for job in list(self.jobs):
            self.cancel(job)

    @property
    def busy(self) -> bool:
        return bool(self.jobs)

    def _on_progress(self, job, done, total, msg) -> None:
        self.job_changed.emit(job)
        self._emit_overall()

    def _on_finished(self, job, outcome) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
            self._ended += 1
        self.job_finished.emit(job, outcome)
        self._emit_overall()
        if not self.jobs:
            self.idle.emit()

    def _emit_overall(self) -> None:
        if not self.jobs:
            self.overall.emit(100, 0)
            return
        running = sum(min(j.done / max(j.total, 1), 1.0) for j in self.jobs)
        frac = (self._ended + running) / (self._ended + len(self.jobs))
        self.overall.emit(int(100 * frac), len(self.jobs))

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)
