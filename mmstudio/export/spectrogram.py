"""A sound's log-mel spectrogram over its whole length, with what its axes need: where a time (s) and a
frequency (Hz, on the mel scale) fall on the picture, and round values for the ticks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_COLUMNS = 2000   # longer sounds are drawn with a longer hop, not more columns


def _mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


@dataclass(frozen=True, eq=False)
class Spectrogram:
    """``db``: (n_mels, columns) in dB, low frequencies in row 0; the columns span 0 to ``duration`` s;
    the rows span ``fmin`` to ``fmax`` Hz on the HTK mel scale of :func:`mmstudio.core.media.audio.mel_filterbank`."""

    db: np.ndarray
    duration: float
    fmin: float
    fmax: float

    def x_of(self, seconds) -> np.ndarray:
        """Where a time falls across the picture, 0 (start) to 1 (end of the sound)."""
        return np.asarray(seconds, np.float64) / self.duration if self.duration > 0 else np.zeros(np.shape(seconds))

    def y_of(self, hz) -> np.ndarray:
        """Where a frequency falls up the picture, 0 (``fmin``) to 1 (``fmax``), on the mel scale."""
        lo, hi = _mel(self.fmin), _mel(self.fmax)
        return (_mel(hz) - lo) / (hi - lo)

    def time_ticks(self, most: int = 6) -> list[float]:
        """Round times in seconds from 0 to the end, at most ``most``."""
        step = _round_step(self.duration / max(most - 1, 1))
        return [k * step for k in range(int(self.duration / step + 1e-9) + 1)]

    def hz_ticks(self, most: int = 5) -> list[float]:
        """Round frequencies (1, 2, 5 × 10^k Hz) inside the band, spaced evenly enough on the mel scale
        that no two are closer than 1 / most of the height."""
        candidates = [m * 10.0 ** e for e in range(1, 6) for m in (1, 2, 5)]
        kept: list[float] = []
        for hz in sorted(c for c in candidates if self.fmin <= c <= self.fmax):
            if not kept or float(self.y_of(hz) - self.y_of(kept[-1])) >= 1.0 / most:
                kept.append(hz)
        return kept

    def grey(self) -> np.ndarray:
        """(n_mels, columns, 3) uint8, high frequencies in row 0 (as a picture is drawn)."""
        from mmstudio.export.colormaps import apply

        return apply(self.db[::-1], "gray")


def spectrogram(samples: np.ndarray, rate: int, *, n_fft: int = 1024, n_mels: int = 96,
                fmin: float = 40.0) -> Spectrogram:
    """The log-mel spectrogram of the whole of ``samples`` (70 dB of range below the loudest band), at most
    ``MAX_COLUMNS`` columns wide."""
    from mmstudio.core.media.audio import mel_filterbank

    x = np.asarray(samples, np.float32)
    duration = len(x) / rate
    hop = max(n_fft // 8, math.ceil(len(x) / MAX_COLUMNS))
    x = np.pad(x, (n_fft // 2, n_fft // 2))  # column i is centred on sample i · hop: the columns span the sound
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = power @ mel_filterbank(rate, n_fft, n_mels, fmin, rate / 2).T
    db = 10 * np.log10(mel.T + 1e-10)
    return Spectrogram(np.maximum(db, db.max() - 70).astype(np.float32), duration, fmin, rate / 2)


def hz_label(hz: float) -> str:
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def seconds_label(seconds: float) -> str:
    return f"{seconds:.3g}"


def _round_step(raw: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is ≥ raw."""
    if raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * 10.0 ** exponent >= raw - 1e-12:
            return m * 10.0 ** exponent
    return 10.0 ** (exponent + 1)
