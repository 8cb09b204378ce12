"""weights/manifest.json: which weights are installed and how they were trained.

Kept free of torch so that the app can show it without loading PyTorch on the GUI thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from .errors import WeightsMissingError

MANIFEST = "manifest.json"


def weights_dir() -> Path:
    """WCS_WEIGHTS_DIR, else the bundle's or the source tree's weights/ folder."""
    env = os.environ.get("WCS_WEIGHTS_DIR")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "weights"
    return Path(__file__).resolve().parent.parent / "weights"


def read_manifest(directory: Path | None = None) -> dict:
    path = Path(directory or weights_dir()) / MANIFEST
    if not path.exists():
        return {"format": 1, "models": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WeightsMissingError(f"{path} is damaged ({exc}); reinstall the weights") from None
    manifest.setdefault("models", {})
    return manifest


@contextlib.contextmanager
def updating_manifest(directory: Path | None = None):
    """Read, change and write the manifest under an exclusive lock, so that exports and evaluations
    run side by side (``make -j2``) do not lose each other's entries. Yields the manifest dict."""
    directory = Path(directory or weights_dir())
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".manifest.lock", "a+b") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: these are developer tools, run one at a time there
            fcntl = None
        if fcntl:
            fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_manifest(directory)
        yield manifest
        write_manifest(manifest, directory)


def write_manifest(manifest: dict, directory: Path) -> None:
    """Replace the manifest atomically (export and `eval --record` both update it)."""
    from .images import write_atomic

    write_atomic(Path(directory) / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode(), overwrite=True)


def describe(variant: str, directory: Path | None = None) -> str:
    """One line on how far a variant's weights are trained, for people (the app's About box)."""
    try:
        entry = read_manifest(directory)["models"].get(variant)
    except WeightsMissingError as exc:
        return str(exc)
    if entry is None:
        return f"{variant}: no weights installed"
    t = entry.get("training", {})
    steps = t.get("total_iterations") or (t.get("backbone", {}).get("iterations", 0) + t.get("iterations", 0))
    hours = t.get("total_wall_hours") or (t.get("backbone", {}).get("wall_hours", 0) + t.get("wall_hours", 0))
    line = f"{variant} ({entry.get('model_id', '?')}): {steps:,} training steps, {hours:.1f} h on {t.get('device', '?')}"
    k = entry.get("kodak")
    if k and 0.013 in k.get("lambda", []):
        i = k["lambda"].index(0.013)
        line += f"; Kodak at λ=0.013: {k['bpp'][i]:.3f} bpp, {k['psnr-rgb'][i]:.2f} dB"
    return line
