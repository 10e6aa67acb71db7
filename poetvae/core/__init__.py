"""Shared VAE core: Gaussian latent math, bounds, layers, config, devices, checkpoints, training.

Imports only torch (+ safetensors); knows nothing about text or images.
"""
