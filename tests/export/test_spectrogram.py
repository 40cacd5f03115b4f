"""The spectrogram the attention view draws a sound on: the whole sound, time and frequency where a
tone of known frequency and start puts them."""

import numpy as np
import pytest

from mmstudio.export.overlay import audio_overlay
from mmstudio.export.spectrogram import MAX_COLUMNS, hz_label, spectrogram

RATE = 16000


def tone(seconds: float, hz: float, start: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * (t >= start)).astype(np.float32)


def test_a_tone_lands_at_its_frequency_and_its_start_over_the_whole_sound():
    spec = spectrogram(tone(5.0, 1000.0, start=3.0), RATE)
    assert spec.duration == 5.0 and spec.fmax == RATE / 2
    rows, columns = spec.db.shape
    loudest_row = int(np.argmax(spec.db[:, -10]))
    # the HTK mel bands' centres are evenly spaced on the mel scale: row r is centred at (r + 1) / (rows + 1)
    assert (loudest_row + 1) / (rows + 1) == pytest.approx(float(spec.y_of(1000.0)), abs=1.5 / rows)
    onset = np.argmax(spec.db[loudest_row] > spec.db[loudest_row].max() - 20)
    assert onset / (columns - 1) == pytest.approx(float(spec.x_of(3.0)), abs=0.01)
    assert spec.time_ticks(6) == [0, 1, 2, 3, 4, 5]
    hz = spec.hz_ticks(5)
    assert hz == sorted(hz) and all(spec.fmin <= f <= spec.fmax for f in hz)
    assert min(np.diff(spec.y_of(hz))) >= 1 / 5 - 1e-9
    assert [hz_label(f) for f in (50, 500, 2000, 8000)] == ["50", "500", "2k", "8k"]


def test_an_hour_long_sound_is_drawn_in_a_bounded_number_of_columns():
    spec = spectrogram(np.zeros(600 * RATE, np.float32), RATE)
    assert spec.db.shape[1] <= MAX_COLUMNS + 1 and spec.duration == 600.0


def test_the_sound_picture_dims_what_the_model_did_not_hear():
    sound = np.random.default_rng(0).standard_normal(5 * RATE).astype(np.float32) * 0.1
    times = (np.arange(25) + 0.5) / 25
    picture = np.asarray(audio_overlay(sound, RATE, np.linspace(0, 1, 25), times, window=(0.0, 1.0), width=500))
    heard, unheard = picture[30:, 10:90].mean(), picture[30:, 110:490].mean()
    assert unheard < 0.6 * heard                       # white noise: equally loud, drawn darker after 1 s
    assert picture[:24, 110:].max() <= 20 and picture[:24, :100].max() > 100   # the attention band: only over 0–1 s
