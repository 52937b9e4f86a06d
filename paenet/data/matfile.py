"""Reading one named variable out of a MATLAB v5 file, with messages meant for a person."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class MatFileError(ValueError):
    """``path`` is missing, unreadable, or lacks the variable; callers re-raise it as
    their own error type (dataset or import error) with the same text."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def load_variable(path: Path | str, variable: str) -> np.ndarray:
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except FileNotFoundError:
        raise MatFileError(path, "file not found") from None
    except Exception as exc:  # scipy raises several types for a file that is not .mat
        raise MatFileError(path, f"not a readable MATLAB v5 file ({exc})") from None
    if variable not in mat:
        names = [k for k in mat if not k.startswith("__")]
        raise MatFileError(path, f"expected a variable '{variable}', found {names}")
    return np.asarray(mat[variable])
