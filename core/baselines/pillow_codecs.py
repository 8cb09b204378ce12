"""Still-image codecs reached through Pillow and its plugins: JPEG, WebP, AVIF, HEIC, JPEG XL, JPEG 2000."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, features

from .base import ClassicalCodec


def _save(rgb: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format=fmt, **kw)
    return buf.getvalue()


def _open(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return np.asarray(img.convert("RGB"))


class PillowCodec(ClassicalCodec):
    fmt = ""
    options: dict = {}
    quality_key = "quality"

    def _encode(self, rgb, quality):
        return _save(rgb, self.fmt, **{self.quality_key: quality}, **self.options)

    def _decode(self, data):
        return _open(data)

    def describe(self, quality):
        return {**super().describe(quality), **{k: str(v) for k, v in self.options.items()}}


class Jpeg(PillowCodec):
    """libjpeg-turbo through Pillow, optimised Huffman tables (as `cjpeg -optimize`)."""

    name, label, fmt = "jpeg", "JPEG 4:2:0", "JPEG"
    quality_range = (1, 100, 1)
    default_sweep = [10, 25, 40, 60, 80, 95]
    options = {"subsampling": "4:2:0", "optimize": True}

    def available(self):
        return (True, "") if features.check("jpg") else (False, "Pillow was built without libjpeg")


class Jpeg444(Jpeg):
    name, label = "jpeg444", "JPEG 4:4:4"
    options = {"subsampling": "4:4:4", "optimize": True}


class WebP(PillowCodec):
    """libwebp lossy at its default method 4 (what cwebp does)."""

    name, label, fmt = "webp", "WebP", "WEBP"
    quality_range = (0, 100, 1)
    default_sweep = [10, 30, 50, 70, 85, 95]
    options = {"method": 4}

    def available(self):
        return (True, "") if features.check("webp") else (False, "Pillow was built without libwebp")


class Avif(PillowCodec):
    """libavif (Pillow >= 11.2 has it built in; else pillow-avif-plugin), 4:4:4, speed 6."""

    name, label = "avif", "AVIF 4:4:4"
    fmt = "AVIF"
    quality_range = (0, 100, 1)
    default_sweep = [20, 40, 55, 70, 82, 92]
    options = {"subsampling": "4:4:4", "speed": 6}

    def available(self):
        if features.check("avif"):
            return True, ""
        try:
            import pillow_avif  # noqa: F401  (registers the AVIF format)
        except ImportError:
            return False, "needs Pillow >= 11.2 with AVIF, or `pip install pillow-avif-plugin`"
        return True, ""


class Heic(PillowCodec):
    """HEIC (x265 inside libheif) through pillow-heif, 4:2:0 as phones write it."""

    name, label = "heic", "HEIC (libheif/x265) 4:2:0"
    quality_range = (0, 100, 1)
    default_sweep = [10, 30, 50, 70, 85, 95]
    options = {"chroma": "420"}

    def available(self):
        try:
            import pillow_heif
        except ImportError:
            return False, "`pip install pillow-heif`"
        if not pillow_heif.libheif_info().get("encoders", {}).get("x265"):
            return False, "this pillow-heif build has no HEVC (x265) encoder"
        return True, ""

    def _encode(self, rgb, quality):
        import pillow_heif

        buf = io.BytesIO()
        pillow_heif.encode("RGB", (rgb.shape[1], rgb.shape[0]), rgb.tobytes(), buf,
                           quality=quality, chroma=self.options["chroma"])
        return buf.getvalue()

    def _decode(self, data):
        import pillow_heif

        f = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        return np.asarray(f.to_pillow().convert("RGB"))


class JpegXL(PillowCodec):
    """libjxl through pillow-jxl-plugin, effort 7 (cjxl's default)."""

    name, label, fmt = "jxl", "JPEG XL", "JXL"
    quality_range = (1, 99, 1)  # 100 means lossless in libjxl, not the top of the lossy scale
    default_sweep = [10, 30, 50, 70, 85, 95]
    options = {"effort": 7}

    def available(self):
        try:
            import pillow_jxl  # noqa: F401  (registers the JXL format)
        except ImportError:
            return False, "`pip install pillow-jxl-plugin`"
        return True, ""

    def _decode(self, data):
        import pillow_jxl  # noqa: F401

        return _open(data)


class Jpeg2000(PillowCodec):
    """OpenJPEG through Pillow: 9/7 wavelet, raw codestream; the setting is the target PSNR in dB."""

    name, label, fmt = "jpeg2000", "JPEG 2000", "JPEG2000"
    quality_range = (20, 60, 1)
    default_sweep = [26, 29, 32, 35, 38, 42]
    setting_name = "target_db"
    options = {"quality_mode": "dB", "irreversible": True, "mct": 1, "no_jp2": True}  # mct: Pillow defaults to none

    def available(self):
        return (True, "") if features.check("jpg_2000") else (False, "Pillow was built without OpenJPEG")

    def _encode(self, rgb, quality):
        return _save(rgb, self.fmt, quality_layers=[quality], **self.options)
