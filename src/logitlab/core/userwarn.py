"""Warnings that point at the user's line, not at logitlab's.

``warn(message, category)`` issues ``warnings.warn`` with the ``stacklevel`` of
the first frame outside the logitlab package, so that a warning raised deep in
a fit (``CollinearityWarning``, ``SeparationWarning``, ...) names the caller's
``model.fit(...)`` line however many logitlab frames lie between (Python 3.12's
``skip_file_prefixes``, for every supported Python).
"""

from __future__ import annotations

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _inside_package(frame) -> bool:
    return os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR)


def user_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` called by the caller of this
    function that points at the first frame outside logitlab (or the outermost
    frame when every frame is logitlab's, e.g. the CLI)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and _inside_package(frame):
        frame, level = frame.f_back, level + 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the user's code."""
    warnings.warn(message, category, stacklevel=user_stacklevel())
