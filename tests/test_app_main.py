"""Start-up, settings between runs, the headless self-test, and the entry point."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import SAMPLE_IMAGE

ROOT = Path(__file__).resolve().parent.parent


def test_starts_without_weights_with_sample_notice_and_classical_result(qtbot, tmp_path, monkeypatch):
    """No weights installed: the sample still loads, classical codecs run, a non-modal notice says why."""
    from app.main_window import MainWindow
    from app.workers import CodecProvider

    monkeypatch.setenv("WCS_WEIGHTS_DIR", str(tmp_path))  # an empty weights folder
    win = MainWindow(CodecProvider(demo=False))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.ready, timeout=60_000):
        win.start_up(load_sample=True)
    assert win.notice.isVisible() and "not" in win.notice_label.text() and "installed" in win.notice_label.text()
    assert win.last_error is None  # a notice, not a dialog
    assert win.panel.variant()[1].startswith("no weights")
    names = [win.panel.codec_list.item(i).data(256) for i in range(win.panel.codec_list.count())]
    assert "jpeg" in names and "webp" in names
    # the first screen shows a result: the sample, compressed by the default classical codecs
    qtbot.waitUntil(lambda: len(win.results.rows) >= 2 and not win.queue.busy, timeout=60_000)
    assert win.current_image().name == SAMPLE_IMAGE.name
    assert {r.curve for r in win.results.rows} == {"jpeg", "webp"}
    assert win.first_result_s is not None
    assert win.device_label.text().startswith("Device: CPU")
    # the demo button switches the learned variants on, with a learned result
    win.demo_btn.click()
    assert not win.notice.isVisible() and win.panel.variant() == ("phase5", "")
    win.queue.cancel_all()
    win.queue.wait(30_000)


def test_settings_are_remembered_between_runs(qtbot, demo_provider, tmp_path):
    from app.main_window import MainWindow

    first = MainWindow(demo_provider)
    qtbot.addWidget(first)
    first.show()
    with qtbot.waitSignal(first.ready, timeout=60_000):
        first.start_up(load_sample=False)
    first.panel.set_chosen_codecs(["webp"])
    first.panel.set_lambda(0.05)
    first.panel.set_choices(2, "standard", False)
    first.panel.refine.setValue(30)
    first.settings.last_folder = str(tmp_path)
    first.resize(1010, 690)
    first.jobs_dock.hide()
    first.close()

    second = MainWindow(demo_provider)
    qtbot.addWidget(second)
    with qtbot.waitSignal(second.ready, timeout=60_000):
        second.start_up(load_sample=False)
    assert second.panel.chosen_codecs() == ["webp"]
    assert second.panel.lam() == pytest.approx(0.05)
    assert second.panel.variant()[0] == "phase5-2g"
    assert second.panel.refine_steps() == 30
    assert second.settings.last_folder == str(tmp_path)
    assert second.settings.layout()[0] is not None  # geometry saved (the offscreen screen clamps sizes)
    assert second.height() == 690
    assert second.jobs_dock.isHidden() and not second.panel_dock.isHidden()
    second.close()


def test_a_screenshot_window_leaves_the_users_layout_alone(qtbot, demo_provider):
    from app.main_window import MainWindow

    first = MainWindow(demo_provider)
    qtbot.addWidget(first)
    first.resize(1010, 690)
    first.close()
    saved = first.settings.layout()[0]
    assert saved is not None

    shot = MainWindow(demo_provider)
    qtbot.addWidget(shot)
    shot.fixed_layout = True  # what --screenshot sets
    shot.resize(1400, 900)
    shot.close()
    assert shot.settings.layout()[0] == saved


def _run(*args, env=None, timeout=240):
    e = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=timeout)


def test_selftest_without_weights_fails_with_one_clear_line(tmp_path):
    out = _run("--selftest", env={"WCS_WEIGHTS_DIR": str(tmp_path)})
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("selftest FAILED:") and "phase5" in lines[0]
    assert "Traceback" not in out.stderr


def test_selftest_with_demo_model_round_trips():
    out = _run("--selftest", "--demo")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "round trip exact" in out.stdout and "selftest OK" in out.stdout
    assert "jpeg" in out.stdout and "bpp" in out.stdout


def test_version_flag():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.startswith("wcs-studio ")


def test_none_refcount_workaround_keeps_painting_alive(qtbot):
    """PySide6 6.12.0 on CPython 3.11 drops a reference to None per void Qt call (see app.qtfix);
    the app must survive far more such calls than None's natural count."""
    import app.qtfix as qtfix
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    qtbot.addWidget(w)
    if qtfix.leaks_none() and sys.version_info < (3, 12):
        assert qtfix._APPLIED and sys.getrefcount(None) > 1 << 40
    for _ in range(50_000):  # several times None's natural reference count
        w.update()
    assert sys.getrefcount(None) > 0
