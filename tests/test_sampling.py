import torch

from poetvae.text.sampling import BLOCK, argmax, pick


def test_greedy_ignores_the_sampling_noise():
    w = torch.tensor([[0.0, 3.0, 1.0]]).softmax(-1)
    assert pick(w, 1.0, torch.tensor([0.99]), greedy=True)[0].item() == 1


def test_top_p_keeps_only_the_nucleus():
    w = torch.tensor([[6.0, 3.0, 1.0]]).repeat(1000, 1)  # weights: the law up to a factor
    u = (torch.arange(1000) + 0.5) / 1000  # an even grid of uniforms
    assert set(pick(w, 0.5, u)[0].tolist()) == {0}
    counts = torch.bincount(pick(w, 1.0, u)[0], minlength=3).tolist()
    assert counts == [600, 300, 100]  # inverse-CDF sampling
    counts = torch.bincount(pick(w, 0.7, u)[0], minlength=3).tolist()
    assert counts == [667, 333, 0]  # the nucleus {0, 1}, 0.6 : 0.3


def test_draws_follow_the_nucleus_law():
    g = torch.Generator().manual_seed(0)
    w = (torch.randn(3, 500, generator=g) * 2).softmax(-1)
    n = 20_000
    u = (torch.arange(n) + 0.5) / n
    for row in w:
        sorted_p, order = row.sort(descending=True)
        nucleus = sorted_p * (sorted_p.cumsum(-1) - sorted_p < 0.9)
        law = torch.zeros(500).scatter_(0, order, nucleus / nucleus.sum())
        ids = pick(row.expand(n, -1), 0.9, u)[0]
        assert (torch.bincount(ids, minlength=500) / n - law).abs().max() < 2e-3


def test_a_redraw_with_the_left_over_uniform_follows_the_restricted_law():
    w = torch.tensor([[0.5, 0.3, 0.2]]).repeat(1000, 1)
    u = (torch.arange(1000) + 0.5) / 1000  # an even grid
    ids, rest, _ = pick(w, 1.0, u)
    taken = ids == 0  # say character 0 is taken: those rows draw again without it
    without = w[taken].masked_fill(torch.tensor([True, False, False]), 0.0)
    ids[taken] = pick(without, 1.0, rest[taken])[0]
    assert torch.bincount(ids, minlength=3).tolist() == [0, 600, 400]  # 0.3 : 0.2


def test_rows_wider_than_a_block_draw_by_their_whole_law():
    # 200 ids: three blocks and a short one, a block without mass, zero weights at the ends
    w = torch.zeros(200)
    w[5], w[70], w[150], w[199] = 1.0, 2.0, 3.0, 4.0
    n = 1000
    u = (torch.arange(n) + 0.5) / n
    ids, rest, total = pick(w.expand(n, -1), 1.0, u)
    assert torch.bincount(ids, minlength=200)[[5, 70, 150, 199]].tolist() == [100, 200, 300, 400]
    assert total.allclose(torch.tensor(10.0))
    assert ((rest >= 0) & (rest < 1)).all()
    assert pick(w.expand(3, -1), 1.0, torch.rand(3), greedy=True)[0].tolist() == [199] * 3


def test_a_draw_that_rejection_cannot_place_falls_back_on_the_sorted_nucleus():
    # a flat law whose 1 % nucleus is one id: a draw lands there with probability 1 / 500
    w = torch.ones(500)
    w[321] = 1.01
    ids = pick(w.expand(100, -1), 0.001, torch.rand(100))[0]
    assert ids.tolist() == [321] * 100


def test_argmax_by_blocks_is_torchs_argmax():
    torch.manual_seed(0)
    x = torch.randn(50, 3 * BLOCK + 7)  # a short last block
    x[:, 5] = float("-inf")
    x[0] = 2.0  # every entry equal: the first
    x[1, -3:] = 9.0  # equals in the short last block
    x[2] = float("-inf")
    x[2, -1] = 0.0  # the largest is the row's last entry
    assert argmax(x).tolist() == x.argmax(-1).tolist()
    assert argmax(x)[:3].tolist() == [0, 3 * BLOCK + 4, 3 * BLOCK + 6]
