"""Reading audio: any file libsndfile can decode in, mono float32 samples out.

Every failure is a :class:`~mmstudio.core.errors.MediaError` with a short reason a user can act on.

Policy for a header that lies about the length (a WAV cut short, a data chunk claiming more frames
than the file holds): the audio is **accepted with its real length**, the frames that are actually
there, and :attr:`Audio.note` says so. A decoder *error* part-way through (e.g. a damaged FLAC) is
refused instead, since the samples around the damage cannot be trusted.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from mmstudio.core.errors import MediaError
from mmstudio.core.media.files import open_source
from mmstudio.core.names import is_utf8, path_bytes

MODALITY = "audio"

_BLOCK_SAMPLES = 1 << 20  # read at most ~1 M samples (all channels together) per call: bounded memory
_SMALL_FILE = 1024  # bytes: a 0-frame file bigger than this is probably damaged rather than empty


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono audio: ``samples`` (float32, 1-D) at ``rate`` Hz, and what the file held before mixing/resampling."""

    samples: np.ndarray
    rate: int
    source_rate: int
    source_channels: int
    note: str | None = None

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate


def read_audio(path, *, target_rate: int | None = None, min_duration: float = 0.01,
               max_duration: float | None = None) -> Audio:
    """Read an audio file as mono float32, optionally resampled to ``target_rate`` Hz.

    WAV, FLAC, OGG (Vorbis, Opus) and, where libsndfile has it, MP3. Channels are averaged to mono.
    ``max_duration`` (seconds) reads only the start of the file. Audio shorter than ``min_duration``
    seconds, empty, or holding NaN/infinite samples is refused. Silence is valid (with a note).
    Bad arguments raise ValueError; everything about the file raises MediaError.
    """
    if target_rate is not None and target_rate <= 0:
        raise ValueError(f"target_rate must be positive, got {target_rate}")
    if max_duration is not None and max_duration <= 0:
        raise ValueError(f"max_duration must be positive, got {max_duration}")
    source, size = open_source(path, MODALITY)
    try:
        f = sf.SoundFile(source if isinstance(source, io.BytesIO) else _native(source))
    except Exception as exc:  # LibsndfileError / SoundFileError / OSError from libsndfile
        raise MediaError(path, MODALITY, _open_reason(path, exc)) from exc
    with f:
        rate, channels, claimed = f.samplerate, f.channels, f.frames
        if rate <= 0 or channels <= 0:
            raise MediaError(path, MODALITY, "audio header is invalid (no sample rate or channels)")
        limit = None if max_duration is None else max(1, int(max_duration * rate))
        samples = _read_mono(path, f, limit)
        log = f.extra_info or ""

    notes = []
    if len(samples) == 0:
        hint = "" if size <= _SMALL_FILE else f"; the file holds {size:,} bytes, so it may be truncated or damaged"
        raise MediaError(path, MODALITY, f"audio is empty (0 frames){hint}")
    wanted = claimed if limit is None else min(claimed, limit)
    if len(samples) < wanted or re.search(r"^data\s*:.*should be", log, re.MULTILINE):
        notes.append(f"file is shorter than its header claims; using the {len(samples):,} frames present")
    duration = len(samples) / rate
    if duration < min_duration:
        raise MediaError(path, MODALITY, f"audio is {_fmt_time(duration)} long, "
                                         f"shorter than the {_fmt_time(min_duration, '.3g')} minimum")
    if not np.any(samples):
        notes.append("audio is silent (all samples are zero)")
    out_rate = rate
    if target_rate is not None and target_rate != rate:
        try:
            samples, out_rate = resample(samples, rate, target_rate), target_rate
        except Exception as exc:  # MemoryError on a huge file, or soxr refusing an odd rate
            raise MediaError(path, MODALITY, f"cannot resample {rate} Hz to {target_rate} Hz ({exc})") from exc
    return Audio(samples, out_rate, rate, channels, "; ".join(notes) or None)


def audio_header(path) -> tuple[int, int, int]:
    """(sample rate, channels, frames) from the file's header alone: no sample is decoded."""
    source, _ = open_source(path, MODALITY)
    try:
        info = sf.info(source if isinstance(source, io.BytesIO) else _native(source))
    except Exception as exc:
        raise MediaError(path, MODALITY, _open_reason(path, exc)) from exc
    return info.samplerate, info.channels, info.frames


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    points = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    bank = np.zeros((n_mels, len(bins)), np.float32)
    for m in range(n_mels):
        lo, mid, hi = points[m], points[m + 1], points[m + 2]
        rise = (bins - lo) / (mid - lo)
        fall = (hi - bins) / (hi - mid)
        bank[m] = np.maximum(0, np.minimum(rise, fall))
    return bank


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample float audio (1-D, or 2-D frames × channels) with soxr's high-quality filter, as float32."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} → {to_rate}")
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if from_rate == to_rate or len(x) == 0:
        return x.copy()
    import soxr

    return np.asarray(soxr.resample(x, from_rate, to_rate, quality="HQ"), dtype=np.float32)


# --- helpers -----------------------------------------------------------------------------------


def _native(path):
    """The name to give libsndfile: text, or the exact bytes of a name that is not UTF-8 (it would
    encode the text strictly and fail)."""
    text = str(path)
    return text if is_utf8(text) else path_bytes(text)


def _read_mono(path, f: sf.SoundFile, limit: int | None) -> np.ndarray:
    """Read block by block, mixing each to mono at once; stop at ``limit`` frames or the real end."""
    block = max(1, _BLOCK_SAMPLES // f.channels)
    parts, total = [], 0
    while limit is None or total < limit:
        want = block if limit is None else min(block, limit - total)
        try:
            data = f.read(want, dtype="float32", always_2d=True)
        except MemoryError as exc:
            raise MediaError(path, MODALITY, "audio is too large to read (out of memory)") from exc
        except Exception as exc:  # a decoder error part-way through
            raise MediaError(path, MODALITY, f"audio data is corrupt or truncated ({_detail(exc)})") from exc
        if len(data) == 0:
            break
        if not np.isfinite(data).all():
            raise MediaError(path, MODALITY, "audio contains NaN or infinite samples")
        parts.append(data[:, 0].copy() if f.channels == 1 else data.mean(axis=1, dtype=np.float32))
        total += len(data)
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _detail(exc: BaseException) -> str:
    """libsndfile's own message, without its "Error : " prefix and final full stop."""
    text = getattr(exc, "error_string", None) or str(exc) or type(exc).__name__
    return re.sub(r"^\s*error\s*:\s*", "", text.strip(), flags=re.IGNORECASE).rstrip(".")


def _open_reason(path, exc: BaseException) -> str:
    detail = _detail(exc)
    if Path(path).suffix.lower() == ".mp3" and "MP3" not in sf.available_formats():
        return f"MP3 is not supported by this libsndfile ({sf.__libsndfile_version__})"
    if "not recognised" in detail.lower():
        return "not an audio file (unrecognised data)"
    if "malformed" in detail.lower():
        return "audio file is malformed"
    if "does not exist" in detail.lower():  # libsndfile's words for a stream it cannot even start
        return "audio file is damaged or truncated (cannot be opened)"
    return f"cannot open audio ({detail})"


def _fmt_time(seconds: float, spec: str = ".1f") -> str:
    return f"{seconds * 1000:{spec}} ms" if seconds < 1 else f"{seconds:{spec}} s"
