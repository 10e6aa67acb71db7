import torch

from poetvae.text.sampling import pick


def test_greedy_ignores_the_sampling_noise():
    logp = torch.tensor([[0.0, 3.0, 1.0]]).log_softmax(-1)
    assert pick(logp, 1.0, torch.tensor([0.99]), greedy=True)[0].item() == 1


def test_top_p_keeps_only_the_nucleus():
    logp = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).repeat(1000, 1)
    u = (torch.arange(1000) + 0.5) / 1000  # an even grid of uniforms
    assert set(pick(logp, 0.5, u)[0].tolist()) == {0}
    counts = torch.bincount(pick(logp, 1.0, u)[0], minlength=3).tolist()
    assert counts == [600, 300, 100]  # inverse-CDF sampling
    counts = torch.bincount(pick(logp, 0.7, u)[0], minlength=3).tolist()
    assert counts == [667, 333, 0]  # the nucleus {0, 1}, 0.6 : 0.3


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


def test_a_redraw_with_the_left_over_uniform_follows_the_restricted_law():
    logp = torch.log(torch.tensor([[0.5, 0.3, 0.2]])).repeat(1000, 1)
    u = (torch.arange(1000) + 0.5) / 1000  # an even grid
    ids, rest = pick(logp, 1.0, u)
    taken = ids == 0  # say character 0 is taken: those rows draw again without it
    without = logp[taken].masked_fill(torch.tensor([True, False, False]), -torch.inf)
    ids[taken] = pick(without, 1.0, rest[taken])[0]
    assert torch.bincount(ids, minlength=3).tolist() == [0, 600, 400]  # 0.3 : 0.2
