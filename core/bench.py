"""`python -m core bench`: every codec at a sweep of settings over every image.

Writes into --out (created if needed; resumed when it already holds a bench run):
  rows.csv        one row per (codec, image, setting): bytes, bpp, PSNR, PSNR-Y, MS-SSIM, times
  curves/X.json   per codec, averaged over the images, in CompressAI's eval_model layout
  bd_rate.md      BD-rate / BD-PSNR of every codec against the anchor (PCHIP, on the averaged curves)
  rd.png          the RD plot (PSNR and MS-SSIM in dB against bpp)
  bench.json      what was run (settings, versions of the classical codecs' options, unavailable codecs)
Every file is replaced atomically; a folder that is not a bench run is never written into.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import WcsError
from .images import load_image, write_atomic

LEARNED = ("phase5", "phase5-light", "phase5-2g", "phase5-cb", "phase4")
DEFAULT_CODECS = ("jpeg", "jpeg444", "webp", "avif", "heic", "jxl", "hevc", "vvc", "phase5", "phase4")
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp"}
FIELDS = ("codec", "image", "setting", "bytes", "bpp", "psnr", "psnr_y", "ms_ssim", "ms_ssim_scales",
          "encode_ms", "decode_ms", "width", "height", "source")
MANIFEST = "bench.json"


@dataclass
class Entry:
    """One codec as the bench sees it: settings to sweep and a function that runs one setting."""

    name: str
    label: str
    setting_name: str
    settings: list
    run: object = None  # (rgb, setting) -> (nbytes, recon, encode_ms, decode_ms)
    reason: str = ""  # why it is unavailable ("" when available)
    details: dict = field(default_factory=dict)


def _classical(name: str, settings, device=None) -> Entry:
    from .baselines import get_codec

    c = get_codec(name)
    ok, why = c.available()
    e = Entry(name, c.label, c.setting_name, list(settings or c.default_sweep), reason="" if ok else why)
    if ok:
        e.details = c.describe(e.settings[0])

        def run(rgb, q):
            t0 = time.perf_counter()
            data = c.encode(rgb, int(q))
            t1 = time.perf_counter()
            recon = c.decode(data)
            return len(data), recon, (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3
        e.run = run
    return e


def _learned(name: str, settings, device: str) -> Entry:
    e = Entry(name, f"{name} (learned)", "lambda", list(settings or []))
    try:
        from .codec import LAMBDAS, load_codec

        codec = load_codec(name, device)
    except Exception as exc:  # weights missing, or core.codec not importable yet
        e.reason = str(exc) or type(exc).__name__
        e.settings = e.settings or [0.0025, 0.0035, 0.0067, 0.013, 0.025, 0.05]
        return e
    e.settings = e.settings or list(LAMBDAS)

    def run(rgb, lam):
        t0 = time.perf_counter()
        enc = codec.encode(rgb, lam=float(lam))
        t1 = time.perf_counter()
        dec = codec.decode(enc.data)
        return len(enc.data), dec.image, (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3
    e.run = run
    return e


def resolve(names, settings: dict | None = None, device: str = "cpu") -> list[Entry]:
    settings = settings or {}
    return [(_learned if n in LEARNED else _classical)(n, settings.get(n), device) for n in names]


def list_images(specs) -> dict[str, Path]:
    """Folders (their images, sorted) and files -> {file name: path}; names must be unique."""
    out: dict[str, Path] = {}
    for spec in specs:
        p = Path(spec)
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXT) if p.is_dir() else [p]
        for f in files:
            if not f.exists():
                raise WcsError(f"no such image: {f}")
            if f.name in out and out[f.name] != f:
                raise WcsError(f"two images are named {f.name} ({out[f.name]} and {f}); rename one")
            out[f.name] = f
    if not out:
        raise WcsError("no images given (or the folders hold no .png/.jpg/... files)")
    return out


def _key(codec, image, setting) -> tuple:
    return codec, image, f"{float(setting):.6g}"


# ---- outputs --------------------------------------------------------------------------------

def _read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = list(csv.DictReader(path.read_text().splitlines()))
    for r in rows:
        for k in ("setting", "bpp", "psnr", "psnr_y", "ms_ssim", "encode_ms", "decode_ms"):
            r[k] = float(r[k]) if r.get(k) not in (None, "") else float("nan")
        for k in ("bytes", "width", "height", "ms_ssim_scales"):
            r[k] = int(float(r[k])) if r.get(k) not in (None, "") else 0
    return rows


def _csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue().encode()


def curves(rows: list[dict], n_images: int | None = None) -> dict[str, dict]:
    """Per codec, per setting, the mean over images; only settings every image has (or n_images)."""
    from .metrics import ms_ssim_db

    by: dict[str, dict[float, list[dict]]] = {}
    for r in rows:
        by.setdefault(r["codec"], {}).setdefault(float(r["setting"]), []).append(r)
    out = {}
    for codec, per in by.items():
        need = n_images or max(len(v) for v in per.values())
        pts = sorted((s, v) for s, v in per.items() if len(v) >= need)
        if not pts:
            continue
        mean = lambda k, v: float(np.mean([r.get(k, math.nan) for r in v]))  # noqa: E731
        res = {"setting": [s for s, _ in pts], "bpp": [mean("bpp", v) for _, v in pts],
               "psnr-rgb": [mean("psnr", v) for _, v in pts], "psnr-y": [mean("psnr_y", v) for _, v in pts],
               "ms-ssim-rgb": [mean("ms_ssim", v) for _, v in pts],
               "encoding_time": [mean("encode_ms", v) / 1e3 for _, v in pts],
               "decoding_time": [mean("decode_ms", v) / 1e3 for _, v in pts]}
        res["ms-ssim-db"] = [ms_ssim_db(x) for x in res["ms-ssim-rgb"]]
        out[codec] = {"name": codec, "results": res, "images": need}
    return out


def bd_table(cs: dict[str, dict], anchor: str) -> str:
    from .metrics import bd_psnr, bd_rate

    a = cs[anchor]["results"]
    lines = [f"BD metrics against **{anchor}** (PCHIP, on the image-averaged curves; negative BD-rate = fewer bits)",
             "", "| codec | BD-rate PSNR (%) | BD-PSNR (dB) | BD-rate MS-SSIM dB (%) | points | bpp range |",
             "|---|---|---|---|---|---|"]
    for name, c in cs.items():
        r = c["results"]
        cells = []
        for fn, key in ((bd_rate, "psnr-rgb"), (bd_psnr, "psnr-rgb"), (bd_rate, "ms-ssim-db")):
            if any(math.isnan(v) for v in a[key] + r[key]):
                cells.append("n/a (not measured)")
                continue
            try:
                cells.append(f"{fn(a['bpp'], a[key], r['bpp'], r[key]):+.2f}")
            except WcsError as exc:
                cells.append("n/a (" + str(exc).split(":")[0].split(";")[0] + ")")
        lines.append(f"| {name} | {' | '.join(cells)} | {len(r['bpp'])} | {min(r['bpp']):.3f}–{max(r['bpp']):.3f} |")
    return "\n".join(lines) + "\n"


def rd_plot_png(cs: dict[str, dict], title: str = "") -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # headless; core never touches Qt
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5), dpi=110)
    for i, (key, ylabel) in enumerate((("psnr-rgb", "PSNR RGB (dB)"), ("ms-ssim-db", "MS-SSIM (dB)"))):
        ax = fig.add_subplot(1, 2, i + 1)
        for name, c in cs.items():
            r = c["results"]
            ax.plot(r["bpp"], r[key], marker="o", ms=3, label=name)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@dataclass
class BenchResult:
    out_dir: Path
    rows: list[dict]
    curves: dict
    unavailable: dict[str, str]
    anchor: str | None
    cancelled: bool = False


def _prepare_out(out: Path, fresh: bool) -> None:
    if out.exists() and not out.is_dir():
        raise WcsError(f"{out} is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise WcsError(f"{out} is not empty and holds no bench run ({MANIFEST}); choose a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    if fresh and (out / "rows.csv").exists():
        (out / "rows.csv").unlink()


def run_bench(images, codecs, out_dir, settings: dict | None = None, anchor: str | None = None,
              imports=(), device: str = "cpu", fresh: bool = False, progress=None, cancel=None,
              with_ms_ssim: bool = True) -> BenchResult:
    """Run (or resume) a bench. ``progress(done, total, text)`` and ``cancel() -> bool`` are optional.

    ``images``: folders and/or files. ``codecs``: names (classical or learned) or Entry objects.
    Unavailable codecs are listed in the result (and bench.json) and skipped. ``with_ms_ssim=False``
    leaves MS-SSIM empty (NaN): on a slow CPU it costs more than most encoders.
    """
    from .baselines.external import import_results
    from .metrics import ms_ssim, ms_ssim_scales, psnr, psnr_y

    out = Path(out_dir)
    files = list_images(images if isinstance(images, (list, tuple)) else [images])
    entries = [c if isinstance(c, Entry) else None for c in codecs]
    names = [c for c in codecs if not isinstance(c, Entry)]
    resolved = iter(resolve(names, settings, device))
    entries = [e or next(resolved) for e in entries]
    _prepare_out(out, fresh)

    imported = [r for f in imports for r in import_results(f, files)]
    import_sources = {r["source"] for r in imported}
    rows = [r for r in _read_rows(out / "rows.csv") if r.get("source") not in import_sources] + imported
    done = {_key(r["codec"], r["image"], r["setting"]) for r in rows}
    runnable = [e for e in entries if e.run]
    unavailable = {e.name: e.reason for e in entries if not e.run}
    manifest = {"tool": "wcs-bench", "version": 1, "images": sorted(files),
                "codecs": {e.name: {"label": e.label, "setting_name": e.setting_name, "settings": e.settings,
                                    **e.details} for e in runnable},
                "unavailable": unavailable, "imports": [str(f) for f in imports]}
    write_atomic(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode(), overwrite=True)

    todo = [(e, name, s) for name in files for e in runnable for s in e.settings  # image-major: load each once
            if _key(e.name, name, s) not in done]
    total, count, cancelled = len(todo), 0, False
    if progress:
        progress(0, total, f"{len(done)} results already done" if done else "starting")
    cache: dict[str, np.ndarray] = {}
    for e, name, s in todo:
        if cancel and cancel():
            cancelled = True
            break
        if name not in cache:
            cache.clear()
            cache[name] = load_image(files[name])
        rgb = cache[name]
        nbytes, recon, enc_ms, dec_ms = e.run(rgb, s)
        h, w = rgb.shape[:2]
        rows.append({"codec": e.name, "image": name, "setting": float(s), "bytes": nbytes,
                     "bpp": 8.0 * nbytes / (h * w), "psnr": psnr(rgb, recon), "psnr_y": psnr_y(rgb, recon),
                     "ms_ssim": ms_ssim(rgb, recon) if with_ms_ssim else math.nan,
                     "ms_ssim_scales": ms_ssim_scales(h, w),
                     "encode_ms": enc_ms, "decode_ms": dec_ms, "width": w, "height": h, "source": "bench"})
        write_atomic(out / "rows.csv", _csv_bytes(rows), overwrite=True)  # every result survives a crash
        count += 1
        if progress:
            progress(count, total, f"{e.name} {e.setting_name} {s:g} {name}")
    write_atomic(out / "rows.csv", _csv_bytes(rows), overwrite=True)
    return _finish(out, rows, entries, anchor, unavailable, cancelled, len(files))


def _finish(out, rows, entries, anchor, unavailable, cancelled, n_images) -> BenchResult:
    cs = curves([r for r in rows if r["image"]], None)
    order = [e.name for e in entries if e.name in cs] + sorted(set(cs) - {e.name for e in entries})
    cs = {k: cs[k] for k in order}
    labels = {e.name: e for e in entries}
    (out / "curves").mkdir(exist_ok=True)
    for name, c in cs.items():
        e = labels.get(name)
        res = dict(c["results"])
        res[e.setting_name if e else "setting"] = res.pop("setting")
        doc = {"name": name, "description": f"{e.label if e else name}; mean over {c['images']} images; "
                                            f"bpp from the real encoded bytes",
               "results": res}
        write_atomic(out / "curves" / f"{name}.json", (json.dumps(doc, indent=2) + "\n").encode(), overwrite=True)
    if anchor is None:
        anchor = "vvc" if "vvc" in cs else next(iter(cs), None)
    if anchor is not None and anchor not in cs:
        raise WcsError(f"anchor {anchor!r} has no results; codecs with results: {', '.join(cs) or 'none'}")
    if cs:
        md = bd_table(cs, anchor)
        if unavailable:
            md += "\nUnavailable here:\n\n" + "".join(f"- {k}: {v}\n" for k, v in unavailable.items())
        write_atomic(out / "bd_rate.md", md.encode(), overwrite=True)
        write_atomic(out / "rd.png", rd_plot_png(cs, f"{n_images} images"), overwrite=True)
    return BenchResult(out, rows, cs, unavailable, anchor, cancelled)


def _parse_settings(items) -> dict:
    out = {}
    for item in items or []:
        name, _, vals = item.partition("=")
        try:
            out[name.strip()] = [float(v) if "." in v else int(v) for v in vals.split(",") if v.strip()]
        except ValueError:
            raise WcsError(f"--settings {item!r}: expected CODEC=V1,V2,...") from None
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core bench", description=__doc__.splitlines()[0])
    p.add_argument("--images", nargs="+", required=True, help="folders and/or image files")
    p.add_argument("--codecs", default=",".join(DEFAULT_CODECS), help="comma-separated (default: %(default)s)")
    p.add_argument("--out", required=True, help="results folder (resumed if it holds a bench run)")
    p.add_argument("--settings", action="append", metavar="CODEC=V1,V2,...", help="override a codec's sweep")
    p.add_argument("--anchor", help="BD-rate anchor (default: vvc if it ran, else the first codec)")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="FILE",
                   help="results computed elsewhere (CSV/JSON: image, setting, bytes[, codec, decoded])")
    p.add_argument("--vvencapp", help="path to VVenC's vvencapp")
    p.add_argument("--vvdecapp", help="path to VVdeC's vvdecapp")
    p.add_argument("--device", default="cpu", help="for the learned codecs")
    p.add_argument("--fresh", action="store_true", help="discard this folder's earlier results")
    p.add_argument("--no-ms-ssim", action="store_true", help="skip MS-SSIM (the slowest metric on CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    a = p.parse_args(argv)

    from .baselines import configure

    if a.vvencapp or a.vvdecapp:
        configure(a.vvencapp, a.vvdecapp)
    names = [c.strip() for c in a.codecs.split(",") if c.strip()]
    bar = None

    def progress(done, total, text):
        nonlocal bar
        if a.quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="enc", file=sys.stderr, dynamic_ncols=True)
        bar.n = done
        bar.set_postfix_str(text[-50:])
        bar.refresh()

    try:
        res = run_bench(a.images, names, a.out, _parse_settings(a.settings), a.anchor, a.imports,
                        a.device, a.fresh, progress, with_ms_ssim=not a.no_ms_ssim)
    except KeyboardInterrupt:
        print("\ninterrupted: finished results are kept; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    for name, why in res.unavailable.items():
        print(f"unavailable: {name}: {why}", file=sys.stderr)
    print(f"{len(res.rows)} results in {res.out_dir}: rows.csv, curves/*.json, bd_rate.md, rd.png")
    if res.curves:
        print((res.out_dir / "bd_rate.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
