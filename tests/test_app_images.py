"""Images in: drag-and-drop of files and folders, paste, recent files, and clear errors for bad input."""

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from tests.conftest import rgb_equal
from tests.helpers import sample_crop


def drop(win, paths):
    """Simulate the OS dragging files onto the window: enter, then drop."""
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(win.width() / 2, win.height() / 2)
    enter = QDragEnterEvent(pos, Qt.CopyAction, md, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    ev = QDropEvent(pos, Qt.CopyAction, md, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(win, ev)
    return ev


def test_drop_file_shows_it(qtbot, window, crop_png):
    with qtbot.waitSignal(window.image_added, timeout=20_000) as sig:
        ev = drop(window, [crop_png])
    assert ev.isAccepted()
    entry = sig.args[0]
    assert entry.name == "crop.png" and entry.rgb.shape == (48, 64, 3)
    assert rgb_equal(entry.rgb, sample_crop(48, 64))
    assert window.image_list.count() == 1
    assert window.current_image() is entry
    assert window.compare.original is entry.rgb  # the comparison shows it straight away
    assert str(crop_png) in window.settings.recent_files[0]


def test_drop_folder_loads_every_image_in_it(qtbot, window, tmp_path):
    folder = tmp_path / "shoot"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(sample_crop(40, 40)).save(folder / "a.png")
    Image.fromarray(sample_crop(40, 40, top=10)).save(folder / "sub" / "b.jpg", quality=90)
    (folder / "notes.txt").write_text("not an image")
    with qtbot.waitSignals([window.image_added, window.image_added], timeout=20_000):
        drop(window, [folder])
    names = sorted(window.image_list.item(i).data(Qt.UserRole) for i in range(window.image_list.count()))
    assert [Path(n).name for n in names] == ["a.png", "b.jpg"]
    assert window.last_error is None  # the text file was skipped (not an image extension), not an error


def test_corrupt_image_gets_a_dialog_and_the_app_lives_on(qtbot, window, tmp_path, crop_png):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    with qtbot.waitSignal(window.error_shown, timeout=20_000) as sig:
        drop(window, [bad])
    box = sig.args[0]
    assert box.isVisible()
    assert "broken.png" in box.text()
    assert box.objectName() == "error-image"
    assert "Pillow" in box.informativeText()  # says what to do, not just what failed
    assert window.image_list.count() == 0
    box.close()
    # the window still works
    with qtbot.waitSignal(window.image_added, timeout=20_000):
        drop(window, [crop_png])
    assert window.image_list.count() == 1


def test_unreadable_format_is_explained(qtbot, window, tmp_path):
    odd = tmp_path / "data.png"
    odd.write_bytes(b"this is plain text pretending to be a picture")
    with qtbot.waitSignal(window.error_shown, timeout=20_000) as sig:
        window.add_paths([odd])
    assert "not an image format Pillow recognises" in sig.args[0].text()


def test_paste_image_from_clipboard(qtbot, window):
    rgb = sample_crop(32, 48)
    img = QImage(rgb.data, 48, 32, 48 * 3, QImage.Format_RGB888).copy()
    QGuiApplication.clipboard().setImage(img)
    with qtbot.waitSignal(window.image_added, timeout=20_000) as sig:
        assert window.paste()
    entry = sig.args[0]
    assert entry.key.startswith("clipboard-")
    assert rgb_equal(entry.rgb, rgb)


def test_paste_file_path_from_clipboard(qtbot, window, crop_png):
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(crop_png))])
    QGuiApplication.clipboard().setMimeData(md)
    with qtbot.waitSignal(window.image_added, timeout=20_000) as sig:
        window.paste()
    assert sig.args[0].name == "crop.png"


def test_recent_files_menu_reopens(qtbot, window, crop_png):
    with qtbot.waitSignal(window.image_added, timeout=20_000):
        window.add_paths([crop_png])
    actions = [a for a in window.recent_menu.actions() if a.text() == str(crop_png)]
    assert len(actions) == 1 and window.recent_menu.isEnabled()
    with qtbot.waitSignal(window.image_added, timeout=20_000):
        actions[0].trigger()
    assert window.image_list.count() == 1  # the same file is not listed twice


def test_corrupt_bitstream_gets_a_dialog(qtbot, window, tmp_path):
    bad = tmp_path / "photo.wcs"
    bad.write_bytes(b"NOTAWCSFILE" + bytes(64))
    with qtbot.waitSignal(window.error_shown, timeout=20_000) as sig:
        window.add_paths([bad])
    box = sig.args[0]
    assert box.objectName() == "error-bitstream"
    assert "Re-encode" in box.informativeText()
    assert box.isVisible()


def test_truncated_bitstream_is_refused(qtbot, window, demo_provider, tmp_path):
    codec = demo_provider.get("phase5-2g")
    data = codec.encode(sample_crop(48, 64), lam=0.013).data
    p = tmp_path / "cut.wcs"
    p.write_bytes(data[: len(data) // 2])
    with qtbot.waitSignal(window.error_shown, timeout=30_000) as sig:
        window.add_paths([p])
    assert sig.args[0].objectName() == "error-bitstream"


def test_open_wcs_decodes_and_traces(qtbot, window, demo_provider, tmp_path):
    codec = demo_provider.get("phase5-2g")
    enc = codec.encode(sample_crop(48, 64), lam=0.013)
    p = tmp_path / "good.wcs"
    p.write_bytes(enc.data)
    with qtbot.waitSignal(window.image_added, timeout=30_000) as sig:
        window.add_paths([p])
    assert rgb_equal(sig.args[0].rgb, enc.recon)  # decoded exactly what the encoder reconstructed
    assert window.last_error is None


def test_from_qimage_owns_its_pixels(qapp):
    """A width with unpadded RGB888 rows (3*w % 4 == 0) used to return a view of a freed QImage."""
    from app.imaging import from_qimage, to_qimage

    for w, h in ((64, 48), (33, 7), (1, 1)):
        rgb = sample_crop(h, w)
        out = from_qimage(to_qimage(rgb).convertToFormat(QImage.Format_RGB32))
        assert out.flags.owndata and out.flags.c_contiguous and out.shape == (h, w, 3)
        # reuse the freed memory: other images of the same size, filled with another colour
        junk = [QImage(w, h, QImage.Format_RGB888) for _ in range(8)]
        for j in junk:
            j.fill(0x123456)
        assert np.array_equal(out, rgb)
