"""Comparing decoded signals: how alike two recordings are once lined up."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def aligned_correlation(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> float:
    """Normalised cross-correlation of two same-rate signals at their best alignment.

    The lag is the peak of the FFT cross-correlation; the result is the Pearson correlation
    of the overlapping parts at that lag (1.0: identical up to gain and offset). Silence
    around either signal does not lower it; what is missing inside the overlap does.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if not len(x) or not len(y):
        return 0.0
    size = 1 << (len(x) + len(y) - 1).bit_length()
    spectrum = np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size))
    xcorr = np.fft.irfft(spectrum, size)  # xcorr[k] = sum x[n + k] * y[n], k < 0 wraps
    lag = int(np.argmax(xcorr))
    if lag >= len(x):
        lag -= size
    x_part = x[max(lag, 0) :]
    y_part = y[max(-lag, 0) :]
    overlap = min(len(x_part), len(y_part))
    x_part = x_part[:overlap] - x_part[:overlap].mean()
    y_part = y_part[:overlap] - y_part[:overlap].mean()
    norm = math.sqrt(float(np.dot(x_part, x_part)) * float(np.dot(y_part, y_part)))
    return float(np.dot(x_part, y_part)) / norm if norm else 0.0
