"""Shared VAE core: Gaussian latent math, bounds, layers, config, devices, checkpoints, training.

Imports only torch and safetensors (and the standard library), at any depth: what else a caller
needs it hands in, e.g. the training progress bar (tests/test_core.py checks the rule). Knows
nothing about text or images.
"""
