import torch

from poetvae.text.sampling import pick


def test_argmax_ignores_the_sampling_noise():
    logits = torch.tensor([[0.0, 3.0, 1.0]])
    assert pick(logits, 0.0, 1.0, torch.tensor([0.99])).item() == 1


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).repeat(200, 1)
    u = torch.linspace(0, 0.999, 200)
    picks = pick(logits, 1.0, 0.5, u)
    assert set(picks.tolist()) == {0}
    picks = pick(logits, 1.0, 1.0, u)
    counts = torch.bincount(picks, minlength=3).tolist()
    assert counts == [120, 60, 20]  # inverse-CDF sampling on an even grid of uniforms


def test_nucleus_from_top_k_equals_the_full_sort():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 3000, generator=g) * 3
    u = torch.rand(64, generator=g)
    probs = torch.softmax(logits / 0.8, -1)
    sorted_p, order = probs.sort(-1, descending=True)
    sorted_p = sorted_p * (sorted_p.cumsum(-1) - sorted_p < 0.9)
    cdf = sorted_p.cumsum(-1)
    rank = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(-1), right=True)
    expected = order.gather(-1, rank).squeeze(-1)
    assert torch.equal(pick(logits, 0.8, 0.9, u), expected)
