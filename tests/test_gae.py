
import pytest
import torch

from rlcore.gae import compute_gae


def brute_force_gae(rewards, values, mask, gamma, lam):
    """A_t = sum_{l>=0} (gamma*lam)^l delta_{t+l}, summed directly over the valid tokens of each row."""
    B, T = rewards.shape
    adv = torch.zeros(B, T, dtype=torch.float64)
    for b in range(B):
        n = int(mask[b].sum())
        v = [float(values[b, t]) for t in range(n)] + [0.0]  # V after the last valid token = 0
        deltas = [float(rewards[b, t]) + gamma * v[t + 1] - v[t] for t in range(n)]
        for t in range(n):
            adv[b, t] = sum((gamma * lam) ** l * deltas[t + l] for l in range(n - t))
    returns = (adv + values.double()) * mask.double()
    return adv, returns


def ragged_mask(lengths, T):
    return torch.tensor([[1] * n + [0] * (T - n) for n in lengths])


@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (0.99, 0.95), (1.0, 1.0), (0.9, 0.0), (0.0, 0.5), (0.5, 0.7)])
@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("ragged", [False, True])
def test_gae_matches_brute_force(gamma, lam, batch, ragged):
    g = torch.Generator().manual_seed(batch * 100 + int(ragged))
    T = 9
    rewards = torch.randn(batch, T, generator=g, dtype=torch.float64)
    values = torch.randn(batch, T, generator=g, dtype=torch.float64)
    lengths = torch.randint(1, T + 1, (batch,), generator=g).tolist() if ragged else [T] * batch
    mask = ragged_mask(lengths, T)
    adv, ret = compute_gae(rewards, values, mask, gamma, lam)
    ref_adv, ref_ret = brute_force_gae(rewards, values, mask, gamma, lam)
    torch.testing.assert_close(adv, ref_adv)
    torch.testing.assert_close(ret, ref_ret)
    assert torch.all(adv[mask == 0] == 0) and torch.all(ret[mask == 0] == 0)


def test_gae_hand_worked_example():
    # One response of 2 tokens, a third padded position with garbage that must be ignored.
    rewards = torch.tensor([[0.0, 1.0, 5.0]])
    values = torch.tensor([[0.5, 0.2, 9.0]])
    mask = torch.tensor([[1, 1, 0]])
    adv, ret = compute_gae(rewards, values, mask, gamma=1.0, lam=0.5)
    # delta_1 = 1 + 0 - 0.2 = 0.8 ; delta_0 = 0 + 0.2 - 0.5 = -0.3 ; A_0 = -0.3 + 0.5 * 0.8 = 0.1
    torch.testing.assert_close(adv, torch.tensor([[0.1, 0.8, 0.0]]))
    torch.testing.assert_close(ret, torch.tensor([[0.6, 1.0, 0.0]]))


def test_gae_lambda_one_is_monte_carlo_return_minus_baseline():
    g = torch.Generator().manual_seed(3)
    rewards, values = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    mask = ragged_mask([6, 3, 1, 5], 6)
    adv, _ = compute_gae(rewards, values, mask, gamma=1.0, lam=1.0)
    reward_to_go = torch.flip(torch.cumsum(torch.flip(rewards * mask, [1]), 1), [1])
    torch.testing.assert_close(adv, (reward_to_go - values) * mask)


@pytest.mark.parametrize("gamma,lam", [(-0.1, 0.9), (1.1, 0.9), (0.9, -0.01), (0.9, 1.5)])
def test_gae_rejects_out_of_range_gamma_lambda(gamma, lam):
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="gamma|lam"):
        compute_gae(x, x, torch.ones(2, 3), gamma, lam)


def test_gae_rejects_bad_masks_and_shapes():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="contiguous prefix"):
        compute_gae(x, x, torch.tensor([[1, 0, 1], [1, 1, 1]]), 1.0, 0.9)
    with pytest.raises(ValueError, match="same shape"):
        compute_gae(x, torch.zeros(2, 4), torch.ones(2, 3), 1.0, 0.9)
    with pytest.raises(ValueError, match="empty batch"):
        compute_gae(torch.zeros(0, 3), torch.zeros(0, 3), torch.ones(0, 3), 1.0, 0.9)
