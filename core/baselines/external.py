"""Results computed elsewhere (VTM/VVC on a cluster, a paper's own numbers) read into bench rows.

Accepted: a CSV with a header row, or JSON (a list of objects, or {"rows": [...]}). Columns:
``image`` (file name), ``setting`` (or ``quality``/``qp``), ``bytes``; optional ``codec`` (else the
``codec`` argument), ``decoded`` (a PNG path, relative to the results file), ``width``/``height``
(else read from the original image), and ``psnr``/``ms_ssim`` when no decoded PNG is given.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import WcsError
from ..images import load_image

SETTING_KEYS = ("setting", "quality", "qp", "lambda")


def read_table(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise WcsError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WcsError(f"{path.name} is not valid JSON ({exc})") from None
        rows = data.get("rows") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise WcsError(f"{path.name}: expected a list of rows or {{\"rows\": [...]}}")
        return rows
    return list(csv.DictReader(text.splitlines()))


def import_results(path: str | Path, originals: dict[str, Path] | None = None, codec: str | None = None) -> list[dict]:
    """Rows in the bench's layout (codec, image, setting, bytes, bpp, psnr, ms_ssim, ...)."""
    from ..metrics import ms_ssim, psnr, psnr_y

    path = Path(path)
    originals = originals or {}
    out = []
    for n, r in enumerate(read_table(path), start=2):
        where = f"{path.name} row {n}"
        name = r.get("image")
        key = next((k for k in SETTING_KEYS if r.get(k) not in (None, "")), None)
        if not name or key is None or r.get("bytes") in (None, ""):
            raise WcsError(f"{where}: needs image, setting (or quality/qp) and bytes")
        row = {"codec": r.get("codec") or codec or path.stem, "image": Path(name).name,
               "setting": float(r[key]), "bytes": int(float(r["bytes"])), "source": str(path)}
        orig = originals.get(row["image"])
        ref = load_image(orig) if orig else None
        if r.get("width") and r.get("height"):
            w, h = int(r["width"]), int(r["height"])
        elif ref is not None:
            h, w = ref.shape[:2]
        else:
            raise WcsError(f"{where}: no width/height and the original {row['image']} is not among the images")
        row.update(width=w, height=h, bpp=8.0 * row["bytes"] / (w * h))
        if r.get("decoded"):
            dec = load_image(path.parent / r["decoded"])
            if ref is None:
                raise WcsError(f"{where}: a decoded image is given but the original {row['image']} is not")
            if dec.shape != ref.shape:
                raise WcsError(f"{where}: decoded image is {dec.shape[1]}x{dec.shape[0]}, original {w}x{h}")
            row.update(psnr=psnr(ref, dec), psnr_y=psnr_y(ref, dec), ms_ssim=ms_ssim(ref, dec))
        else:
            for k in ("psnr", "psnr_y", "ms_ssim"):
                row[k] = float(r[k]) if r.get(k) not in (None, "") else float("nan")
            if row["psnr"] != row["psnr"]:
                raise WcsError(f"{where}: give either a decoded PNG or a psnr value")
        out.append(row)
    return out
