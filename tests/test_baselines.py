"""Classical codecs: round trips with real byte counts, bpp targeting, VVC's command-line adapter."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from core import baselines
from core.baselines import CodecUnavailableError, all_codecs, get_codec, match_bpp
from core.baselines import vvc as vvc_mod
from core.baselines.external import import_results
from core.errors import WcsError
from core.metrics import psnr
from tests.helpers import sample_crop

HERE = ("jpeg", "jpeg444", "webp", "avif", "heic", "jxl", "hevc", "jpeg2000")  # all but VVC work from PyPI wheels


@pytest.fixture(scope="module")
def crop():
    return sample_crop(48, 64)  # 64x48


def test_registry_names_and_interface():
    names = [c.name for c in all_codecs()]
    assert len(names) == len(set(names))
    assert set(HERE) | {"vvc"} <= set(names)
    for c in all_codecs():
        lo, hi, step = c.quality_range
        assert lo < hi and step >= 1 and c.label
        assert all(lo <= q <= hi for q in c.default_sweep) and len(c.default_sweep) >= 5
    assert get_codec("hevc").higher_is_better is False and get_codec("jpeg").higher_is_better is True
    with pytest.raises(WcsError, match="unknown codec"):
        get_codec("bpg2")


@pytest.mark.parametrize("name", HERE)
def test_round_trip_with_real_byte_count(name, crop, tmp_path):
    c = get_codec(name)
    assert c.available() == (True, "")
    q = c.default_sweep[len(c.default_sweep) // 2]
    data = c.encode(crop, q)
    assert isinstance(data, bytes) and len(data) > 50
    # the bytes are a complete file: written to disk and read back they decode to the same image
    path = tmp_path / f"x.{name}"
    path.write_bytes(data)
    assert path.stat().st_size == len(data)
    out = c.decode(path.read_bytes())
    assert out.dtype == np.uint8 and out.shape == crop.shape
    assert psnr(crop, out) > 24
    np.testing.assert_array_equal(out, c.decode(data))


@pytest.mark.parametrize("name,fmt,kw", [
    ("jpeg", "JPEG", {"quality": 50, "subsampling": "4:2:0", "optimize": True}),
    ("jpeg444", "JPEG", {"quality": 50, "subsampling": "4:4:4", "optimize": True}),
    ("webp", "WEBP", {"quality": 50, "method": 4}),
    ("avif", "AVIF", {"quality": 50, "subsampling": "4:4:4", "speed": 6}),
])
def test_byte_count_equals_what_pillow_writes_to_a_file(name, fmt, kw, crop, tmp_path):
    path = tmp_path / "ref"
    Image.fromarray(crop).save(path, format=fmt, **kw)
    assert len(get_codec(name).encode(crop, 50)) == path.stat().st_size


def test_hevc_stream_is_plain_annex_b_that_ffmpeg_decodes(crop):
    import av

    data = get_codec("hevc").encode(crop, 32)
    stream = data[1:]  # one leading byte records odd sizes; the rest is the elementary stream
    assert stream[:4] == b"\x00\x00\x00\x01"
    with av.open(io.BytesIO(stream), format="hevc") as f:
        frame = next(f.decode(video=0))
    assert (frame.width, frame.height, frame.format.name) == (64, 48, "yuv444p")


@pytest.mark.parametrize("name", ["hevc", "jpeg", "heic"])
def test_odd_sizes_round_trip(name, crop):
    c = get_codec(name)
    odd = np.ascontiguousarray(crop[:47, :63])
    out = c.decode(c.encode(odd, c.default_sweep[2]))
    assert out.shape == odd.shape and psnr(odd, out) > 24


@pytest.mark.parametrize("name", HERE)
def test_rate_follows_quality_direction(name, crop):
    c = get_codec(name)
    low, high = min(c.default_sweep), max(c.default_sweep)
    if not c.higher_is_better:  # a QP: the larger number is the lower rate
        low, high = high, low
    assert len(c.encode(crop, low)) < len(c.encode(crop, high))


def test_quality_out_of_range_is_refused(crop):
    with pytest.raises(WcsError, match="integer in"):
        get_codec("jpeg").encode(crop, 0)
    with pytest.raises(WcsError):
        get_codec("hevc").encode(crop, 52)
    with pytest.raises(WcsError, match="cannot decode"):
        get_codec("webp").decode(b"not a webp file")


@pytest.mark.parametrize("name,target_q", [("jpeg", 50), ("webp", 60), ("hevc", 30)])
def test_match_bpp_lands_within_one_step(name, target_q, crop):
    c = get_codec(name)
    px = crop.shape[0] * crop.shape[1]
    bpp = lambda q: 8.0 * len(c.encode(crop, q)) / px  # noqa: E731
    target = bpp(target_q) * 1.01
    q, data, got = match_bpp(c, crop, target)
    assert got == pytest.approx(8.0 * len(data) / px)
    assert data == c.encode(crop, q)
    _, hi, step = c.quality_range
    neighbours = [n for n in (q - step, q + step) if c.quality_range[0] <= n <= hi]
    assert all(abs(got - target) <= abs(bpp(n) - target) for n in neighbours)
    assert abs(q - target_q) <= 3 * step


def test_match_bpp_clamps_to_the_scale(crop):
    c = get_codec("jpeg")
    assert match_bpp(c, crop, 1000.0)[0] == 100
    assert match_bpp(c, crop, 1e-4)[0] == 1
    with pytest.raises(WcsError):
        match_bpp(c, crop, 0)


# ---- VVC through (test doubles of) vvencapp / vvdecapp ---------------------------------------
# The fakes below stand in for Fraunhofer's binaries, which are not installed here: they check the
# command-line contract (arguments, files, exit codes) and pass the YUV through losslessly.

FAKE_ENC = """
import json, os, sys
a = sys.argv[1:]
opt = {a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)}
with open(os.environ["FAKE_VVC_LOG"], "a") as f:
    f.write(json.dumps(a) + "\\n")
if opt.get("-q") == "63":
    sys.stderr.write("error: simulated failure\\n"); sys.exit(3)
w, h = map(int, opt["-s"].split("x"))
data = open(opt["-i"], "rb").read()
assert len(data) == (w * h + 2 * (w // 2) * (h // 2)) * 2, "wrong yuv420_10 size"
open(opt["-o"], "wb").write(b"FAKEVVC %d %d\\n" % (w, h) + data)
"""

FAKE_DEC = """
import sys
a = sys.argv[1:]
opt = {a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)}
head, payload = open(opt["-b"], "rb").read().split(b"\\n", 1)
_, w, h = head.split()
open(opt["-o"], "wb").write(b"YUV4MPEG2 W%s H%s F1:1 Ip C420p10\\nFRAME\\n" % (w, h) + payload)
"""


def _script(path, body):
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def no_vvc_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("WCS_VVENCAPP", raising=False)
    monkeypatch.delenv("WCS_VVDECAPP", raising=False)
    vvc_mod.configure(None, None)
    yield
    vvc_mod.configure(None, None)


@pytest.fixture
def fake_vvc(no_vvc_tools, monkeypatch, tmp_path):
    log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_VVC_LOG", str(log))
    monkeypatch.setenv("WCS_VVENCAPP", _script(tmp_path / "vvencapp", FAKE_ENC))
    monkeypatch.setenv("WCS_VVDECAPP", _script(tmp_path / "vvdecapp", FAKE_DEC))
    return log


def test_vvc_unavailable_without_binaries(no_vvc_tools, crop):
    c = get_codec("vvc")
    ok, why = c.available()
    assert not ok and "vvencapp" in why and "github.com/fraunhoferhhi/vvenc" in why and "WCS_VVENCAPP" in why
    with pytest.raises(CodecUnavailableError, match="unavailable"):
        c.encode(crop, 32)


def test_vvc_env_var_to_a_non_executable(no_vvc_tools, monkeypatch, tmp_path):
    f = tmp_path / "vvencapp.txt"
    f.write_text("not a program")
    monkeypatch.setenv("WCS_VVENCAPP", str(f))
    ok, why = get_codec("vvc").available()
    assert not ok and "not an executable" in why


def test_vvc_builds_the_right_commands_and_round_trips(fake_vvc, crop):
    c = get_codec("vvc")
    assert c.available() == (True, "")
    data = c.encode(crop, 32)
    argv = json.loads(fake_vvc.read_text().splitlines()[-1])
    opts = {argv[i]: argv[i + 1] for i in range(0, len(argv) - 1, 2)}
    assert opts["-s"] == "64x48" and opts["-c"] == "yuv420_10" and opts["-q"] == "32"
    assert opts["-f"] == "1" and opts["--qpa"] == "0" and opts["--preset"] == "medium"
    assert opts["--internal-bitdepth"] == "10" and opts["-o"].endswith(".266")
    out = c.decode(data)
    assert out.shape == crop.shape and psnr(crop, out) > 30  # only 4:2:0 + 10-bit rounding lost
    d = c.describe(32)
    assert d["qp"] == 32 and d["preset"] == "medium" and d["matrix"] == "BT.709 full range" and d["frames"] == 1
    cmd = c.decode_command("in.266", "out.y4m")
    assert cmd[0].endswith("vvdecapp") and cmd[1:5] == ["-b", "in.266", "-o", "out.y4m"]


def test_vvc_odd_size_and_tool_failure(fake_vvc, crop):
    c = get_codec("vvc")
    odd = np.ascontiguousarray(crop[:47, :63])
    out = c.decode(c.encode(odd, 27))
    assert out.shape == odd.shape
    assert "64x48" in fake_vvc.read_text()  # padded to even for 4:2:0
    with pytest.raises(WcsError, match="exit 3.*simulated failure"):
        c.encode(crop, 63)


def test_vvc_settings_path_wins_and_pyav_decodes_without_vvdecapp(no_vvc_tools, monkeypatch, tmp_path):
    enc = _script(tmp_path / "my-vvencapp", FAKE_ENC)
    baselines.configure(vvencapp=enc)
    c = get_codec("vvc")
    assert c.encode_command("a.yuv", "b.266", 8, 8, 30)[0] == enc
    # PyAV's FFmpeg has a native VVC decoder, so the encoder alone makes VVC available
    assert c.available() == (True, "") and c.describe(30)["decoder"] == "pyav"


def test_yuv420_conversion_is_near_lossless_on_smooth_content():
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 3, y * 4, (x + y) * 2], -1).astype(np.uint8)
    back = vvc_mod.yuv420_to_rgb(*vvc_mod.rgb_to_yuv420(rgb))
    assert psnr(rgb, back) > 40


# ---- results computed elsewhere ------------------------------------------------------------

def test_import_external_results(tmp_path, crop):
    orig = tmp_path / "a.png"
    Image.fromarray(crop).save(orig)
    jpg = get_codec("jpeg")
    data = jpg.encode(crop, 40)
    Image.fromarray(jpg.decode(data)).save(tmp_path / "a_dec.png")
    (tmp_path / "vtm.csv").write_text(f"image,qp,bytes,decoded\na.png,37,{len(data)},a_dec.png\n")
    rows = import_results(tmp_path / "vtm.csv", {"a.png": orig}, codec="vvc")
    assert len(rows) == 1 and rows[0]["codec"] == "vvc" and rows[0]["setting"] == 37
    assert rows[0]["bpp"] == pytest.approx(8 * len(data) / (64 * 48))
    assert rows[0]["psnr"] == pytest.approx(psnr(crop, jpg.decode(data)))
    (tmp_path / "p.json").write_text(json.dumps([{"image": "b.png", "setting": 1, "bytes": 100, "width": 10,
                                                  "height": 10, "psnr": 30.5, "codec": "paper"}]))
    r = import_results(tmp_path / "p.json")[0]
    assert (r["codec"], r["bpp"], r["psnr"]) == ("paper", 8.0, 30.5)
    (tmp_path / "bad.csv").write_text("image,bytes\na.png,10\n")
    with pytest.raises(WcsError, match="needs image, setting"):
        import_results(tmp_path / "bad.csv", {"a.png": orig})
    assert os.path.exists(orig)
