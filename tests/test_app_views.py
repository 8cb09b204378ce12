"""Widgets on their own: comparison sync, decode-order playback, RD hover, variant panel, exports."""

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from app.compare_view import CompareView, SplitItem
from app.decode_order import DecodeOrderModel, DecodeOrderView, gif_bytes
from app.rd_plot import RDPlot, monotone_envelope
from app.results_table import ResultsModel, ResultsTable
from app.variant_panel import LAMBDAS, VariantPanel, lambda_to_slider, slider_to_lambda
from app.workers import ResultRow
from core.results import TraceStep
from tests.helpers import sample_crop


def row(curve="jpeg", bpp=0.5, psnr=30.0, ms=0.95, kind="classical", value=50, image="img", recon=None, **kw):
    h, w = 48, 64
    recon = sample_crop(h, w) if recon is None else recon
    n = int(bpp * h * w / 8)
    return ResultRow(image, curve, curve.upper(), f"quality {value}", value, kind, n, bpp, psnr, ms, 3.0, 2.0,
                     data=b"x" * n, recon=recon, heat=np.abs(recon.astype("f4") - sample_crop(h, w)).mean(2), **kw)


def synthetic_trace(groups=4, grid=(2, 3)):
    steps = [TraceStep(0, "hyper", None, None, None, 0, 10, 5.0)]
    for band in ("LL", "LH", "HL", "HH"):
        if groups:
            for g in range(1, groups + 1):
                steps.append(TraceStep(len(steps), "latent", band, g, None, 1, 4, 2.0 + g, grid))
        else:
            for r in range(grid[0]):
                steps.append(TraceStep(len(steps), "latent", band, None, r, grid[1], None, 1.0, grid))
    steps.append(TraceStep(len(steps), "synthesis", None, None, None, 0, None, 7.0))
    return steps


# ---- comparison ---------------------------------------------------------------------------------

@pytest.fixture
def compare(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    orig = sample_crop(48, 64)
    view.set_original(orig)
    noisy = np.clip(orig.astype(int) + 9, 0, 255).astype(np.uint8)
    view.set_rows([row("jpeg", recon=noisy), row("webp", bpp=0.6)])
    return view


def test_zoom_and_pan_stay_in_sync(qtbot, compare):
    assert len(compare.panes) == 3
    a, b, c = compare.panes
    a.zoom_by(2.0)
    assert b.zoom() == pytest.approx(a.zoom()) and c.zoom() == pytest.approx(a.zoom())
    compare.set_zoom(8.0)
    a.horizontalScrollBar().setValue(a.horizontalScrollBar().value() + 40)  # a drag pans via the scroll bars
    assert b.center().x() == pytest.approx(a.center().x(), abs=1.0)
    compare.one_btn.click()
    assert all(p.zoom() == pytest.approx(1.0) for p in compare.panes)
    compare.fit_btn.click()
    z = a.zoom()
    assert z > 1.0 and all(p.zoom() == pytest.approx(z) for p in compare.panes)  # a 64x48 crop fits enlarged


def test_fit_follows_resizes_until_the_user_zooms(qtbot, compare):
    compare.fit_btn.click()
    z0 = compare.panes[0].zoom()
    compare.resize(1400, 900)
    qtbot.waitUntil(lambda: compare.panes[0].zoom() > z0 * 1.2, timeout=10_000)  # still fitted, now bigger
    compare.panes[0].zoom_by(1.5)  # the user zooms: resizing no longer changes the zoom
    z1 = compare.panes[0].zoom()
    compare.resize(900, 600)
    qtbot.wait(50)
    assert compare.panes[0].zoom() == pytest.approx(z1)


def test_wheel_zooms_all_panes(qtbot, compare):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    a, b, _ = compare.panes
    before = a.zoom()
    vp = a.viewport()
    ev = QWheelEvent(QPointF(50, 50), QPointF(vp.mapToGlobal(QPoint(50, 50))), QPoint(0, 0), QPoint(0, 120),
                     Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)
    assert a.zoom() == pytest.approx(before * 1.25)
    assert b.zoom() == pytest.approx(a.zoom())


def test_split_mode_and_heat_map(qtbot, compare):
    compare.set_mode("Split")
    assert len(compare.panes) == 1 and isinstance(compare.panes[0].item, SplitItem)
    assert compare.split.isVisible() and compare.a_combo.count() == 3
    compare.split.setValue(250)
    assert compare.panes[0].item.frac == pytest.approx(0.25)
    compare.b_combo.setCurrentIndex(0)  # B = the original
    assert "B: Original" in compare.panes[0].caption
    compare.set_mode("Error map")
    assert len(compare.panes) == 2 and compare.scale.isVisible()
    assert "max 9" in compare.panes[0].caption  # |noisy - original| = 9 levels everywhere (unclipped)
    img = compare.panes[0].item.pixmap().toImage()
    assert img.width() == 64 and img.pixelColor(10, 10) != img.pixelColor(10, 10).fromRgb(0, 0, 0)


# ---- decode order ---------------------------------------------------------------------------------

def test_decode_order_model_groups_and_rows():
    m = DecodeOrderModel(synthetic_trace(4, (4, 6)), groups=4)
    assert len(m) == 18 and len(m.latent_steps) == 16
    ll = m.decoded_at["LL"]
    assert ll[0, 0] == 1 and ll[0, 1] == 2 and ll[1, 0] == 3 and ll[1, 1] == 4  # the 1 2 / 3 4 lattice
    p4 = DecodeOrderModel(synthetic_trace(0, (3, 5)), groups=0)
    assert p4.phase4 and (p4.decoded_at["HH"][2] == 1 + 3 * 3 + 2).all()
    assert "row 0" in p4.describe(1) and "group 1/4" in m.describe(1)


def test_decode_order_playback(qtbot):
    view = DecodeOrderView()
    qtbot.addWidget(view)
    view.resize(900, 650)
    view.show()
    model = DecodeOrderModel(synthetic_trace(2, (2, 2)), groups=2, label="test")
    view.set_model(model, k=0)
    view.fwd_btn.click()
    view.fwd_btn.click()
    assert view.k == 2
    view.back_btn.click()
    assert view.k == 1
    view.speed.setCurrentIndex(4)  # 4x
    view.play_btn.click()
    assert view.playing and view.play_btn.text().startswith("⏸")
    qtbot.waitUntil(lambda: view.k == len(model.steps) - 1, timeout=10_000)
    qtbot.waitUntil(lambda: not view.playing, timeout=5_000)
    view.restart_btn.click()
    assert view.k == 0
    view.play_btn.click()
    view.play_btn.click()  # pause
    assert not view.playing
    img = view.canvas.grab().toImage()
    assert img.width() > 300  # it painted


def test_decode_gif_has_one_frame_per_step(qapp, tmp_path):  # qapp: painting text needs one
    from app import export

    model = DecodeOrderModel(synthetic_trace(4, (2, 2)), groups=4, label="gif")
    data = gif_bytes(model)
    assert data[:6] == b"GIF89a"
    path = tmp_path / "decode.gif"
    export.export_gif(model, path)
    with Image.open(path) as im:
        assert im.n_frames == len(model.steps)
    with pytest.raises(FileExistsError):
        export.export_gif(model, path)  # never overwrite silently
    frames = export.export_frames(model, tmp_path / "frames")
    assert len(frames) == len(model.steps) and all(p.exists() for p in frames)
    with pytest.raises(FileExistsError):
        export.export_frames(model, tmp_path / "frames")


def test_rendering_frames_without_an_application_is_a_clear_error():
    """Without a QGuiApplication Qt would abort the whole process on the first text it draws."""
    import subprocess
    import sys

    code = ("from app.decode_order import DecodeOrderModel, render_frame\n"
            "from core.results import TraceStep\n"
            "m = DecodeOrderModel([TraceStep(0, 'hyper', None, None, None, 0, 10, 5.0)], groups=4)\n"
            "try:\n    render_frame(m, 0)\nexcept RuntimeError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "refused: rendering decode frames needs" in out.stdout


def test_race_widget_compares_decode_times(qtbot):
    view = DecodeOrderView()
    qtbot.addWidget(view)
    rows = [row("phase5", kind="learned", variant="phase5", groups=4, decode_trace=synthetic_trace(4)),
            row("phase4", kind="learned", variant="phase4", groups=0, decode_trace=synthetic_trace(0))]
    rows[0].dec_ms, rows[1].dec_ms = 20.0, 200.0
    view.set_race(rows)
    assert view.race.entries["phase5"][0] == 20.0 and view.race.entries["phase4"][0] == 200.0
    assert "phase5-2g" not in view.race.entries


# ---- RD plot ---------------------------------------------------------------------------------------

def test_rd_plot_hover_finds_the_point(qtbot):
    plot = RDPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 500)
    plot.show()
    a = row("jpeg", bpp=0.5, psnr=30)
    b = row("jpeg", bpp=1.0, psnr=34)
    plot.add_row(a)
    plot.add_row(b)
    qtbot.wait(50)
    vb = plot.plot.getPlotItem().vb
    sp = vb.mapViewToScene(QPointF(1.0, 34))
    plot.hover(sp)
    assert plot.hovered is b and plot.hover_text.isVisible()
    assert "1.0000 bpp" in plot.hover_text.toPlainText()
    plot.hover(QPointF(-500, -500))
    assert plot.hovered is None and not plot.hover_text.isVisible()


def test_monotone_envelope_drops_points_that_do_not_improve():
    assert monotone_envelope([0.5, 1.0, 0.7, 1.0], [30, 34, 29, 33]) == ([0.5, 1.0], [30, 34])


# ---- table -----------------------------------------------------------------------------------------

def test_table_sorts_numerically_and_copies(qtbot):
    model = ResultsModel()
    table = ResultsTable(model)
    qtbot.addWidget(table)
    for q, bpp in ((95, 10.0), (60, 2.0), (30, 0.9)):  # three settings (one setting is one row)
        model.add(row("jpeg", bpp=bpp, value=q))
    table.sortByColumn(3, Qt.AscendingOrder)
    assert [table.proxy.index(i, 3).data() for i in range(3)] == ["0.9000", "2.0000", "10.0000"]
    table.selectRow(1)
    text = table.copy_selection()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == text
    assert text.splitlines()[1].split("\t")[3] == "2.0000"


# ---- variant panel ---------------------------------------------------------------------------------

def test_variant_panel_maps_choices_to_variants(qtbot):
    from core.codec import LAMBDAS as CORE_LAMBDAS

    assert LAMBDAS == tuple(CORE_LAMBDAS)
    panel = VariantPanel()
    qtbot.addWidget(panel)
    assert panel.variant()[0] == "phase5"
    panel.set_choices(4, "light", False)
    assert panel.variant()[0] == "phase5-light"
    panel.set_choices(2, "standard", False)
    assert panel.variant()[0] == "phase5-2g"
    panel.set_choices(4, "off", False)
    assert panel.variant()[0] == "phase5-cb"
    panel.set_choices(1, "standard", False)
    name, why = panel.variant()
    assert name is None and "no shipped variant" in why
    panel.phase4.setChecked(True)
    assert panel.variant()[0] == "phase4" and not panel.context.isEnabled()
    panel.set_availability({"phase4": "no weights installed for phase4"})
    assert panel.variant() == ("phase4", "no weights installed for phase4")
    assert "not installed" in panel.variant_label.text()


def test_lambda_slider_covers_the_six_values_and_between(qtbot):
    panel = VariantPanel()
    qtbot.addWidget(panel)
    for lam in LAMBDAS:
        assert slider_to_lambda(lambda_to_slider(lam)) == pytest.approx(lam)
    panel.lam_slider.setValue(0)
    assert panel.lam() == pytest.approx(0.0025)
    panel.lam_slider.setValue(panel.lam_slider.maximum())
    assert panel.lam() == pytest.approx(0.05)
    panel.lam_slider.setValue(35)  # halfway between 0.013 and 0.025 on a log scale
    assert 0.013 < panel.lam() < 0.025
    panel.lam_combo.setCurrentIndex(1)
    panel.lam_combo.activated.emit(1)
    assert panel.lam() == pytest.approx(0.0035)


def test_device_choice_respects_cuda_availability(qtbot):
    panel = VariantPanel()
    qtbot.addWidget(panel)
    panel.set_cuda(False)
    assert not panel.set_device("cuda") and panel.device_name() == "cpu"
    panel.set_cuda(True, "Fake GPU")
    assert panel.set_device("cuda") and panel.device_name() == "cuda"


def test_codec_list_shows_unavailable_ones_disabled(qtbot):
    panel = VariantPanel()
    qtbot.addWidget(panel)
    panel.set_codecs([("jpeg", "JPEG", True, ""), ("vvc", "VVC", False, "vvencapp not found")], ["jpeg", "vvc"])
    assert panel.chosen_codecs() == ["jpeg"]
    assert "unavailable" in panel.codec_list.item(1).text()


# ---- exports ---------------------------------------------------------------------------------------

def test_exports_write_once_and_refuse_to_overwrite(qtbot, tmp_path):
    from app import export

    r = row("jpeg")
    export.export_bitstream(r, tmp_path / "a.jpg")
    assert (tmp_path / "a.jpg").read_bytes() == r.data
    export.export_recon(r, tmp_path / "a.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), r.recon)
    export.export_csv([r, row("webp")], tmp_path / "r.csv", image_names={"img": "kodim.png"})
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0].startswith("image,codec,setting,bytes,bpp") and lines[1].startswith("kodim.png,JPEG")
    export.export_json([r], tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["bpp"] == pytest.approx(0.5)
    for p, fn in ((tmp_path / "a.jpg", lambda p: export.export_bitstream(r, p)),
                  (tmp_path / "a.png", lambda p: export.export_recon(r, p)),
                  (tmp_path / "r.csv", lambda p: export.export_csv([r], p))):
        before = p.read_bytes()
        with pytest.raises(FileExistsError):
            fn(p)
        assert p.read_bytes() == before
    export.export_csv([r], tmp_path / "r.csv", overwrite=True)  # after the user confirmed


def test_rd_plot_exports_png_and_svg(qtbot, tmp_path):
    from app import export

    plot = RDPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    plot.add_row(row("jpeg", bpp=0.5, psnr=30))
    plot.add_row(row("jpeg", bpp=1.0, psnr=34))
    export.export_plot(plot.plot, tmp_path / "rd.png")
    export.export_plot(plot.plot, tmp_path / "rd.svg")
    assert (tmp_path / "rd.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "rd.svg").read_bytes()[:2000]
    with pytest.raises(FileExistsError):
        export.export_plot(plot.plot, tmp_path / "rd.svg")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left behind


def test_a_rerun_of_the_same_setting_replaces_its_row_and_point(qtbot):
    model = ResultsModel()
    plot = RDPlot()
    qtbot.addWidget(plot)
    first, other = row("jpeg", bpp=0.5, value=50), row("jpeg", bpp=1.0, value=90)
    again = row("jpeg", bpp=0.5, psnr=30.5, value=50)  # the same codec and setting, computed again
    elsewhere = row("jpeg", bpp=0.5, value=50, image="other")
    for r in (first, other, again, elsewhere):
        model.add(r)
        if r.image_key == "img":
            plot.add_row(r)
    assert model.rows == [again, other, elsewhere]
    assert sorted(r.setting for r in plot.points["jpeg"]) == ["quality 50", "quality 90"]
    assert again in plot.points["jpeg"] and first not in plot.points["jpeg"]


def test_rd_plot_ms_ssim_db_axis_is_the_codec_libraries_scale(qtbot):
    plot = RDPlot()
    qtbot.addWidget(plot)
    plot.add_row(row("jpeg", bpp=0.5, ms=0.99, value=50))
    plot.add_row(row("jpeg", bpp=1.0, ms=0.999, value=90))
    plot.metric_combo.setCurrentText("MS-SSIM (dB)")
    rates, values = plot.curve_data("jpeg")
    assert list(rates) == [0.5, 1.0]
    assert values == pytest.approx([20.0, 30.0])  # -10 log10(1 - MS-SSIM), as core.bench reports it
    assert plot.plot.getAxis("left").labelText == "MS-SSIM (dB)"
