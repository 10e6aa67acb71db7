"""The bounds of `poetvae serve`, in a module of their own so that the CLI can show their
defaults without importing torch or the web framework."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one request may ask for. More is refused (400, 413); an answer that would come
    later than `timeout` seconds after the request arrived is a 503, and so is a request
    arriving while `max_pending` others wait or run."""

    max_poems: int = 16  # n
    max_rerank: int = 8  # candidates per poem
    # tighter than the CLI's (28 and 10): each multiplies the time of one request
    max_passes: int = 10  # mask-predict decoding passes
    max_refine: int = 4  # latent refinement rounds
    max_steps: int = 16  # interpolation steps
    max_chars: int = 200  # any text option
    max_body: int = 16_384  # bytes of a request body
    max_pending: int = 64  # requests waiting for or holding the inference thread
    timeout: float = 30.0  # seconds from arrival to answer, waiting included
