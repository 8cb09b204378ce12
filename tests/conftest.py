"""Shared fixtures for the app tests (pytest-qt, offscreen, settings in a temporary folder)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tests.helpers import sample_crop  # noqa: E402


@pytest.fixture(scope="session")
def qapp_args():
    return ["wcs-studio-tests"]


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Every test gets its own QSettings store, so no test sees another's (or the user's) settings."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder))
    yield folder


@pytest.fixture(scope="session")
def demo_provider():
    """Tiny untrained models (core.codec.make_test_codec): real code paths, fast. Shared so each
    variant is built once per session."""
    from app.workers import CodecProvider

    return CodecProvider(demo=True)


@pytest.fixture
def crop_png(tmp_path):
    path = tmp_path / "crop.png"
    Image.fromarray(sample_crop(48, 64)).save(path)
    return path


@pytest.fixture
def window(qtbot, demo_provider):
    """A started main window (codec checks done), no image loaded yet."""
    from app.main_window import MainWindow

    win = MainWindow(demo_provider)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.ready, timeout=60_000):
        win.start_up(load_sample=False)
    yield win
    win.queue.cancel_all()
    win.queue.wait(30_000)


def load_into(qtbot, win, path):
    with qtbot.waitSignal(win.image_added, timeout=20_000):
        jobs = win.add_paths([path])
    # The image arrives before its load job has left the queue: wait for that too, so a test that
    # counts job rows next sees only its own.
    qtbot.waitUntil(lambda: all(j.id not in win.job_rows for j in jobs), timeout=20_000)
    return win.current_image()


def rgb_equal(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))
