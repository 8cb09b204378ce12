"""Error dialogs: one clear line of what went wrong and what to do; never modal loops in tests."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

ADVICE = {
    "image": "Pick a file Pillow can read (PNG, JPEG, WebP, TIFF, BMP, GIF, AVIF/HEIC with the plugin...), "
             "or re-export it from your image editor.",
    "bitstream": "This .wcs file is damaged or was not written by Wavelet Codec Studio. "
                 "Re-encode the original image.",
    "weights": "Install the shipped weights into the weights/ folder (see README), "
               "or use the untrained demo models to explore the app.",
    "device": "The GPU could not run this job. Retry on the CPU.",
    "exists": "Choose another file name, or confirm replacing the file.",
    "codec": "Check the codec settings; classical codecs need their libraries installed.",
    "memory": "Try a smaller image, or close other programs.",
    "internal": "This is a bug in Wavelet Codec Studio. The app keeps running; please report what you did.",
}

TITLES = {
    "image": "Cannot open image", "bitstream": "Cannot decode file", "weights": "Weights not installed",
    "device": "Device problem", "exists": "File exists", "codec": "Codec error", "memory": "Out of memory",
    "internal": "Unexpected error",
}


def error_dialog(parent: QWidget | None, kind: str, message: str, retry_cpu=None) -> QMessageBox:
    """Show a non-blocking (window-modal) message box and return it.

    ``retry_cpu``: a callable offered as a "Retry on CPU" button (for CUDA out-of-memory).
    """
    box = QMessageBox(parent)
    box.setObjectName(f"error-{kind}")
    box.setIcon(QMessageBox.Warning if kind in ("exists", "weights") else QMessageBox.Critical)
    box.setWindowTitle(TITLES.get(kind, "Error"))
    box.setText(message[:1].upper() + message[1:] if message else TITLES.get(kind, "Error"))
    box.setInformativeText(ADVICE.get(kind, ""))
    box.setStandardButtons(QMessageBox.Close)
    if retry_cpu is not None:
        btn = box.addButton("Retry on CPU", QMessageBox.AcceptRole)
        btn.clicked.connect(retry_cpu)
        box.setDefaultButton(btn)
    box.setAttribute(Qt.WA_DeleteOnClose, False)  # the window keeps it as last_error for tests
    box.open()  # window-modal and returns at once: the event loop (and workers' signals) keep running
    return box
