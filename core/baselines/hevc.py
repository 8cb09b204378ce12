"""HEVC intra 4:4:4 with x265 through PyAV: the usual stand-in for BPG.

The colour conversion is ours (BT.709 full range, see base.py), so the stream is a plain
yuv444p HEVC elementary stream (Annex B) with one intra frame; its length is the byte count,
as BPG's own header adds only a handful of bytes.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import WcsError
from .base import MATRIX_NAME, ClassicalCodec, rgb_to_ycbcr, ycbcr_to_rgb

_PIX = {8: "yuv444p", 10: "yuv444p10le"}


def _planes_to_frame(planes: np.ndarray, bitdepth: int):
    import av

    frame = av.VideoFrame(planes.shape[2], planes.shape[1], _PIX[bitdepth])
    for plane, arr in zip(frame.planes, planes):
        itemsize = arr.dtype.itemsize
        row = arr.shape[1] * itemsize
        buf = np.zeros((arr.shape[0], plane.line_size), dtype=np.uint8)
        buf[:, :row] = np.ascontiguousarray(arr).view(np.uint8).reshape(arr.shape[0], row)
        plane.update(buf.tobytes())
    return frame


def _frame_to_planes(frame, bitdepth: int) -> np.ndarray:
    dtype = np.dtype(np.uint8 if bitdepth == 8 else "<u2")
    out = []
    for plane in frame.planes:
        raw = np.frombuffer(bytes(plane), dtype=np.uint8).reshape(frame.height, plane.line_size)
        out.append(raw[:, : frame.width * dtype.itemsize].copy().view(dtype))
    return np.stack(out)


class Hevc(ClassicalCodec):
    name, label = "hevc", "HEVC intra 4:4:4 (x265)"
    quality_range = (0, 51, 1)
    higher_is_better = False
    default_sweep = [22, 27, 32, 37, 42, 47]
    setting_name = "qp"

    def __init__(self, preset: str = "medium", bitdepth: int = 8):
        self.preset, self.bitdepth = preset, bitdepth

    def available(self):
        try:
            import av
        except ImportError:
            return False, "`pip install av` (PyAV wheels ship FFmpeg with libx265)"
        try:
            enc = av.codec.Codec("libx265", "w")
            av.codec.Codec("hevc", "r")
        except Exception:
            return False, "this PyAV's FFmpeg has no libx265 encoder or HEVC decoder"
        if _PIX[self.bitdepth] not in {f.name for f in enc.video_formats}:
            return False, f"this x265 build cannot encode {_PIX[self.bitdepth]}"
        return True, ""

    def describe(self, quality):
        return {**super().describe(quality), "preset": self.preset, "bitdepth": self.bitdepth,
                "chroma": "4:4:4", "matrix": MATRIX_NAME, "frames": 1}

    def _encode(self, rgb, qp):
        import av

        h, w = rgb.shape[:2]
        if h % 2 or w % 2:  # x265 needs even sizes even in 4:4:4: pad by edge copy, crop on decode
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        ctx = av.CodecContext.create("libx265", "w")
        ctx.width, ctx.height = rgb.shape[1], rgb.shape[0]
        ctx.pix_fmt = _PIX[self.bitdepth]
        ctx.time_base = Fraction(1, 25)
        ctx.options = {
            "preset": self.preset,
            "x265-params": f"qp={qp}:keyint=1:log-level=error:info=0:range=full:colorprim=bt709:"
                           "transfer=bt709:colormatrix=bt709",
        }
        frame = _planes_to_frame(rgb_to_ycbcr(rgb, self.bitdepth), self.bitdepth)
        packets = list(ctx.encode(frame)) + list(ctx.encode(None))
        data = b"".join(bytes(p) for p in packets)
        # one leading byte records the odd width/height to crop back (BPG's header stores the size too)
        return bytes([(h % 2) | ((w % 2) << 1)]) + data

    def _decode(self, data):
        import av

        if not data:
            raise WcsError("HEVC: empty stream")
        crop, stream = data[0], data[1:]
        ctx = av.CodecContext.create("hevc", "r")
        frames = []
        for pkt in ctx.parse(stream) + ctx.parse(None):  # parse(None) flushes the last access unit
            frames += ctx.decode(pkt)
        frames += ctx.decode(None)
        if not frames:
            raise WcsError("HEVC: the stream holds no picture")
        f = frames[0]
        if f.format.name != _PIX[self.bitdepth]:
            f = f.reformat(format=_PIX[self.bitdepth])
        rgb = ycbcr_to_rgb(_frame_to_planes(f, self.bitdepth), self.bitdepth)
        return rgb[: rgb.shape[0] - (crop & 1), : rgb.shape[1] - ((crop >> 1) & 1)]
