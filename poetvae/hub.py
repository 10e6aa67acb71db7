"""The Hugging Face hub, asked quickly, for the data loaders of text and image.

Without a connection `datasets` retries for about 25 s before failing: a 2 s probe comes first,
and when it fails `datasets` is put in offline mode, so a cached copy loads and a missing one
fails at once. `datasets` is imported only inside `hub_offline`, by loaders that use it anyway.
Not in `core`, which imports only torch and safetensors.
"""

import os
import socket
from contextlib import contextmanager
from urllib.parse import urlparse

_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub (or the HTTPS proxy) takes a TCP connection within `timeout`
    seconds. Offline mode (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) counts as unreachable."""
    if any(os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE") for v in _OFFLINE_VARS):
        return False
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlparse(proxy or os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except (OSError, ValueError):  # refused, timed out, no DNS; or a malformed URL
        return False
    return True


@contextmanager
def hub_offline(offline: bool):
    """Put `datasets` in offline mode for one call: the cache answers, with no retries."""
    import datasets
    import huggingface_hub.constants

    flags = [(datasets.config, "HF_HUB_OFFLINE"), (huggingface_hub.constants, "HF_HUB_OFFLINE")]
    saved = [getattr(module, name) for module, name in flags]
    try:
        for (module, name), value in zip(flags, saved, strict=True):
            setattr(module, name, value or offline)
        yield
    finally:
        for (module, name), value in zip(flags, saved, strict=True):
            setattr(module, name, value)
