"""Exports: bitstreams, reconstructions, results tables, the RD plot, the decode-order animation.

Every writer refuses to replace an existing file unless ``overwrite=True`` (the GUI passes True
only after the user confirmed in the save dialog) and writes atomically via ``core.images``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from core.images import save_png_atomic, write_atomic

from .workers import ResultRow

FIELDS = ["codec", "setting", "bytes", "bpp", "psnr", "ms_ssim", "encode_ms", "decode_ms"]


def _check(path, overwrite: bool) -> Path:
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another name or confirm replacing it")
    return path


def export_bitstream(row: ResultRow, path, overwrite: bool = False) -> Path:
    """The exact bytes the codec produced (.wcs for learned results)."""
    write_atomic(_check(path, overwrite), row.data, overwrite=overwrite)
    return Path(path)


def export_recon(row: ResultRow, path, overwrite: bool = False) -> Path:
    save_png_atomic(row.recon, _check(path, overwrite), overwrite=overwrite)
    return Path(path)


def rows_table(rows, image_names: dict | None = None) -> list[dict]:
    out = []
    for r in rows:
        d = {"image": (image_names or {}).get(r.image_key, r.image_key)}
        d.update(r.table_dict())
        d["variant"] = r.variant or r.curve
        out.append(d)
    return out


def csv_bytes(rows, image_names=None) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["image"] + FIELDS + ["variant"], lineterminator="\n")
    w.writeheader()
    for d in rows_table(rows, image_names):
        w.writerow(d)
    return buf.getvalue().encode()


def export_csv(rows, path, overwrite: bool = False, image_names=None) -> Path:
    write_atomic(_check(path, overwrite), csv_bytes(rows, image_names), overwrite=overwrite)
    return Path(path)


def export_json(rows, path, overwrite: bool = False, image_names=None) -> Path:
    data = json.dumps({"results": rows_table(rows, image_names)}, indent=2, allow_nan=True).encode()
    write_atomic(_check(path, overwrite), data, overwrite=overwrite)
    return Path(path)


def export_plot(plot_widget, path, overwrite: bool = False, width: int = 1200) -> Path:
    """The RD plot (a pyqtgraph PlotWidget) as PNG or SVG, by the file's extension. GUI thread only.

    SVG goes through Qt's own QSvgGenerator: pyqtgraph's SVGExporter fails on this Qt's path output.
    """
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgGenerator

    path = _check(path, overwrite)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"plot export needs a .png or .svg name, not {path.name}")
    scene = plot_widget.scene()
    src = QRectF(plot_widget.viewport().rect())
    if suffix == ".png":
        scale = width / max(src.width(), 1)
        img = QImage(int(src.width() * scale), int(src.height() * scale), QImage.Format_ARGB32)
        img.fill(0xFFFFFFFF)
        p = QPainter(img)
        p.setRenderHint(QPainter.Antialiasing)
        scene.render(p, QRectF(img.rect()), src)
        p.end()
        from .imaging import from_qimage

        save_png_atomic(from_qimage(img), path, overwrite=overwrite)
        return path
    buf = QByteArrayBuffer()
    gen = QSvgGenerator()
    gen.setOutputDevice(buf.device)
    gen.setSize(QSize(int(src.width()), int(src.height())))
    gen.setViewBox(src)
    gen.setTitle("RD curves")
    p = QPainter(gen)
    scene.render(p, src, src)
    p.end()
    write_atomic(path, buf.bytes(), overwrite=overwrite)
    return path


class QByteArrayBuffer:
    """An in-memory QIODevice (so the file is written atomically afterwards)."""

    def __init__(self):
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        self.array = QByteArray()
        self.device = QBuffer(self.array)
        self.device.open(QIODevice.WriteOnly)

    def bytes(self) -> bytes:
        self.device.close()
        return bytes(self.array.data())


def export_gif(model, path, overwrite: bool = False, speed: float = 1.0) -> Path:
    """Decode-order animation as an animated GIF (safe in a worker thread)."""
    from .decode_order import gif_bytes

    path = _check(path, overwrite)
    write_atomic(path, gif_bytes(model, speed=speed), overwrite=overwrite)
    return path


def export_frames(model, folder, overwrite: bool = False) -> list[Path]:
    """Decode-order animation as numbered PNG frames in a folder (safe in a worker thread)."""
    from .decode_order import render_frame
    from .imaging import from_qimage

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = [folder / f"decode_{k:03d}.png" for k in range(len(model.steps))]
    clash = [p for p in names if p.exists()]
    if clash and not overwrite:
        raise FileExistsError(f"{clash[0]} already exists ({len(clash)} frame files in the way); choose an empty folder")
    for k, p in enumerate(names):
        save_png_atomic(from_qimage(render_frame(model, k)), p, overwrite=overwrite)
    return names
