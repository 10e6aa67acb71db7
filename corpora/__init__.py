"""Shipped poem corpora (package data `poetvae.corpora`); built by scripts/build_corpora.py."""
