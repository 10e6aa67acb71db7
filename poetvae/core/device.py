"""Device choice, mixed precision, seeding and torchrun detection: the one place they live."""

import gc
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch


def pick_device(name: str = "auto") -> torch.device:
    """Resolve "auto" | "cpu" | "cuda" | "cuda:i" to an available torch.device.

    "auto" is the current accelerator when one is present, else the CPU. Under torchrun the
    local rank picks the GPU.

    Raises:
        ValueError: an unknown name, or CUDA asked for where none is available.
    """
    if name == "auto":
        acc = torch.accelerator.current_accelerator(check_available=True)
        name = acc.type if acc is not None and acc.type == "cuda" else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} asked for, but CUDA is not available here")
        if name == "cuda":
            name = f"cuda:{dist_info().local_rank}"
        index = name.partition(":")[2]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise ValueError(f"no such CUDA device {name!r} ({torch.cuda.device_count()} present)")
        return torch.device(name)
    raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N")


def autocast(device: torch.device):
    """bf16 autocast on CUDA (AMP); a no-op context on the CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def bf16_native(device: torch.device) -> bool:
    """Whether `device` multiplies bfloat16 in hardware: a CUDA GPU that does (compute
    capability 8.0 on), or a CPU with AMX or AVX512-BF16, where oneDNN's bf16 matrix products
    run several times faster than fp32 ones (elsewhere bf16 is emulated, and slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu's own
        return any(getattr(torch.cpu, check, lambda: False)() for check in checks)
    return False


def inference_autocast(device: torch.device, precision: str):
    """The context a model runs in to sample from it: bf16 autocast (matrix products and
    convolutions in bf16, reductions and normalisations in fp32) for precision "bf16", and for
    "auto" where `bf16_native(device)`; fp32 for "fp32"."""
    bf16 = precision == "bf16" or (precision == "auto" and bf16_native(device))
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def seed_everything(seed: int) -> None:
    """Seed Python, torch (CPU and all GPUs)."""
    random.seed(seed)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class DistInfo:
    """Process-group position from torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def dist_info() -> DistInfo:
    """Read torchrun's environment; a plain process is rank 0 of 1."""
    return DistInfo(
        rank=int(os.environ.get("RANK", 0)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
    )


@contextmanager
def distributed(device: torch.device) -> Iterator[DistInfo]:
    """Join torchrun's process group (gloo on CPU, nccl on CUDA) for the duration of the block.

    A group this call creates is also torn down here when the block ends normally: after a
    garbage collection (a DDP reducer still holding the group would otherwise free it during
    interpreter shutdown) and a barrier (no rank leaves while another still writes its
    checkpoint). A process that exits with a live gloo group can abort in its C++ teardown.
    After an error the group is left alone: destroying it could wait on peers that are still
    inside a collective, and torchrun ends the job when this rank exits non-zero.
    A plain process (WORLD_SIZE 1), or one whose group already exists, is left as it is.
    """
    info = dist_info()
    owns = info.enabled and not torch.distributed.is_initialized()
    if owns:
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    yield info
    if owns:
        gc.collect()
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
