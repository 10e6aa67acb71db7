import pytest
import torch

from poetvae.text.sampling import TOP_K, pick


def test_greedy_ignores_the_sampling_noise():
    logp = torch.tensor([[0.0, 3.0, 1.0]]).log_softmax(-1)
    assert pick(logp, 1.0, torch.tensor([0.99]), greedy=True)[0].item() == 1


def test_top_p_keeps_only_the_nucleus():
    logp = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).repeat(200, 1)
    u = torch.linspace(0, 0.999, 200)
    picks, _ = pick(logp, 0.5, u)
    assert set(picks.tolist()) == {0}
    picks, _ = pick(logp, 1.0, u)
    counts = torch.bincount(picks, minlength=3).tolist()
    assert counts == [120, 60, 20]  # inverse-CDF sampling on an even grid of uniforms


@pytest.mark.parametrize("scale", [3.0, 0.3])  # peaked rows, and rows wider than TOP_K
def test_nucleus_from_top_k_equals_the_full_sort(scale):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 3000, generator=g) * scale
    u = torch.rand(64, generator=g)
    probs = torch.softmax(logits / 0.8, -1)
    sorted_p, order = probs.sort(-1, descending=True)
    sorted_p = sorted_p * (sorted_p.cumsum(-1) - sorted_p < 0.9)
    if scale < 1:
        assert ((sorted_p > 0).sum(-1) > TOP_K).all()
    cdf = sorted_p.cumsum(-1)
    rank = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(-1), right=True)
    expected = order.gather(-1, rank).squeeze(-1)
    assert torch.equal(pick((logits / 0.8).log_softmax(-1), 0.9, u)[0], expected)


def test_draws_follow_the_nucleus_law():
    g = torch.Generator().manual_seed(0)
    logp = (torch.randn(3, 500, generator=g) * 2).log_softmax(-1)
    n = 20_000
    u = (torch.arange(n) + 0.5) / n
    for row in logp:
        sorted_p, order = row.exp().sort(descending=True)
        nucleus = sorted_p * (sorted_p.cumsum(-1) - sorted_p < 0.9)
        law = torch.zeros(500).scatter_(0, order, nucleus / nucleus.sum())
        ids, _ = pick(row.expand(n, -1), 0.9, u)
        assert (torch.bincount(ids, minlength=500) / n - law).abs().max() < 2e-3


def test_a_shortlist_measures_the_nucleus_in_the_whole_law():
    logp = torch.log(torch.tensor([[0.5, 0.3, 0.1, 0.1]]))
    u = (torch.arange(1000) + 0.5) / 1000
    listed = logp[:, :2].repeat(1000, 1)  # the two likeliest, 0.8 of the law
    assert torch.bincount(pick(listed, 0.7, u)[0]).tolist() == [625, 375]  # both: 0.5 : 0.3
    assert torch.bincount(pick(listed, 0.4, u)[0]).tolist() == [1000]


def test_a_redraw_with_the_left_over_uniform_follows_the_restricted_law():
    logp = torch.log(torch.tensor([[0.5, 0.3, 0.2]])).repeat(1000, 1)
    u = (torch.arange(1000) + 0.5) / 1000  # an even grid
    ids, rest = pick(logp, 1.0, u)
    taken = ids == 0  # say character 0 is taken: those rows draw again without it
    without = logp[taken].masked_fill(torch.tensor([True, False, False]), -torch.inf)
    ids[taken] = pick(without, 1.0, rest[taken])[0]
    assert torch.bincount(ids, minlength=3).tolist() == [0, 600, 400]  # 0.3 : 0.2
