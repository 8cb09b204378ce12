"""Name, version and icon come from pyproject.toml and show in the window title and the About box."""

import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_and_name_come_from_pyproject():
    import core
    from core import product

    assert core.__version__ == PYPROJECT["project"]["version"] == product.VERSION
    assert product.DISPLAY_NAME == PYPROJECT["tool"]["wcs-studio"]["display-name"]
    assert product.ICON == ROOT / PYPROJECT["tool"]["wcs-studio"]["icon"] and product.ICON.is_file()


def test_icon_is_a_square_png():
    from PIL import Image

    from core import product

    with Image.open(product.ICON) as im:
        assert im.format == "PNG" and im.size[0] == im.size[1] >= 256


def test_bundle_reads_the_bundled_pyproject(tmp_path, monkeypatch):
    """In a PyInstaller bundle the root is sys._MEIPASS, where the spec puts pyproject.toml."""
    from core import product

    text = (ROOT / "pyproject.toml").read_text().replace(
        f'version = "{product.VERSION}"', 'version = "9.8.7"', 1)
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    version, name, icon = product._load()
    assert (version, name, icon) == ("9.8.7", product.DISPLAY_NAME, tmp_path / "resources" / "icon.png")


def test_window_title_icon_and_about_box(qtbot, demo_provider):
    from app.main_window import MainWindow
    from core import product

    win = MainWindow(demo_provider)
    qtbot.addWidget(win)
    assert win.windowTitle() == f"{product.DISPLAY_NAME} {product.VERSION}"
    assert not win.windowIcon().isNull()
    assert win.act_about.text().replace("&", "") == f"About {product.DISPLAY_NAME}"
    text = win.product_about_text()
    assert product.DISPLAY_NAME in text and f"Version {product.VERSION}" in text
    from core.manifest import read_manifest

    for variant, entry in read_manifest()["models"].items():  # how far each installed variant is trained
        assert f"{variant} ({entry['model_id']})" in text and "training steps" in text
