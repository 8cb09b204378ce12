"""Load whatever image a user drops into RGB uint8, predictably and safely."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

try:  # HEIC/AVIF readers register themselves with Pillow when present
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - optional plugin
    pass

#: Larger images are refused with a clear message rather than exhausting memory.
MAX_PIXELS = 120_000_000
_BACKGROUND = (255, 255, 255)  # alpha is composited on white, as browsers show it


def to_rgb8(img: Image.Image) -> np.ndarray:
    """Convert a Pillow image to an HxWx3 uint8 array.

    Rules: EXIF orientation applied; alpha composited on white; 16-bit and 32-bit integer
    images scaled to 8 bits by their nominal range (not stretched); float images clipped to
    [0, 1]; gray, palette, CMYK, YCbCr and LAB converted to RGB by Pillow.
    """
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not make the image unreadable
        pass
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        arr = np.asarray(img, dtype=np.uint16).astype(np.float64) / 257.0
        return _gray_to_rgb(arr)
    if mode == "I":
        arr = np.asarray(img, dtype=np.int64)
        scale = 257.0 if arr.max(initial=0) > 255 else 1.0
        return _gray_to_rgb(arr.astype(np.float64) / scale)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        if arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        return _gray_to_rgb(arr)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _gray_to_rgb(arr: np.ndarray) -> np.ndarray:
    gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into RGB uint8, or raise ImageError with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"cannot read {path}: no such file")
    if path.is_dir():
        raise ImageError(f"cannot read {path}: it is a folder, not an image")
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageError(
                    f"cannot read {path.name}: {w}x{h} is larger than the {MAX_PIXELS // 1_000_000} MP limit"
                )
            img.load()
            return to_rgb8(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"cannot read {path.name}: not an image format Pillow recognises") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"cannot read {path.name}: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"cannot read {path.name}: the file is damaged or truncated ({exc})") from None


def as_rgb8(image) -> np.ndarray:
    """Accept a path, a Pillow image or an array and return RGB uint8 HxWx3."""
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    if isinstance(image, Image.Image):
        return to_rgb8(image)
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ImageError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise ImageError(f"expected uint8 pixels, got {arr.dtype}; load files with core.images.load_image")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        return to_rgb8(Image.fromarray(arr, "RGBA"))
    return np.ascontiguousarray(arr)


def save_png_atomic(rgb: np.ndarray, path: str | os.PathLike, overwrite: bool = False) -> None:
    """Write a PNG via a temporary file and rename, so a failed write never leaves half a file."""
    write_atomic(path, _png_bytes(rgb), overwrite=overwrite)


def _png_bytes(rgb: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def refuse_existing(*paths: str | os.PathLike | None, overwrite: bool = False) -> None:
    """Raise FileExistsError for the first path (None skipped) that exists, unless overwrite.

    Commands call it before their slow work too, so that a refusal comes at once, not after it."""
    for path in paths:
        if path and Path(path).exists() and not overwrite:
            raise FileExistsError(f"{path} already exists (pass --overwrite to replace it)")


def write_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> None:
    """Write bytes to path atomically; refuse to replace an existing file unless overwrite."""
    path = Path(path)
    refuse_existing(path, overwrite=overwrite)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
