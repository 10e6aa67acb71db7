"""poetvae: variational autoencoders in PyTorch; the poetry robot and image VAEs.

The public API imports lazily, so `import poetvae` stays cheap.
"""

__version__ = "0.1.0"
