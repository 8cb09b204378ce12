"""Odd inputs are converted predictably; unreadable ones fail with a clear message."""

import io

import numpy as np
import pytest
from PIL import Image

from core import images
from core.errors import ImageError
from core.images import load_image, write_atomic

from .helpers import sample_crop


def save(tmp_path, img, name, **kw):
    p = tmp_path / name
    img.save(p, **kw)
    return p


def test_rgb_png_is_unchanged(tmp_path):
    rgb = sample_crop(10, 12)
    assert np.array_equal(load_image(save(tmp_path, Image.fromarray(rgb), "a.png")), rgb)


def test_16bit_gray_is_scaled_not_stretched(tmp_path):
    arr = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    out = load_image(save(tmp_path, Image.fromarray(arr), "g16.png"))
    assert out.shape == (1, 3, 3)
    assert out[0, :, 0].tolist() == [0, 100, 255] and (out[..., 0] == out[..., 2]).all()


def test_gray_and_palette(tmp_path):
    g = Image.fromarray(np.full((4, 5), 77, np.uint8), "L")
    assert (load_image(save(tmp_path, g, "g.png")) == 77).all()
    p = Image.fromarray(sample_crop(8, 8)).convert("P")
    assert load_image(save(tmp_path, p, "p.png")).shape == (8, 8, 3)


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, 0, 3] = 255  # opaque red-ish
    rgba[0, 1, 3] = 0  # fully transparent -> white
    out = load_image(save(tmp_path, Image.fromarray(rgba, "RGBA"), "a.png"))
    assert out[0, 0].tolist() == [200, 0, 0]
    assert out[0, 1].tolist() == [255, 255, 255]


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.new("CMYK", (6, 4), (0, 255, 255, 0))  # pure red in CMYK
    out = load_image(save(tmp_path, cmyk, "c.jpg", quality=95))
    assert out.shape == (4, 6, 3)
    assert out[..., 0].mean() > 200 and out[..., 1].mean() < 60


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(sample_crop(10, 30))  # 30 wide, 10 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    out = load_image(save(tmp_path, img, "r.jpg", exif=exif.tobytes()))
    assert out.shape == (30, 10, 3)


def test_one_pixel(tmp_path):
    out = load_image(save(tmp_path, Image.new("RGB", (1, 1), (1, 2, 3)), "one.png"))
    assert out.tolist() == [[[1, 2, 3]]]


def test_unreadable_inputs(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    txt = tmp_path / "notes.png"
    txt.write_text("not an image")
    with pytest.raises(ImageError, match="not an image format"):
        load_image(txt)
    buf = io.BytesIO()
    Image.fromarray(sample_crop(64, 64)).save(buf, "PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(buf.getvalue()[:300])
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(cut)


def test_huge_images_refused(tmp_path, monkeypatch):
    p = save(tmp_path, Image.new("RGB", (50, 40)), "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="larger than"):
        load_image(p)


def test_write_atomic_never_overwrites_silently(tmp_path):
    p = tmp_path / "out.bin"
    write_atomic(p, b"one")
    with pytest.raises(FileExistsError):
        write_atomic(p, b"two")
    assert p.read_bytes() == b"one"
    write_atomic(p, b"two", overwrite=True)
    assert p.read_bytes() == b"two"
    assert [q.name for q in tmp_path.iterdir()] == ["out.bin"]  # no temporary left behind
