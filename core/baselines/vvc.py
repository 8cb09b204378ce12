"""VVC (H.266) intra through Fraunhofer's VVenC / VVdeC command-line apps.

No Python package ships a VVC encoder, so we drive ``vvencapp`` when the user has it: found on
PATH, set with ``configure(vvencapp=...)`` (the app's Settings), or by ``WCS_VVENCAPP``.
Decoding uses ``vvdecapp`` (``WCS_VVDECAPP``) when present, else PyAV's native FFmpeg VVC decoder.

The colour conversion is ours: RGB -> YCbCr BT.709 full range, 10 bits. VVenC implements only
VVC's Main 10 profile, which has no 4:4:4 (the maintainers: no plan to add it), so chroma is
subsampled to 4:2:0 by 2x2 averaging and brought back with a triangle (bilinear) filter. For a
4:4:4 VTM anchor, run VTM elsewhere and import its results (core.baselines.external).
One intra frame, constant QP, QPA off (PSNR-oriented, as in JVET's common test conditions).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import WcsError
from .base import KB, KG, KR, MATRIX_NAME, ClassicalCodec

BITDEPTH = 10
HOW_TO_GET = ("build VVenC from https://github.com/fraunhoferhhi/vvenc (`make install-release`) and put "
              "vvencapp on PATH, set WCS_VVENCAPP, or give its path in Settings")
_CONFIG: dict[str, str | None] = {"vvencapp": None, "vvdecapp": None}


def configure(vvencapp: str | None = None, vvdecapp: str | None = None) -> None:
    """Paths from the app's settings; they win over the environment and PATH. None clears one."""
    _CONFIG["vvencapp"], _CONFIG["vvdecapp"] = vvencapp or None, vvdecapp or None


def find_tool(name: str) -> str | None:
    """Configured path, then WCS_<NAME>, then PATH. Only an executable file counts."""
    for cand in (_CONFIG.get(name), os.environ.get(f"WCS_{name.upper()}")):
        if cand:
            return cand if os.path.isfile(cand) and os.access(cand, os.X_OK) else None
    return shutil.which(name)


def _pyav_has_vvc() -> bool:
    try:
        import av

        av.codec.Codec("vvc", "r")
        return True
    except Exception:
        return False


# ---- colour: 10-bit 4:2:0 planes ------------------------------------------------------------

def rgb_to_yuv420(rgb: np.ndarray, bitdepth: int = BITDEPTH) -> list[np.ndarray]:
    x = rgb.astype(np.float64) / 255.0
    y = KR * x[..., 0] + KG * x[..., 1] + KB * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - KB)) + 0.5
    cr = (x[..., 0] - y) / (2 * (1 - KR)) + 0.5
    h, w = y.shape
    sub = [c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) for c in (cb, cr)]
    peak = (1 << bitdepth) - 1
    return [np.clip(np.rint(p * peak), 0, peak).astype("<u2") for p in [y] + sub]


def _up2(c: np.ndarray) -> np.ndarray:
    """Centred 2x upsampling with a triangle filter (weights 3/4, 1/4), edges replicated."""
    def along(a, axis):
        p = np.concatenate([np.take(a, [0], axis), a, np.take(a, [-1], axis)], axis)
        n = a.shape[axis]
        mid, lo, hi = (np.take(p, range(1, n + 1), axis), np.take(p, range(0, n), axis),
                       np.take(p, range(2, n + 2), axis))
        even, odd = 0.75 * mid + 0.25 * lo, 0.75 * mid + 0.25 * hi
        return np.stack([even, odd], axis + 1).reshape(a.shape[:axis] + (2 * n,) + a.shape[axis + 1:])
    return along(along(c, 0), 1)


def yuv420_to_rgb(y, cb, cr, bitdepth: int = BITDEPTH) -> np.ndarray:
    peak = (1 << bitdepth) - 1
    y = y.astype(np.float64) / peak
    cb, cr = (_up2(c.astype(np.float64) / peak) - 0.5 for c in (cb, cr))
    r = y + 2 * (1 - KR) * cr
    b = y + 2 * (1 - KB) * cb
    g = (y - KR * r - KB * b) / KG
    return np.clip(np.rint(np.stack([r, g, b], -1) * 255.0), 0, 255).astype(np.uint8)


def read_y4m(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """First frame of a 4:2:0 Y4M file (8 or 10 bits) -> (Y, Cb, Cr, bitdepth)."""
    head, _, rest = data.partition(b"\n")
    if not head.startswith(b"YUV4MPEG2"):
        raise WcsError("VVC decoder output is not a Y4M file")
    tags = {t[:1]: t[1:] for t in head.split()[1:]}
    w, h = int(tags[b"W"]), int(tags[b"H"])
    cs = tags.get(b"C", b"420").decode()
    if not cs.startswith("420"):
        raise WcsError(f"VVC decoder output has chroma {cs}, expected 4:2:0")
    depth = int(cs.split("p")[1]) if "p" in cs else 8
    _, _, payload = rest.partition(b"\n")  # skip the FRAME line
    dtype = np.dtype("<u2" if depth > 8 else "u1")
    n_y, n_c = w * h, (w // 2) * (h // 2)
    arr = np.frombuffer(payload[: (n_y + 2 * n_c) * dtype.itemsize], dtype=dtype)
    if arr.size != n_y + 2 * n_c:
        raise WcsError("VVC decoder output is truncated")
    return (arr[:n_y].reshape(h, w), arr[n_y:n_y + n_c].reshape(h // 2, w // 2),
            arr[n_y + n_c:].reshape(h // 2, w // 2), depth)


class Vvc(ClassicalCodec):
    name, label = "vvc", "VVC intra (VVenC)"
    quality_range = (0, 63, 1)
    higher_is_better = False
    default_sweep = [22, 27, 32, 37, 42, 47]
    setting_name = "qp"

    def __init__(self, preset: str = "medium", threads: int = 1, decoder: str = "auto", timeout: float = 600):
        if decoder not in ("auto", "vvdecapp", "pyav"):
            raise WcsError(f"VVC decoder must be auto, vvdecapp or pyav, not {decoder!r}")
        self.preset, self.threads, self.decoder, self.timeout = preset, threads, decoder, timeout

    def available(self):
        if not find_tool("vvencapp"):
            where = _CONFIG["vvencapp"] or os.environ.get("WCS_VVENCAPP")
            why = f"{where} is not an executable file" if where else "VVenC's vvencapp was not found"
            return False, f"{why}; {HOW_TO_GET}"
        if self._decoder_kind() is None:
            return False, ("no VVC decoder: install VVdeC's vvdecapp (https://github.com/fraunhoferhhi/vvdec, "
                           "or set WCS_VVDECAPP) or a PyAV whose FFmpeg has the native vvc decoder")
        return True, ""

    def _decoder_kind(self) -> str | None:
        if self.decoder in ("auto", "vvdecapp") and find_tool("vvdecapp"):
            return "vvdecapp"
        if self.decoder in ("auto", "pyav") and _pyav_has_vvc():
            return "pyav"
        return None

    def describe(self, quality):
        return {**super().describe(quality), "encoder": "vvencapp", "preset": self.preset, "qpa": 0,
                "chroma": "4:2:0", "bitdepth": BITDEPTH, "matrix": MATRIX_NAME, "frames": 1,
                "decoder": self._decoder_kind() or "none"}

    def encode_command(self, yuv: str, out: str, width: int, height: int, qp: int) -> list[str]:
        return [find_tool("vvencapp") or "vvencapp", "-i", yuv, "-s", f"{width}x{height}", "-c", "yuv420_10",
                "-r", "1", "-f", "1", "--preset", self.preset, "-q", str(qp), "--qpa", "0",
                "--internal-bitdepth", str(BITDEPTH), "-t", str(self.threads), "-v", "1", "-o", out]

    def decode_command(self, stream: str, out_y4m: str) -> list[str]:
        return [find_tool("vvdecapp") or "vvdecapp", "-b", stream, "-o", out_y4m, "-t", str(self.threads), "-v", "1"]

    def _run(self, cmd: list[str]) -> None:
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=self.timeout)
        except FileNotFoundError:
            raise WcsError(f"{cmd[0]} could not be started; {HOW_TO_GET}") from None
        except subprocess.TimeoutExpired:
            raise WcsError(f"{Path(cmd[0]).name} took longer than {self.timeout:.0f} s") from None
        if p.returncode != 0:
            tail = (p.stderr or p.stdout).decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise WcsError(f"{Path(cmd[0]).name} failed (exit {p.returncode}): {tail[0]}")

    def _encode(self, rgb, qp):
        h, w = rgb.shape[:2]
        rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")  # 4:2:0 needs even sizes
        with tempfile.TemporaryDirectory(prefix="wcs-vvc-") as tmp:
            yuv, out = os.path.join(tmp, "in.yuv"), os.path.join(tmp, "out.266")
            with open(yuv, "wb") as f:
                for plane in rgb_to_yuv420(rgb):
                    f.write(plane.tobytes())
            self._run(self.encode_command(yuv, out, rgb.shape[1], rgb.shape[0], qp))
            if not os.path.exists(out) or os.path.getsize(out) == 0:
                raise WcsError("vvencapp wrote no bitstream")
            stream = Path(out).read_bytes()
        # one leading byte: which of width/height was odd (cropped after decoding)
        return bytes([(h % 2) | ((w % 2) << 1)]) + stream

    def _decode(self, data):
        if len(data) < 2:
            raise WcsError("VVC: empty stream")
        crop, stream = data[0], data[1:]
        kind = self._decoder_kind()
        if kind == "vvdecapp":
            with tempfile.TemporaryDirectory(prefix="wcs-vvc-") as tmp:
                src, out = os.path.join(tmp, "in.266"), os.path.join(tmp, "out.y4m")
                Path(src).write_bytes(stream)
                self._run(self.decode_command(src, out))
                y, cb, cr, depth = read_y4m(Path(out).read_bytes())
        elif kind == "pyav":
            y, cb, cr, depth = _pyav_decode(stream)
        else:
            raise WcsError(self.available()[1])
        rgb = yuv420_to_rgb(y, cb, cr, depth)
        return rgb[: rgb.shape[0] - (crop & 1), : rgb.shape[1] - ((crop >> 1) & 1)]


def _pyav_decode(stream: bytes):
    import av

    ctx = av.CodecContext.create("vvc", "r")
    frames = []
    for pkt in ctx.parse(stream) + ctx.parse(None):
        frames += ctx.decode(pkt)
    frames += ctx.decode(None)
    if not frames:
        raise WcsError("VVC: the stream holds no picture")
    f = frames[0].reformat(format="yuv420p10le")
    planes = []
    for i, plane in enumerate(f.planes):
        ph, pw = (f.height, f.width) if i == 0 else (f.height // 2, f.width // 2)
        raw = np.frombuffer(bytes(plane), dtype=np.uint8).reshape(ph, plane.line_size)
        planes.append(raw[:, : pw * 2].copy().view("<u2"))
    return planes[0], planes[1], planes[2], 10
