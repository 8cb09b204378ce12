"""Settings remembered between runs (QSettings): last folder, chosen codecs, layout, recent files."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from . import APP_NAME, ORG_NAME

MAX_RECENT = 10


class Settings:
    """Typed access to QSettings; every getter tolerates missing or malformed values."""

    def __init__(self, qsettings: QSettings | None = None):
        # INI everywhere: readable, portable, and redirectable with QSettings.setPath (tests do)
        self.q = qsettings or QSettings(QSettings.IniFormat, QSettings.UserScope, ORG_NAME, APP_NAME)

    def _get(self, key, default, kind=None):
        v = self.q.value(key, default)
        if kind is list:
            if v is None:
                return list(default)
            return [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)] if v else []
        if kind is not None:
            try:
                return kind(v)
            except (TypeError, ValueError):
                return default
        return v

    # folders and files
    @property
    def last_folder(self) -> str:
        return self._get("last_folder", "", str)

    @last_folder.setter
    def last_folder(self, v: str) -> None:
        self.q.setValue("last_folder", str(v))

    @property
    def recent_files(self) -> list[str]:
        return self._get("recent_files", [], list)

    def add_recent(self, path: str) -> list[str]:
        items = [p for p in self.recent_files if p != str(path)]
        items.insert(0, str(path))
        items = items[:MAX_RECENT]
        self.q.setValue("recent_files", items)
        return items

    def clear_recent(self) -> None:
        self.q.setValue("recent_files", [])

    # codec choices
    @property
    def codecs(self) -> list[str] | None:
        """Chosen classical codecs; None when never set (the panel then picks JPEG and WebP)."""
        if not self.q.contains("codecs"):
            return None
        return self._get("codecs", [], list)

    @codecs.setter
    def codecs(self, names) -> None:
        self.q.setValue("codecs", list(names))

    @property
    def device(self) -> str:
        return self._get("device", "auto", str)

    @device.setter
    def device(self, v: str) -> None:
        self.q.setValue("device", v)

    @property
    def lam(self) -> float:
        return self._get("lambda", 0.013, float)

    @lam.setter
    def lam(self, v: float) -> None:
        self.q.setValue("lambda", float(v))

    @property
    def refine(self) -> int:
        """Encoder refinement steps (0: off); the panel's spin box keeps it in its range."""
        return self._get("refine", 0, int)

    @refine.setter
    def refine(self, v: int) -> None:
        self.q.setValue("refine", int(v))

    @property
    def panel(self) -> dict:
        return {
            "groups": self._get("groups", 4, int),
            "context": self._get("context", "standard", str),
            "phase4": self._get("phase4", "false", str).lower() == "true",
        }

    @panel.setter
    def panel(self, d: dict) -> None:
        self.q.setValue("groups", int(d["groups"]))
        self.q.setValue("context", str(d["context"]))
        self.q.setValue("phase4", "true" if d["phase4"] else "false")

    # window layout
    def save_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("geometry", geometry)
        self.q.setValue("window_state", state)

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        g, s = self.q.value("geometry"), self.q.value("window_state")
        return (g if isinstance(g, QByteArray) else None, s if isinstance(s, QByteArray) else None)

    def sync(self) -> None:
        self.q.sync()
