"""Work around a reference-count bug in PySide6 6.12.0 on CPython 3.11.

In that build every call of a Qt method that returns nothing (``painter.setPen``, ``widget.update``,
``label.setText``...) drops one reference to ``None`` without having taken it. On CPython < 3.12,
where ``None`` is not yet immortal, its count (a few thousand at start-up) reaches zero after a few
seconds of painting and the interpreter aborts with "none_dealloc: deallocating None".

The fix, applied only when a probe shows the leak: give ``None`` an enormous reference count, which
is exactly what CPython 3.12 does for it (immortal objects). ``None`` is a static singleton that is
never freed, so its count has no other meaning. The proper fix is a PySide6 without the bug; see
``leaks_none()`` in the tests and the README note.
"""

from __future__ import annotations

import ctypes
import sys

_APPLIED = False


def leaks_none(calls: int = 64) -> int:
    """How many references to None ``calls`` void Qt method calls lose (0 on a healthy build)."""
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        obj.setObjectName("probe")
    return before - sys.getrefcount(None)


def apply() -> bool:
    """Make None effectively immortal if (and only if) this PySide6 leaks it. Idempotent."""
    global _APPLIED
    if _APPLIED or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _APPLIED
    try:
        if leaks_none() < 32:
            return False
    except Exception:  # no Qt: nothing to fix
        return False
    # ob_refcnt is the first field of every CPython object, at the object's address.
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 48
    _APPLIED = True
    return True
