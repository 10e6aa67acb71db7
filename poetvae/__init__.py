"""poetvae: variational autoencoders in PyTorch; the poetry robot and image VAEs.

The public API is imported lazily (PEP 562), so `import poetvae` stays cheap:

    from poetvae import PoetVAE, load_poet, generate, write, evaluate_text
    from poetvae import AE, VAE, CVAE, VQVAE, load_image_model
"""

import importlib

__version__ = "0.1.0"

_API = {
    "PoetVAE": "poetvae.text.model",
    "PoetVAEConfig": "poetvae.text.model",
    "load_poet": ("poetvae.text.model", "load"),
    "generate": "poetvae.text.generate",
    "write": "poetvae.text.compose",
    "reconstruct": "poetvae.text.compose",
    "interpolate": "poetvae.text.compose",
    "evaluate_text": ("poetvae.text.evaluate", "evaluate"),
    "load_corpus": "poetvae.text.corpus",
    "AE": "poetvae.image.models",
    "VAE": "poetvae.image.models",
    "CVAE": "poetvae.image.models",
    "VQVAE": "poetvae.image.models",
    "ImageConfig": "poetvae.image.models",
    "load_image_model": ("poetvae.image.models", "load"),
    "fit": "poetvae.core.train",
    "TrainConfig": "poetvae.core.train",
    "save": "poetvae.core.checkpoint",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'poetvae' has no attribute {name!r}")
    target = _API[name]
    module, attr = target if isinstance(target, tuple) else (target, name)
    return getattr(importlib.import_module(module), attr)
