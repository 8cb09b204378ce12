"""Compression through the worker pool: table, RD plot, decode-order model, queue and cancel."""

import numpy as np
from PySide6.QtCore import Qt

from app import workers
from core.nn.masks import group_index_map
from tests.conftest import load_into


def wait_rows(qtbot, win, n, timeout=90_000):
    qtbot.waitUntil(lambda: len(win.rows_for()) >= n and not win.queue.busy, timeout=timeout)
    return win.rows_for()


def test_compress_fills_table_plot_compare_and_decode_order(qtbot, window, crop_png):
    window.panel.set_chosen_codecs(["jpeg", "webp"])
    image = load_into(qtbot, window, crop_png)
    jobs = window.compress()
    assert len(jobs) == 1  # the learned job; matched JPEG/WebP are queued when its bpp is known
    rows = wait_rows(qtbot, window, 3)
    learned = [r for r in rows if r.kind == "learned"]
    classical = [r for r in rows if r.kind == "classical"]
    assert len(learned) == 1 and {r.curve for r in classical} == {"jpeg", "webp"}
    row = learned[0]
    assert row.variant == "phase5" and row.groups == 4
    assert row.nbytes == len(row.data) and abs(row.bpp - 8 * row.nbytes / (64 * 48)) < 1e-9
    assert row.data[:3] == b"WCS" or len(row.data) > 0
    assert all(r.matched and r.setting.endswith("(matched)") for r in classical)
    # table: the current image's rows, formatted
    table = window.table
    assert table.proxy.rowCount() == 3
    texts = {table.proxy.index(i, 0).data() for i in range(3)}
    assert "JPEG 4:2:0" in texts and "WebP" in texts
    tsv = table.copy_selection()
    assert tsv.splitlines()[0].split("\t") == ["Codec", "Setting", "Bytes", "bpp", "PSNR (dB)", "MS-SSIM",
                                               "Encode ms", "Decode ms"]
    assert len(tsv.splitlines()) == 4
    # RD plot: one curve per codec, the point where the row says
    x, y = window.rd.curve_data("phase5")
    assert list(x) == [row.bpp] and abs(y[0] - row.psnr) < 1e-9
    plotted = window.rd.items["jpeg"].getData()
    assert len(plotted[0]) == 1
    # comparison: original + learned + the two classical reconstructions
    assert len(window.compare.panes) == 4
    assert window.compare.rows[0] is row
    # decode order, from the decoder's own trace
    model = window.decode_view.model
    stages = [s.stage for s in model.steps]
    assert stages[0] == "hyper" and stages[-1] == "synthesis" and stages.count("latent") == 16
    latent = model.latent_steps
    assert [(s.band, s.group) for s in latent[:4]] == [("LL", 1), ("LL", 2), ("LL", 3), ("LL", 4)]
    assert [s.band for s in latent[::4]] == ["LL", "LH", "HL", "HH"]
    for band, at in model.decoded_at.items():
        rows_, cols = at.shape
        gmap = group_index_map(4, rows_, cols)
        for s in (s for s in latent if s.band == band):
            mask = at == s.index
            assert mask.sum() == s.positions  # the cells lit by a step are exactly the ones it coded
            assert (gmap[mask] == s.group).all()
        assert (at >= 0).all()  # every position decoded by the end
    # the decode-time race knows about this variant
    assert window.decode_view.race.entries["phase5"][1] == 16
    assert image is window.current_image()


def test_phase4_decodes_row_by_row(qtbot, window, crop_png):
    window.panel.set_chosen_codecs([])
    window.panel.phase4.setChecked(True)
    assert window.panel.variant() == ("phase4", "")
    load_into(qtbot, window, crop_png)
    window.compress()
    rows = wait_rows(qtbot, window, 1)
    assert rows[0].groups == 0
    model = window.decode_view.model
    assert model.phase4
    for s in model.latent_steps:
        assert s.group is None and s.row is not None
        at = model.decoded_at[s.band]
        assert (at[s.row] == s.index).all() and s.positions == at.shape[1]
    ll = [s.row for s in model.latent_steps if s.band == "LL"]
    assert ll == sorted(ll) == list(range(len(ll)))  # raster order, top to bottom


def test_two_groups_light_up_as_a_checkerboard(qtbot, window, crop_png):
    window.panel.set_chosen_codecs([])
    window.panel.set_choices(2, "standard", False)
    load_into(qtbot, window, crop_png)
    window.compress()
    wait_rows(qtbot, window, 1)
    model = window.decode_view.model
    assert model.groups == 2
    at = model.decoded_at["HL"]
    first = [s.index for s in model.latent_steps if s.band == "HL" and s.group == 1][0]
    i, j = np.indices(at.shape)
    assert ((at == first) == ((i + j) % 2 == 0)).all()


def test_live_steps_reach_the_view_while_decoding(qtbot, window, crop_png):
    window.panel.set_chosen_codecs([])
    load_into(qtbot, window, crop_png)
    seen = []
    window.compress()
    job = window.queue.jobs[0]
    job.signals.step.connect(lambda j, s: seen.append((s.index, len(window.decode_view.model.steps))))
    wait_rows(qtbot, window, 1)
    assert [i for i, _ in seen] == list(range(18))
    assert all(n == i + 1 for i, n in seen)  # the view had each step as it arrived, not at the end


def test_cancel_really_stops_the_running_job_and_the_queue(qtbot, window, crop_png, monkeypatch):
    window.panel.set_chosen_codecs([])
    window.panel.phase4.setChecked(True)
    # The running job waits, once decoding, until it is cancelled: otherwise a fast machine could
    # finish the small crop before the click lands, and the test would race the worker.
    report = workers.LearnedJob.progress

    def held(job, done, total, msg=""):
        if msg.startswith("decoding"):
            job._cancel.wait(30)
        report(job, done, total, msg)

    monkeypatch.setattr(workers.LearnedJob, "progress", held)
    load_into(qtbot, window, crop_png)
    jobs = window.sweep()
    assert len(jobs) == 6 and window.queue.busy
    running = jobs[0]
    assert len(window.job_rows) == 6  # one progress bar per job
    qtbot.waitUntil(lambda: running.state == "running", timeout=30_000)
    finished = {}
    window.queue.job_finished.connect(lambda j, outcome: finished.__setitem__(j.id, outcome))
    with qtbot.waitSignal(window.queue.idle, timeout=60_000):
        window.cancel_all_btn.click()
    assert all(finished[j.id] == "cancelled" for j in jobs)
    assert running.state == "cancelled"  # the running encode stopped at its next step
    assert window.rows_for() == []
    assert window.job_rows == {}
    assert window.overall_bar.value() == 100 and not window.cancel_all_btn.isEnabled()


def test_cancel_one_queued_job_keeps_the_others(qtbot, window, crop_png):
    window.panel.set_chosen_codecs(["jpeg"])
    window.panel.auto_match.setChecked(False)
    load_into(qtbot, window, crop_png)
    jobs = window.compress()  # learned + JPEG at its default quality
    assert len(jobs) == 2
    window.job_rows[jobs[1].id].cancel.click()
    assert jobs[1].state == "cancelled"
    rows = wait_rows(qtbot, window, 1)
    assert [r.kind for r in rows] == ["learned"]


def test_sweep_draws_curves_and_bd_rates(qtbot, window, crop_png):
    window.panel.set_chosen_codecs(["jpeg", "webp"])
    window.panel.phase4.setChecked(True)  # no learned variant available in the panel's choices...
    window.panel.availability["phase4"] = "no weights installed for phase4"  # ...pretend it is not installed
    load_into(qtbot, window, crop_png)
    jobs = window.sweep()
    assert {type(j).__name__ for j in jobs} == {"ClassicalJob"}
    rows = wait_rows(qtbot, window, 12)
    assert len(rows) == 12
    x, y = window.rd.curve_data("webp")
    assert len(x) == 6 and list(x) == sorted(x)
    bd = window.rd.bd_rates()
    assert bd["jpeg"] == "anchor" and bd["webp"].endswith("%")
    assert window.rd.bd_table.rowCount() == 2
    window.rd.set_anchor("webp")
    assert window.rd.bd_rates()["webp"] == "anchor"
    assert window.rd.bd_table.item(0, 2).text().endswith("%") or window.rd.bd_table.item(1, 2).text().endswith("%")
    # MS-SSIM axis: same points, other values
    window.rd.metric_combo.setCurrentText("MS-SSIM")
    x2, y2 = window.rd.curve_data("webp")
    assert list(x2) == list(x) and (y2 <= 1).all()


def test_match_bpp_lands_near_the_learned_rate(qtbot, window, crop_png):
    window.panel.set_chosen_codecs(["webp"])
    window.panel.auto_match.setChecked(False)
    load_into(qtbot, window, crop_png)
    window.compress()
    rows = wait_rows(qtbot, window, 2)
    learned = [r for r in rows if r.kind == "learned"][0]
    jobs = window.match_bpp()
    assert len(jobs) == 1
    rows = wait_rows(qtbot, window, 3)
    matched = [r for r in rows if r.matched][0]
    unmatched = [r for r in rows if r.kind == "classical" and not r.matched][0]
    assert abs(matched.bpp - learned.bpp) <= abs(unmatched.bpp - learned.bpp)


def test_decode_race_runs_three_variants(qtbot, window, crop_png):
    window.panel.set_chosen_codecs([])
    load_into(qtbot, window, crop_png)
    jobs = window.decode_race()
    assert [j.variant for j in jobs] == ["phase5", "phase5-2g", "phase4"]
    assert window.tabs.currentWidget() is window.decode_view
    wait_rows(qtbot, window, 3, timeout=180_000)
    entries = window.decode_view.race.entries
    assert set(entries) == {"phase5", "phase5-2g", "phase4"}
    assert entries["phase5"][1] == 16 and entries["phase5-2g"][1] == 8
    assert entries["phase4"][1] == sum(1 for s in [r for r in window.rows_for() if r.variant == "phase4"][0].decode_trace
                                       if s.stage == "latent")
    assert window.decode_view.source.count() == 3


def test_device_error_offers_cpu_retry(qtbot, window, crop_png):
    image = load_into(qtbot, window, crop_png)
    from app.workers import LearnedJob

    job = LearnedJob(window.provider, image, "phase5-2g", 0.013, "cuda")
    window._job_failed(job, "device", "the GPU ran out of memory for this image; retry on the CPU")
    box = window.last_error
    retry = [b for b in box.buttons() if b.text() == "Retry on CPU"]
    assert box.isVisible() and len(retry) == 1
    retry[0].click()
    assert window.queue.jobs and window.queue.jobs[-1].device == "cpu"
    wait_rows(qtbot, window, 1)
    assert window.rows_for()[0].variant == "phase5-2g"


def test_compare_shows_the_learned_result_at_the_panels_lambda(qtbot, window, crop_png):
    """After a sweep adds other lambdas, the comparison keeps the result at the panel's lambda."""
    window.panel.set_chosen_codecs([])
    image = load_into(qtbot, window, crop_png)
    lam = window.panel.lam()
    window.compress()
    wait_rows(qtbot, window, 1)
    other = 0.05 if abs(lam - 0.05) > 1e-9 else 0.0025
    window._learned(image, window.panel.variant()[0], other)
    rows = wait_rows(qtbot, window, 2)
    assert {round(r.value, 6) for r in rows} == {round(lam, 6), round(other, 6)}
    window._update_compare()
    assert abs(window.compare.rows[0].value - lam) < 1e-9


def test_refined_encodes_get_their_own_curve_and_decode_like_any_file(qtbot, window, crop_png, monkeypatch):
    messages = []
    report = workers.LearnedJob.progress
    monkeypatch.setattr(workers.LearnedJob, "progress",
                        lambda self, done, total, msg="": (messages.append(msg), report(self, done, total, msg)))
    window.panel.set_chosen_codecs([])
    load_into(qtbot, window, crop_png)
    window.compress()
    wait_rows(qtbot, window, 1)
    window.panel.refine.setValue(3)
    assert window.panel.refine_steps() == 3 and window.panel.refine.text() == "3 steps"
    assert len(window.compress()) == 1
    rows = wait_rows(qtbot, window, 2)
    plain, refined = sorted((r for r in rows if r.kind == "learned"), key=lambda r: r.curve)
    assert (plain.curve, refined.curve) == ("phase5", "phase5+refine")
    assert refined.setting == f"λ={window.panel.lam():g} refine 3" and refined.codec_label.endswith("refined")
    assert refined.variant == "phase5" and refined.decode_trace  # the ordinary decoder, traced as usual
    assert set(window.rd.points) >= {"phase5", "phase5+refine"}
    assert any("refining the latent" in m for m in messages)
    window.panel.refine.setValue(0)
    assert window.panel.refine.text() == "off"
