"""Which device and precision to run a model on: CUDA, then MPS, then CPU."""

from __future__ import annotations

from dataclasses import dataclass

from mmstudio.encoders.base import ModelError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISION_CHOICES = ("auto", "fp32", "fp16", "bf16")


@dataclass(frozen=True)
class DeviceInfo:
    name: str          # "cuda:0", "mps", "cpu"
    description: str   # "NVIDIA H100 80GB HBM3 (79.1 GiB)"


def available_devices() -> list[DeviceInfo]:
    """Every device torch can use here, the best first."""
    import torch

    found = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(DeviceInfo(f"cuda:{i}", f"{props.name} ({props.total_memory / 2**30:.1f} GiB)"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(DeviceInfo("mps", "Apple Metal (MPS)"))
    found.append(DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)"))
    return found


def pick_device(requested: str = "auto") -> str:
    """``auto`` → the best available device; a named one is checked and refused with a reason."""
    import torch

    requested = (requested or "auto").lower()
    if requested == "auto":
        return available_devices()[0].name
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError(f"--device {requested}: no CUDA GPU is visible to torch "
                             f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)")
        return requested if ":" in requested else "cuda:0"
    if requested == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ModelError("--device mps: Apple Metal is not available on this machine")
        return "mps"
    if requested == "cpu":
        return "cpu"
    raise ModelError(f"unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}")


def pick_precision(device: str, requested: str = "auto") -> str:
    """fp32 on CPU; bf16 on GPUs that have it, else fp16 (autocast, weights stay fp32)."""
    import torch

    requested = (requested or "auto").lower()
    if requested not in PRECISION_CHOICES:
        raise ModelError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISION_CHOICES)}")
    if device == "cpu":
        return "fp32" if requested == "auto" else requested
    if requested != "auto":
        return requested
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp16"


def autocast(device: str, precision: str):
    """A context manager running the model at ``precision`` (a no-op for fp32)."""
    import contextlib

    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)
