"""read_audio / resample on real files written with soundfile, and on a corpus of bad ones."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from mmstudio.core.errors import MediaError
from mmstudio.core.media.audio import Audio, read_audio, resample


def sine(freq=440.0, rate=44100, seconds=1.0, amp=0.5) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def refused(path, **kw) -> MediaError:
    with pytest.raises(MediaError) as info:
        read_audio(path, **kw)
    err = info.value
    assert err.modality == "audio" and err.path == str(path)
    return err


def can_write(fmt: str, subtype: str) -> bool:
    return fmt in sf.available_formats() and subtype in sf.available_subtypes(fmt)


# --- every supported format -------------------------------------------------------------------

LOSSLESS = [("wav", "WAV", "PCM_16"), ("wav", "WAV", "PCM_24"), ("wav", "WAV", "FLOAT"),
            ("flac", "FLAC", "PCM_16"), ("flac", "FLAC", "PCM_24")]
LOSSY = [("ogg", "OGG", "VORBIS", 44100), ("ogg", "OGG", "OPUS", 48000), ("mp3", "MP3", "MPEG_LAYER_III", 44100)]


@pytest.mark.parametrize("ext,fmt,subtype", LOSSLESS, ids=[f"{f[1]}-{f[2]}" for f in LOSSLESS])
def test_lossless_formats(tmp_path, ext, fmt, subtype):
    path = tmp_path / f"sine.{ext}"
    x = sine()
    sf.write(path, x, 44100, format=fmt, subtype=subtype)
    a = read_audio(path)
    assert isinstance(a, Audio) and a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert a.rate == a.source_rate == 44100 and a.source_channels == 1
    assert len(a.samples) == len(x) and a.duration == pytest.approx(1.0)
    assert np.max(np.abs(a.samples - x)) < 1e-3 and a.note is None


@pytest.mark.parametrize("ext,fmt,subtype,rate", LOSSY, ids=[f[2] for f in LOSSY])
def test_lossy_formats(tmp_path, ext, fmt, subtype, rate):
    if not can_write(fmt, subtype):
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} cannot write {fmt}/{subtype}")
    path = tmp_path / f"sine.{ext}"
    sf.write(path, sine(rate=rate), rate, format=fmt, subtype=subtype)
    a = read_audio(path)
    assert a.samples.dtype == np.float32 and a.samples.ndim == 1 and a.rate == rate
    assert a.duration == pytest.approx(1.0, abs=0.05)
    middle = a.samples[len(a.samples) // 4: 3 * len(a.samples) // 4]  # codecs ring at the edges
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)
    assert peak_frequency(a.samples, rate) == pytest.approx(440, abs=3)


def test_mp3_readable_when_libsndfile_has_it(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} has no MP3 support")
    if not can_write("MP3", "MPEG_LAYER_III"):
        pytest.skip("libsndfile reads MP3 but cannot write it, so no test file can be made")
    path = tmp_path / "stereo.mp3"
    sf.write(path, np.stack([sine(), sine()], axis=1), 44100, format="MP3")
    a = read_audio(path, target_rate=16000)
    assert a.source_channels == 2 and a.rate == 16000 and a.source_rate == 44100


# --- channels, resampling, limits --------------------------------------------------------------


def test_stereo_with_silent_channel_is_half_amplitude(tmp_path):
    path = tmp_path / "stereo.wav"
    x = sine(amp=0.8)
    sf.write(path, np.stack([x, np.zeros_like(x)], axis=1), 44100, subtype="FLOAT")
    a = read_audio(path)
    assert a.source_channels == 2 and a.samples.ndim == 1
    np.testing.assert_allclose(a.samples, x / 2, atol=1e-6)


def test_many_channels_mixed_to_mono(tmp_path):
    path = tmp_path / "six.wav"
    x = np.tile(np.arange(6, dtype=np.float32) / 10, (1000, 1))  # channel k holds k/10
    sf.write(path, x, 8000, subtype="FLOAT")
    a = read_audio(path)
    assert a.source_channels == 6
    np.testing.assert_allclose(a.samples, np.full(1000, 0.25, np.float32), atol=1e-6)


def test_resample_keeps_frequency_and_duration(tmp_path):
    path = tmp_path / "sine.wav"
    sf.write(path, sine(1000, 44100, 2.0), 44100, subtype="PCM_16")
    a = read_audio(path, target_rate=16000)
    assert a.rate == 16000 and a.source_rate == 44100
    assert a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert len(a.samples) == pytest.approx(32000, abs=2)
    assert a.duration == pytest.approx(2.0, abs=1e-3)
    assert peak_frequency(a.samples, 16000) == pytest.approx(1000, abs=1)
    assert np.max(np.abs(a.samples)) == pytest.approx(0.5, abs=0.02)


def test_target_rate_equal_to_source_is_untouched(tmp_path):
    path = tmp_path / "sine.wav"
    x = sine(rate=16000)
    sf.write(path, x, 16000, subtype="FLOAT")
    a = read_audio(path, target_rate=16000)
    np.testing.assert_array_equal(a.samples, x)


def test_max_duration_reads_only_the_start(tmp_path):
    path = tmp_path / "long.wav"
    rate = 8000
    sf.write(path, np.zeros(rate * 600, np.int16) + 100, rate, subtype="PCM_16")  # 10 minutes
    tracemalloc.start()
    try:
        a = read_audio(path, max_duration=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert a.duration == pytest.approx(1.0) and len(a.samples) == rate and a.note is None
    assert peak < 1_000_000  # reading the whole file would take ~19 MB of float32


def test_max_duration_longer_than_file(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, sine(seconds=0.5), 44100)
    assert read_audio(path, max_duration=10).duration == pytest.approx(0.5)


def test_max_duration_then_resample(tmp_path):
    path = tmp_path / "sine.wav"
    sf.write(path, sine(seconds=3), 44100)
    a = read_audio(path, target_rate=16000, max_duration=1.5)
    assert a.rate == 16000 and a.duration == pytest.approx(1.5, abs=1e-3)


def test_silence_is_valid_with_a_note(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(4410, np.float32), 44100)
    a = read_audio(path)
    assert a.duration == pytest.approx(0.1) and not a.samples.any()
    assert "silent" in a.note


def test_bad_arguments_raise_value_error(tmp_path):
    path = tmp_path / "sine.wav"
    sf.write(path, sine(), 44100)
    with pytest.raises(ValueError):
        read_audio(path, target_rate=0)
    with pytest.raises(ValueError):
        read_audio(path, max_duration=-1)


# --- resample helper ----------------------------------------------------------------------------


def test_resample_helper():
    x = sine(440, 48000, 1.0)
    y = resample(x, 48000, 16000)
    assert y.dtype == np.float32 and len(y) == 16000
    assert peak_frequency(y, 16000) == pytest.approx(440, abs=1)
    same = resample(x, 16000, 16000)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    assert resample(np.zeros(0, np.float32), 44100, 16000).shape == (0,)
    stereo = resample(np.stack([x, x], axis=1), 48000, 24000)
    assert stereo.shape == (24000, 2)
    with pytest.raises(ValueError):
        resample(x, 0, 16000)


# --- bad input corpus ---------------------------------------------------------------------------


def test_zero_byte_wav(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert refused(path).reason == "file is empty (0 bytes)"


def test_wav_with_zero_frames(tmp_path):
    path = tmp_path / "noframes.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    assert refused(path).reason == "audio is empty (0 frames)"


def test_one_millisecond_is_too_short(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, sine(rate=16000, seconds=0.001), 16000)
    assert refused(path).reason == "audio is 1.0 ms long, shorter than the 10 ms minimum"
    assert read_audio(path, min_duration=0.0005).duration == pytest.approx(0.001)
    assert refused(path, min_duration=1.5).reason == "audio is 1.0 ms long, shorter than the 1.5 s minimum"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_samples_refused(tmp_path, bad):
    path = tmp_path / "bad.wav"
    x = sine()
    x[1234] = bad
    sf.write(path, x, 44100, subtype="FLOAT")
    assert refused(path).reason == "audio contains NaN or infinite samples"


def test_non_finite_in_one_channel_refused(tmp_path):
    path = tmp_path / "bad_stereo.wav"
    x = np.zeros((1000, 2), np.float32)
    x[10, 1] = np.inf
    sf.write(path, x, 8000, subtype="FLOAT")
    assert refused(path).reason == "audio contains NaN or infinite samples"


def test_wav_cut_short_is_accepted_with_real_length(tmp_path):
    """Policy: a header that claims more than the file holds gives the frames that are there, with a note."""
    path = tmp_path / "cut.wav"
    sf.write(path, sine(), 44100, subtype="PCM_16")  # 44100 frames, 2 bytes each
    data = path.read_bytes()
    path.write_bytes(data[:-20000])  # drop 10000 frames; header still claims 44100
    a = read_audio(path)
    assert len(a.samples) == 44100 - 10000
    assert "shorter than its header claims" in a.note


def test_wav_with_huge_data_size_is_accepted_with_real_length(tmp_path):
    path = tmp_path / "liar.wav"
    sf.write(path, sine(), 44100, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    at = data.find(b"data")
    data[at + 4: at + 8] = struct.pack("<I", 0xFFFFFFF0)  # claims ~2 billion frames
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        a = read_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(a.samples) == 44100 and "shorter than its header claims" in a.note
    assert peak < 20_000_000


def test_truncated_flac_refused(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, sine(seconds=3), 44100, format="FLAC")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    reason = refused(path).reason
    assert reason.startswith("audio data is corrupt or truncated")


@pytest.mark.parametrize("fmt,subtype", [("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", "MPEG_LAYER_III")])
@pytest.mark.parametrize("keep", [0.5, 0.02])
def test_truncated_lossy_gives_clear_outcome(tmp_path, fmt, subtype, keep):
    """Cut compressed streams either read (real length, noted) or are refused: never a crash."""
    if not can_write(fmt, subtype):
        pytest.skip(f"libsndfile cannot write {fmt}/{subtype}")
    path = tmp_path / f"cut.{fmt.lower()}"
    sf.write(path, sine(rate=48000, seconds=3), 48000, format=fmt, subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    try:
        a = read_audio(path)
    except MediaError as err:
        assert err.reason and err.modality == "audio"
    else:
        assert a.samples.dtype == np.float32 and 0 < a.duration < 3.0
        assert np.isfinite(a.samples).all()


def test_random_bytes_named_wav(tmp_path):
    path = tmp_path / "random.wav"
    path.write_bytes(np.random.default_rng(2).integers(0, 256, 8192, dtype=np.uint8).tobytes())
    assert refused(path).reason == "not an audio file (unrecognised data)"


def test_text_named_mp3(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_text("this is not audio at all, just words " * 20)
    assert refused(path).reason  # unrecognised, or "MP3 is not supported" where libsndfile lacks it


def test_missing_file_and_folder(tmp_path):
    assert refused(tmp_path / "nope.wav").reason == "file not found"
    folder = tmp_path / "dir.wav"
    folder.mkdir()
    assert refused(folder).reason == "is a folder, not a file"


def test_duration_property():
    a = Audio(np.zeros(8000, np.float32), 16000, 44100, 2)
    assert a.duration == 0.5 and a.note is None


def test_a_file_name_that_is_not_utf8_is_read(tmp_path):
    import os

    path = tmp_path / os.fsdecode(b"caf\xe9.wav")
    sf.write(os.fsencode(path), sine(rate=16000, seconds=0.5), 16000)   # soundfile takes such a name as bytes only
    audio = read_audio(path)
    assert audio.rate == 16000 and len(audio.samples) == 8000
