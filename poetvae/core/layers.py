"""Reusable blocks. GatedConv1d is the GCNN unit of Dauphin et al. (2017), "Language Modeling
with Gated Convolutional Networks": h = A * sigmoid(B) with [A, B] = conv(x), plus a residual path.
"""

import torch.nn.functional as F
from torch import Tensor, nn


class GatedConv1d(nn.Module):
    """Residual gated 1-D convolution over a sequence, length preserving.

    Args:
        d_model: channels in and out.
        kernel_size: odd convolution width (3 sees each neighbour).
        dropout: dropout on the gated output before the residual add.
        causal: position i sees only positions <= i (all padding on the left), as in the
            dilated-CNN text decoders of Yang et al. (2017).
    """

    def __init__(
        self, d_model: int, kernel_size: int = 3, dropout: float = 0.0, causal: bool = False
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.pad = (kernel_size - 1, 0) if causal else (kernel_size // 2, kernel_size // 2)
        self.conv = nn.Conv1d(d_model, 2 * d_model, kernel_size)
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, L, D)."""
        h = F.pad(self.norm(x).transpose(1, 2), self.pad)  # (B, D, L + k - 1)
        a, b = self.conv(h).chunk(2, dim=1)  # (B, D, L) each
        return x + self.drop((a * b.sigmoid()).transpose(1, 2))
