"""Does a file encoded on one device decode on another? (GPU machine -> laptop, and back.)

Learned codecs recompute the entropy parameters at decode time, so float differences between
devices can break decoding; the container's latent check turns that into a clear error rather
than a wrong picture. This script reports, for each (encoder, decoder) pair, whether the decode
is exact, how far the picture is off when the latent decoded exactly but the synthesis transform
rounded differently on the decoding device, or the error the user gets.

    python benchmarks/cross_device.py [--variants phase5,phase5-2g] [--devices cpu,cuda]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.codec import load_codec  # noqa: E402
from core.errors import WcsError  # noqa: E402
from core.images import load_image  # noqa: E402


def _compare(decoded: np.ndarray, recon: np.ndarray) -> str:
    """'exact', or how far the decoded picture is from the encoder's reconstruction. The latent
    check passed, so the symbols are the encoder's: a difference here is the synthesis transform's
    float rounding on the decoding device (on an H200 against a CPU: 1 level in 0.003 % of samples)."""
    diff = np.abs(decoded.astype(np.int16) - recon.astype(np.int16))
    if not diff.any():
        return "exact"
    return f"latent exact, picture differs by at most {diff.max()} in {np.mean(diff > 0) * 100:.3f} % of samples"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default="resources/sample/kodim23.png")
    p.add_argument("--lambdas", default="0.0025,0.013,0.05")
    p.add_argument("--variants", default="phase5,phase5-2g")
    p.add_argument("--devices", default="cpu,cuda")
    a = p.parse_args(argv)
    img = load_image(a.image)
    devices = a.devices.split(",")
    for v in a.variants.split(","):
        try:
            codecs = {d: load_codec(v, device=d) for d in devices}
        except WcsError as exc:  # no GPU here, or the variant's weights are not installed
            print(f"{v}: skipped ({exc})")
            continue
        for lam in map(float, a.lambdas.split(",")):
            for enc in devices:
                r = codecs[enc].encode(img, lam)
                for dec in devices:
                    try:
                        d = codecs[dec].decode(r.data)
                        print(f"{v} λ{lam} {enc}->{dec}: {_compare(d.image, r.recon)} ({r.nbytes} bytes)")
                    except WcsError as exc:
                        print(f"{v} λ{lam} {enc}->{dec}: refused: {str(exc)[:120]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
