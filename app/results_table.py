"""The results table: one row per encode; sortable (numerically), filterable by image, copyable."""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView

from .workers import ResultRow

COLUMNS = [
    ("Codec", "codec_label"), ("Setting", "setting"), ("Bytes", "nbytes"), ("bpp", "bpp"),
    ("PSNR (dB)", "psnr"), ("MS-SSIM", "ms_ssim"), ("Encode ms", "enc_ms"), ("Decode ms", "dec_ms"),
]
NUMERIC = {"nbytes", "bpp", "psnr", "ms_ssim", "enc_ms", "dec_ms"}
ROW_ROLE = Qt.UserRole + 1


def fmt(attr: str, v) -> str:
    if attr == "nbytes":
        return f"{v:,}"
    if attr == "bpp":
        return f"{v:.4f}"
    if attr == "psnr":
        return "∞" if math.isinf(v) else f"{v:.2f}"
    if attr == "ms_ssim":
        return f"{v:.4f}"
    if attr in ("enc_ms", "dec_ms"):
        return f"{v:.1f}"
    return str(v)


class ResultsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self.colors: dict[str, QColor] = {}

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section][0]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        attr = COLUMNS[index.column()][1]
        v = getattr(row, attr)
        if role == Qt.DisplayRole:
            return fmt(attr, v)
        if role == Qt.UserRole:  # the sort key: numbers sort as numbers
            return float(v) if attr in NUMERIC else (row.value if attr == "setting" else str(v))
        if role == ROW_ROLE:
            return row
        if role == Qt.TextAlignmentRole and attr in NUMERIC:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.DecorationRole and index.column() == 0:
            return self.colors.get(row.curve)
        if role == Qt.ToolTipRole and row.kind == "learned":
            return f"{row.codec_label}: {len(row.decode_trace)} decode steps"
        return None

    def add(self, row: ResultRow) -> None:
        """Append a result; one for the same image, codec and setting as an earlier one (a sweep
        that includes the λ already compressed, a rerun) replaces it instead of listing it twice."""
        for i, old in enumerate(self.rows):
            if (old.image_key, old.curve, old.setting) == (row.image_key, row.curve, row.setting):
                self.rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
                return
        n = len(self.rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self.rows.append(row)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows.clear()
        self.endResetModel()

    def remove_image(self, key: str) -> None:
        self.beginResetModel()
        self.rows = [r for r in self.rows if r.image_key != key]
        self.endResetModel()


class ImageFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.image_key: str | None = None
        self.setSortRole(Qt.UserRole)

    def set_image(self, key: str | None) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9 replaces invalidateFilter()
            self.beginFilterChange()
            self.image_key = key
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            self.image_key = key
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent):
        if self.image_key is None:
            return True
        return self.sourceModel().rows[source_row].image_key == self.image_key


class ResultsTable(QTableView):
    """Table view over ResultsModel (filtered to the current image). Ctrl+C copies as TSV."""

    row_activated = Signal(object)  # ResultRow

    def __init__(self, model: ResultsModel, parent=None):
        super().__init__(parent)
        self.source = model
        self.proxy = ImageFilter(self)
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(3, Qt.AscendingOrder)  # by bpp: rows line up with the RD plot
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeToContents)
        h.setStretchLastSection(True)
        copy = QAction("Copy", self)
        copy.setShortcut(QKeySequence.Copy)
        copy.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        copy.triggered.connect(self.copy_selection)
        self.addAction(copy)
        self.copy_action = copy
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.doubleClicked.connect(lambda idx: self.row_activated.emit(self.proxy.data(idx, ROW_ROLE)))
        self.extra_actions: list[QAction] = []

    def _menu(self, pos):
        m = QMenu(self)
        m.addAction(self.copy_action)
        for a in self.extra_actions:
            m.addAction(a)
        m.exec(self.viewport().mapToGlobal(pos))

    def visible_rows(self) -> list[ResultRow]:
        return [self.proxy.data(self.proxy.index(r, 0), ROW_ROLE) for r in range(self.proxy.rowCount())]

    def selected_rows(self) -> list[ResultRow]:
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        return [self.proxy.data(self.proxy.index(r, 0), ROW_ROLE) for r in rows]

    def as_tsv(self, rows=None) -> str:
        rows = self.visible_rows() if rows is None else rows
        lines = ["\t".join(c[0] for c in COLUMNS)]
        for r in rows:
            lines.append("\t".join(fmt(a, getattr(r, a)).replace(",", "") for _, a in COLUMNS))
        return "\n".join(lines) + "\n"

    def copy_selection(self) -> str:
        """Copy the selected rows (all visible rows when none is selected) as tab-separated text."""
        text = self.as_tsv(self.selected_rows() or None)
        QGuiApplication.clipboard().setText(text)
        return text
