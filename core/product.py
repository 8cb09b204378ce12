"""The product's name, version and icon, read from pyproject.toml: the one place they are written.

``[project] version`` is the version; ``[tool.wcs-studio]`` has the display name and the icon.
The PyInstaller bundle ships pyproject.toml (and the package metadata), so a source checkout, an
editable install and the bundle all read the same file. An installed wheel, which has no
pyproject.toml, falls back to the installed package metadata. Never imports torch or Qt.
"""

from __future__ import annotations

import sys
from pathlib import Path

DIST_NAME = "wavelet-codec-studio"
_DEFAULT_DISPLAY_NAME = "Wavelet Codec Studio"
_DEFAULT_ICON = "resources/icon.png"


def root() -> Path:
    """The folder that holds pyproject.toml and resources/: the bundle's folder or the source tree."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parent.parent


def _read_pyproject(path: Path) -> dict | None:
    try:
        import tomllib
    except ImportError:  # Python 3.10: use the package metadata
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("project", {}).get("name") == DIST_NAME else None


def _metadata_version() -> str:
    from importlib import metadata

    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def _load() -> tuple[str, str, Path]:
    data = _read_pyproject(root() / "pyproject.toml")
    if data is None:
        return _metadata_version(), _DEFAULT_DISPLAY_NAME, root() / _DEFAULT_ICON
    tool = data.get("tool", {}).get("wcs-studio", {})
    return (data["project"].get("version") or _metadata_version(),
            tool.get("display-name", _DEFAULT_DISPLAY_NAME),
            root() / tool.get("icon", _DEFAULT_ICON))


VERSION, DISPLAY_NAME, ICON = _load()
