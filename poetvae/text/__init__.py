"""The poetry robot: a GCNN text VAE over fixed-form classical Chinese poems."""
