"""Image autoencoders on MNIST-format data: AE, VAE, conv VAE, CVAE and VQ-VAE with a code prior.

Built on `poetvae.core`; never imports `poetvae.text`.
"""
