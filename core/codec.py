"""The one API the app and the CLI use: load a codec, encode an image, decode a .wcs file.

    codec = load_codec("phase5")
    res = codec.encode("photo.png", lam=0.013)       # EncodeResult: .data, .recon, .bpp, .timings
    out = decode(res.data, on_step=print)             # DecodeResult, with a TraceStep per step
"""

from __future__ import annotations

import functools
import hashlib
import time

import numpy as np
import torch

from . import bitstream
from .errors import BitstreamError, DeviceError, LatentCheckError, WcsError, WeightsMissingError
from .images import as_rgb8
from .models import LAMBDAS, VARIANTS, ModelConfig, WaveletCodecModel, pad_to_multiple, variant_config, variant_for
from .models.refine import check_memory, refine_latent
from .models.steps import StepRecorder
from .results import BANDS, DecodeResult, EncodeResult
from .weights import load_model, read_manifest, weights_dir

DEFAULT_VARIANT = "phase5"
DEFAULT_LAMBDA = 0.013

__all__ = [
    "Codec", "load_codec", "make_test_codec", "decode", "read_info", "available_variants",
    "variant_for", "VARIANTS", "LAMBDAS", "DEFAULT_VARIANT", "DEFAULT_LAMBDA",
]


def resolve_device(device: str | None) -> torch.device:
    device = device or "cpu"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA was requested but no CUDA GPU is available to this PyTorch build; use the CPU")
    if dev.type not in ("cpu", "cuda"):
        raise DeviceError(f"unsupported device {device!r}; use cpu or cuda")
    return dev


def _variant_name(cfg: ModelConfig) -> str:
    for name, spec in VARIANTS.items():
        if all(getattr(cfg, k) == v for k, v in spec.items()):
            return name
    return f"custom-{cfg.context}-{cfg.groups}g"


def use_deterministic_cuda() -> None:
    """Make cuDNN give the same floats on every call with the same input.

    The decoder recomputes the entropy parameters and the picture from the decoded latent, so both
    must match the encoder's bit for bit. On an H200, cuDNN's default (fastest, partly atomic)
    algorithms gave a decoded picture that differed slightly from the encoder's reconstruction in 4
    of 6 same-GPU round trips. TF32 is turned off as well, so GPU results stay at fp32 accuracy.
    """
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


class Codec:
    """A loaded model, ready to turn images into .wcs bytes and back."""

    def __init__(self, model: WaveletCodecModel, model_id: str, weights_sha: bytes, device="cpu", variant=None):
        self.device = resolve_device(str(device))
        if self.device.type == "cuda":
            use_deterministic_cuda()
        self.model = model.to(self.device).eval()
        # channels_last weights (the coder makes the inputs channels_last too): oneDNN's faster kernels
        for transform in (self.model.g_a, self.model.g_a_blocks, self.model.g_s, self.model.g_s_blocks):
            transform.to(memory_format=torch.channels_last)
        self.model.update(force=True)
        self.cfg = model.cfg
        self.variant = variant or _variant_name(model.cfg)
        self.model_id = model_id
        self.weights_sha = weights_sha

    @property
    def groups(self) -> int:
        """Checkerboard groups per band; 0 for Phase 4's raster scan."""
        return 0 if self.cfg.phase == 4 else self.cfg.groups

    def band_grid(self, height: int, width: int) -> tuple[int, int]:
        """(rows, cols) of each wavelet band's latent grid for an image of this size."""
        m = 64
        return -(-height // m) * 2, -(-width // m) * 2

    def _check_lambda(self, lam: float) -> float:
        lam = float(lam)
        lo, hi = min(self.cfg.lambdas), max(self.cfg.lambdas)
        if not (lo * (1 - 1e-9) <= lam <= hi * (1 + 1e-9)):
            raise WcsError(f"lambda {lam:g} is outside this model's range [{lo:g}, {hi:g}]")
        return lam

    def encode(self, image, lam: float = DEFAULT_LAMBDA, on_step=None, cancel=None, refine: int = 0,
               on_refine=None) -> EncodeResult:
        """Encode an image. ``refine`` > 0 spends that many optimisation steps searching for a latent
        that codes this image better (slower encode, same decoder; see core.models.refine);
        ``on_refine(step, loss)`` reports each of them."""
        lam = self._check_lambda(lam)
        refine = int(refine)
        if refine < 0:
            raise WcsError(f"refine steps must be 0 or more, not {refine}")
        rgb = as_rgb8(image)
        h, w = rgb.shape[:2]
        rec = StepRecorder(on_step, cancel, self.device)
        t0 = time.perf_counter()
        x = torch.from_numpy(rgb.copy()).to(self.device).permute(2, 0, 1)[None].float().div_(255)
        xp = pad_to_multiple(x)
        y, refined = None, None
        with _device_errors():
            if refine:
                if self.device.type == "cpu":  # on a GPU, running out is a DeviceError with a CPU retry
                    check_memory(*xp.shape[-2:])
                with rec.timed("refine"):
                    y, refined = refine_latent(self.model, xp, lam, refine, h, w, check=rec.check_cancel,
                                               on_iteration=on_refine)
            out = self.model.compress(xp, lam, rec, y=y)
        header = bitstream.Header(
            self.model_id, self.weights_sha, self.variant, self.groups, self.cfg.context, lam,
            w, h, xp.shape[-1] - w, xp.shape[-2] - h, out["latent_crc"], out["streams"],
        )
        data = bitstream.pack(header)
        recon = _to_rgb8(out["x_hat"], h, w)
        rec.timings["total"] = (time.perf_counter() - t0) * 1e3
        names = self.model.stream_names()
        return EncodeResult(
            data=data, recon=recon, width=w, height=h, variant=self.variant, lam=lam,
            timings=dict(rec.timings), trace=rec.trace,
            streams=[(n, len(s)) for n, s in zip(names, out["streams"])], refined=refined,
        )

    def decode(self, data: bytes, on_step=None, cancel=None) -> DecodeResult:
        header = bitstream.unpack(data)
        self._check_header(header)
        rec = StepRecorder(on_step, cancel, self.device)
        t0 = time.perf_counter()
        ph, pw = header.padded_size
        with _device_errors():
            out = self.model.decompress(header.streams, (ph // 64, pw // 64), header.lam, rec)
        if out["latent_crc"] != header.latent_crc:
            raise LatentCheckError(
                "decoded-latent check failed: this machine's model computes different entropy parameters "
                "than the encoder's (file encoded on another device or build, e.g. on a GPU and decoded on "
                "a CPU); decode it on the kind of device that encoded it, or re-encode it here"
            )
        image = _to_rgb8(out["x_hat"], header.height, header.width)
        rec.timings["total"] = (time.perf_counter() - t0) * 1e3
        return DecodeResult(image, header.width, header.height, header.variant, header.lam, dict(rec.timings), rec.trace)

    def _check_header(self, h: bitstream.Header) -> None:
        if h.model_id != self.model_id or h.weights_sha != self.weights_sha:
            raise WeightsMissingError(
                f"the file was encoded with model {h.model_id!r} (weights {h.weights_sha.hex()}), "
                f"not the loaded {self.model_id!r} ({self.weights_sha.hex()}); install those weights"
            )
        if h.groups != self.groups or h.context != self.cfg.context:
            raise BitstreamError(f"corrupt header: variant fields do not match model {h.model_id!r}")
        expected = len(self.model.stream_names())
        if len(h.streams) != expected:
            raise BitstreamError(f"corrupt file: {len(h.streams)} streams where {self.variant} has {expected}")
        if h.pad_w >= 64 or h.pad_h >= 64 or (h.width + h.pad_w) % 64 or (h.height + h.pad_h) % 64:
            raise BitstreamError("corrupt header: inconsistent padding")
        self._check_lambda(h.lam)


class _device_errors:
    """Turn a GPU out-of-memory into a DeviceError the app can offer a CPU retry for."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, torch.OutOfMemoryError):
            raise DeviceError("the GPU ran out of memory for this image; retry on the CPU") from None
        return False


def _to_rgb8(x_hat: torch.Tensor, h: int, w: int) -> np.ndarray:
    x = x_hat[0, :, :h, :w].clamp(0, 1).mul(255).round().to(torch.uint8)
    return np.ascontiguousarray(x.permute(1, 2, 0).cpu().numpy())


def _sha_prefix(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)[:8]


@functools.lru_cache(maxsize=8)
def _load_cached(variant: str, device: str, directory: str) -> Codec:
    model, entry = load_model(variant, directory, device)
    return Codec(model, entry["model_id"], _sha_prefix(entry["sha256"]), device, variant)


def load_codec(variant: str = DEFAULT_VARIANT, device: str = "cpu", weights_dir_: str | None = None) -> Codec:
    """The shipped model for ``variant`` (cached). WeightsMissingError when not installed."""
    if variant not in VARIANTS:
        raise WcsError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    dev = resolve_device(device)
    return _load_cached(variant, str(dev), str(weights_dir_ or weights_dir()))


def available_variants(directory=None) -> dict[str, str | None]:
    """Variant -> None when its weights are installed, else the reason it is not."""
    directory = directory or weights_dir()
    try:
        models = read_manifest(directory)["models"]
    except WcsError as exc:
        return {v: str(exc) for v in VARIANTS}
    out = {}
    for v in VARIANTS:
        entry = models.get(v)
        if entry is None:
            out[v] = f"no weights installed for {v}"
        elif not (directory / entry["file"]).exists():
            out[v] = f"weights file {entry['file']} is missing"
        else:
            out[v] = None
    return out


def make_test_codec(variant: str = DEFAULT_VARIANT, seed: int = 0, N: int = 16, M: int = 16, **cfg) -> Codec:
    """A tiny randomly initialised model: every real code path, useless compression. For tests."""
    torch.manual_seed(seed)
    model = WaveletCodecModel(variant_config(variant, N=N, M=M, **cfg))
    digest = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        digest.update(k.encode())
        digest.update(v.detach().cpu().numpy().tobytes())
    return Codec(model, f"test-{variant}-s{seed}", digest.digest()[:8], "cpu", variant)


def read_info(data: bytes) -> dict:
    """What a .wcs file holds, without decoding it."""
    h = bitstream.unpack(data)
    if h.context == "raster":
        names = ["z"] + list(BANDS)
    else:
        names = ["z"] + [f"{b}/g{k}" for b in BANDS for k in range(1, h.groups + 1)]
    if len(names) != len(h.streams):
        names = [f"stream{i}" for i in range(len(h.streams))]
    return {
        "variant": h.variant, "model_id": h.model_id, "weights_sha": h.weights_sha.hex(),
        "groups": h.groups, "context": h.context, "lambda": h.lam,
        "width": h.width, "height": h.height, "bytes": len(data),
        "bpp": 8.0 * len(data) / (h.width * h.height),
        "streams": [(n, len(s)) for n, s in zip(names, h.streams)],
    }


def decode(data: bytes, on_step=None, cancel=None, device: str = "cpu", weights_dir_=None) -> DecodeResult:
    """Decode with the installed weights that the file names."""
    h = bitstream.unpack(data)
    directory = weights_dir_ or weights_dir()
    for variant, entry in read_manifest(directory)["models"].items():
        if entry.get("model_id") == h.model_id and _sha_prefix(entry["sha256"]) == h.weights_sha:
            return load_codec(variant, device, directory).decode(data, on_step, cancel)
    raise WeightsMissingError(
        f"the weights this file needs are not installed: model {h.model_id!r} (sha256 {h.weights_sha.hex()}…)"
    )
