"""`python -m app` / `wcs-studio`: start Wavelet Codec Studio (or run its headless self-test)."""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # start-up is measured from here (before Qt and torch load)

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


def parse_args(argv=None):
    from . import version

    p = argparse.ArgumentParser(prog="wcs-studio", description="Compare learned and classical image codecs.")
    p.add_argument("images", nargs="*", help="images, folders or .wcs files to open")
    p.add_argument("--device", choices=("cpu", "cuda"), help="where the learned codec runs (default: CUDA when present)")
    p.add_argument("--selftest", action="store_true",
                   help="headless: load the weights, encode and decode the sample, print figures, exit 0/1")
    p.add_argument("--demo", action="store_true",
                   help="use tiny untrained models for the learned variants (code paths and decode order only)")
    p.add_argument("--no-sample", action="store_true", help="start without the bundled sample photo")
    p.add_argument("--screenshot", metavar="PNG", help="compress, sweep, save a PNG of the window, and exit")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    return p.parse_args(argv)


def selftest(device: str | None, demo: bool) -> int:
    """Everything the window does for one image, without a window. Exit status 0 = all good."""
    from . import SAMPLE_IMAGE

    try:
        import numpy as np

        from core import baselines, metrics
        from core.codec import DEFAULT_LAMBDA, DEFAULT_VARIANT, decode, load_codec, make_test_codec
        from core.images import load_image

        dev = device or "cpu"
        t = time.perf_counter()
        codec = make_test_codec(DEFAULT_VARIANT) if demo else load_codec(DEFAULT_VARIANT, dev)
        load_ms = (time.perf_counter() - t) * 1e3
        rgb = load_image(SAMPLE_IMAGE)
        enc = codec.encode(rgb, lam=DEFAULT_LAMBDA)
        dec = codec.decode(enc.data) if demo else decode(enc.data, device=dev)
        exact = bool(np.array_equal(dec.image, enc.recon))
        ps, ms = metrics.psnr(rgb, dec.image), metrics.ms_ssim(rgb, dec.image)
        print(f"sample     {SAMPLE_IMAGE.name} {rgb.shape[1]}x{rgb.shape[0]}")
        print(f"variant    {codec.variant}{' (untrained demo)' if demo else ''} on {codec.device}, loaded in {load_ms:.0f} ms")
        print(f"learned    λ={DEFAULT_LAMBDA:g}: {enc.nbytes} bytes, {enc.bpp:.4f} bpp, PSNR {ps:.2f} dB, "
              f"MS-SSIM {ms:.4f}, encode {enc.timings['total']:.0f} ms, decode {dec.timings['total']:.0f} ms")
        print(f"decode     {len(dec.trace)} trace steps; round trip {'exact' if exact else 'MISMATCH'}")
        for c in baselines.all_codecs():
            if c.name not in ("jpeg", "webp") or not c.available()[0]:
                continue
            q, data, bpp = baselines.match_bpp(c, rgb, enc.bpp)
            rec = c.decode(data)
            print(f"{c.name:<10} matched q={q}: {len(data)} bytes, {bpp:.4f} bpp, PSNR {metrics.psnr(rgb, rec):.2f} dB")
        print(f"codecs     {_codec_round_trips(baselines, rgb[:64, :64])}")
        if not exact:
            print("selftest FAILED: the decoder did not reproduce the encoder's reconstruction")
            return 1
        from . import APP_NAME, version

        print(f"selftest OK ({APP_NAME} {version()})")
        return 0
    except Exception as exc:  # one line, not a traceback: this is what CI and users read
        print(f"selftest FAILED: {exc}")
        return 1


def _codec_round_trips(baselines, crop) -> str:
    """Encode and decode a small crop with every other classical codec: proves each one's compiled
    library loads (what a bundle can miss). One entry per codec: "name ok" or "name unavailable (why)"."""
    out = []
    for c in baselines.all_codecs():
        if c.name in ("jpeg", "webp"):
            continue
        ok, why = c.available()
        if not ok:
            out.append(f"{c.name} unavailable ({why.split(';')[0]})")
            continue
        try:
            q = c.default_sweep[len(c.default_sweep) // 2]
            rec = c.decode(c.encode(crop, q))
            out.append(f"{c.name} ok" if rec.shape == crop.shape else f"{c.name} FAILED (shape {rec.shape})")
        except Exception as exc:  # reported, not fatal: the learned codec is what the self-test gates on
            out.append(f"{c.name} FAILED ({exc})")
    return ", ".join(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.selftest:
        return selftest(args.device, args.demo)

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from . import APP_NAME, ICON, ORG_NAME, version
    from .main_window import MainWindow
    from .workers import CodecProvider

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(version())
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))  # every window and the About box use it
    win = MainWindow(CodecProvider(demo=args.demo), device=args.device, t_start=_T0)
    win.show()
    _install_excepthook(win)
    if os.environ.get("WCS_TIMINGS"):  # benchmarks/bench_gui.py reads these lines
        _report_timings(app, win)
    QTimer.singleShot(0, lambda: win.start_up(load_sample=not args.no_sample and not args.images))
    if args.images:
        QTimer.singleShot(0, lambda: (win.add_paths(args.images), setattr(win, "_auto_compress", True)))
    if args.screenshot:
        _screenshot_flow(app, win, args.screenshot)
    return app.exec()


def _install_excepthook(win):
    """A bug in a slot becomes a dialog and the app keeps running (never a silent death)."""
    import traceback

    def hook(exc_type, exc, tb):
        traceback.print_exception(exc_type, exc, tb)
        try:
            win.show_error("internal", f"{exc_type.__name__}: {exc}")
        except Exception:  # pragma: no cover - the dialog itself failed: the trace is on stderr
            pass

    sys.excepthook = hook


def _report_timings(app, win):
    from PySide6.QtCore import QTimer

    def shown():
        print(f"WCS_TIMING window_shown {time.perf_counter() - _T0:.3f}", flush=True)

    def first(_row):
        if getattr(win, "_timing_done", False):
            return
        win._timing_done = True
        app.processEvents()  # the result is painted before we call it shown
        print(f"WCS_TIMING first_result {time.perf_counter() - _T0:.3f}", flush=True)
        if os.environ.get("WCS_EXIT_AFTER_FIRST_RESULT"):
            win.queue.cancel_all()
            QTimer.singleShot(0, app.quit)

    QTimer.singleShot(0, shown)  # runs once the event loop has shown the window
    win.result_added.connect(first)


def _screenshot_flow(app, win, path):
    """Compress the sample, sweep, then save the window (and its decode-order tab) and quit."""
    from pathlib import Path

    from PySide6.QtCore import QTimer

    state = {"swept": False, "saved": False}
    # The same picture on every machine: not the user's saved layout, nor a small default screen's.
    win.fixed_layout = True
    win.setMinimumSize(1400, 900)
    win.resize(1400, 900)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def save():
        if state["saved"]:
            return
        state["saved"] = True
        win.tabs.setCurrentWidget(win.compare)
        app.processEvents()
        win.grab_png(path)
        win.tabs.setCurrentWidget(win.decode_view)
        four = [r for r in win.rows_for() if r.variant == "phase5" and r.decode_trace]
        if four:  # the 4-group decode is the one stakeholders should see
            win.decode_view.show_row(min(four, key=lambda r: abs(r.value - win.panel.lam())))
        win.decode_view.goto(len(win.decode_view.model.steps) // 2)  # mid-decode: some groups lit, some not
        app.processEvents()
        second = path.with_name(path.stem + "-decode" + path.suffix)
        win.grab_png(second)
        print(f"saved {path} and {second}")
        app.quit()

    def idle():
        if win.info is None or not win.results.rows:
            return
        if not state["swept"]:
            state["swept"] = True
            jobs = win.sweep() + win.decode_race()
            if jobs:
                return
        QTimer.singleShot(800, save)

    win.queue.idle.connect(lambda: QTimer.singleShot(300, idle))
    QTimer.singleShot(590_000, save)  # never hang a build: save whatever is there


if __name__ == "__main__":
    sys.exit(main())
