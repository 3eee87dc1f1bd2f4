"""Each R2D2 objective on hand-made tensors with known values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from zero_bench.errors import ZeroBenchError
from zero_bench_r2d2.training import losses as L
from zero_bench_r2d2.training.distill import FeatureQueue, ema_pairs, ema_update, tgd_targets


def test_gcpr_perfect_alignment_is_near_zero_and_random_is_near_log_n():
    feats = torch.eye(8)
    ids = torch.arange(8)
    perfect = L.gcpr_loss(feats, feats, feats, feats, 0.01, ids, ids)
    assert perfect.item() < 1e-6
    g = torch.Generator().manual_seed(0)
    img = F.normalize(torch.randn(64, 16, generator=g), dim=-1)
    txt = F.normalize(torch.randn(64, 16, generator=g), dim=-1)
    ids = torch.arange(64)
    rand = L.gcpr_loss(img, txt, img, txt, 1.0, ids, ids)
    assert abs(rand.item() - math.log(64)) < 0.2
    # swapping texts between pairs makes it large
    wrong = L.gcpr_loss(feats, feats.roll(1, 0), feats, feats.roll(1, 0), 0.01, torch.arange(8), torch.arange(8))
    assert wrong.item() > 50


def test_gcpr_value_matches_hand_computation_and_soft_targets_share_an_image():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    txt = torch.tensor([[0.8, 0.6], [0.0, 1.0], [1.0, 0.0]])
    ids = torch.tensor([5, 7, 5])  # rows 0 and 2 show the same image
    temp = 0.5
    pos = L.positive_mask(ids, ids)
    assert pos.tolist() == [[True, False, True], [False, True, False], [True, False, True]]
    targets = L.one_hot_targets(pos)
    assert torch.allclose(targets[0], torch.tensor([0.5, 0.0, 0.5]))
    sim_i2t, sim_t2i = img @ txt.t() / temp, txt @ img.t() / temp
    expected = (
        -(F.log_softmax(sim_i2t, 1) * targets).sum(1).mean() - (F.log_softmax(sim_t2i, 1) * targets).sum(1).mean()
    ) / 2
    got = L.gcpr_loss(img, txt, img, txt, temp, ids, ids)
    assert torch.allclose(got, expected)


def test_tgd_mixes_teacher_distribution_with_one_hot():
    hard = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    teacher = torch.tensor([[0.6, 0.4], [0.3, 0.7]])
    assert torch.allclose(L.mix_targets(hard, teacher, 0.4), torch.tensor([[0.84, 0.16], [0.12, 0.88]]))
    assert torch.equal(L.mix_targets(hard, None, 0.4), hard)
    feats = torch.eye(3)
    i2t, _t2i = tgd_targets(feats, feats, feats, feats, 0.1)
    assert torch.allclose(i2t.sum(1), torch.ones(3)) and int(i2t.argmax(1).eq(torch.arange(3)).sum()) == 3
    # teacher targets change the GCPR value: alpha = 1 on a uniform teacher gives log(n)
    uniform = torch.full((3, 3), 1 / 3)
    loss = L.gcpr_loss(feats, feats, feats, feats, 1.0, torch.arange(3), torch.arange(3), uniform, uniform, alpha=1.0)
    assert abs(loss.item() - (math.log(math.e + 2) - 1 / 3)) < 1e-5


def test_hard_negatives_never_pick_a_positive_and_follow_the_similarity():
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor([0, 0, 1, 2, 2, 2, 3, 4])
    pos = L.positive_mask(ids, ids)
    # positives get by far the highest similarity (e^20 times the weight of a negative): sampling must still avoid
    # them (a larger gap would underflow every negative's weight and test only the uniform fallback)
    sim = torch.randn(8, 8, generator=g) * 0.1 + pos.float()
    counts = torch.zeros(8, 8)
    for _ in range(300):
        idx = L.sample_hard_negatives(sim, pos, 0.05, g)
        assert not bool(pos[torch.arange(8), idx].any())
        counts[torch.arange(8), idx] += 1
    # the draws follow softmax(sim / temp) over the negatives (300 draws: standard error below 0.03)
    expected = torch.softmax((sim / 0.05).masked_fill(pos, float("-inf")), dim=1)
    assert float(counts[pos].sum()) == 0 and torch.equal(counts.sum(dim=1), torch.full((8,), 300.0))
    assert float((counts / 300 - expected).abs().max()) < 0.12
    # one clearly hardest negative per row is drawn nearly always
    sim2 = torch.zeros(4, 4)
    sim2[0, 2] = 1.0
    picks = [int(L.sample_hard_negatives(sim2, torch.eye(4, dtype=torch.bool), 0.05, g)[0]) for _ in range(100)]
    assert picks.count(2) >= 95
    with pytest.raises(ZeroBenchError):
        L.sample_hard_negatives(torch.zeros(2, 2), torch.ones(2, 2, dtype=torch.bool), 0.1, g)


def test_fgr_is_weighted_cross_entropy_on_logits_mean_of_heads():
    logits_t = torch.tensor([[0.0, 2.0], [1.0, -1.0], [0.5, 0.5]])
    logits_i = torch.tensor([[1.0, 1.0], [3.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([1, 0, 0])

    def wce(lg):
        lp = F.log_softmax(lg, 1)
        w = torch.tensor([2.0, 1.0, 1.0])  # positive weight 2, negatives 1
        return -(w * lp[torch.arange(3), labels]).sum() / w.sum()

    expected = (wce(logits_t) + wce(logits_i)) / 2
    assert torch.allclose(L.fgr_loss(logits_t, logits_i, labels), expected)
    # on probabilities (the official matching bug) the value would differ
    probs = torch.softmax(logits_t, 1)
    assert not torch.allclose(L.fgr_loss(probs, probs, labels), L.fgr_loss(logits_t, logits_t, labels))


def test_mlm_loss_only_counts_masked_tokens():
    logits = torch.zeros(2, 3, 5)
    logits[0, 1, 4] = 10.0
    labels = torch.full((2, 3), -100)
    labels[0, 1] = 4
    assert L.mlm_loss(logits, labels).item() < 1e-3
    labels[1, 2] = 0
    both = L.mlm_loss(logits, labels).item()
    assert abs(both - (F.cross_entropy(logits[0, 1:2], torch.tensor([4])) + math.log(5)).item() / 2) < 1e-5
    assert L.mlm_loss(logits, torch.full((2, 3), -100)).item() == 0.0
    assert abs(L.mlm_loss(logits, labels, denominator=4.0).item() - both / 2) < 1e-6


def test_fgd_is_masked_mse_and_pulls_student_to_teacher():
    teacher = torch.randn(2, 4, 8)
    student = teacher.clone().requires_grad_(True)
    mask = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]])
    assert L.fgd_loss(student, teacher, mask).item() == 0.0
    shifted = (teacher + 1.0).requires_grad_(True)
    shifted_pad = shifted.detach().clone()
    shifted_pad[0, 3] += 100  # padding positions do not count
    assert abs(L.fgd_loss(shifted_pad, teacher, mask).item() - 1.0) < 1e-6
    loss = L.fgd_loss(shifted, teacher, mask)
    loss.backward()
    assert shifted.grad[0, 0].gt(0).all() and shifted.grad[0, 3].eq(0).all()


def test_matching_loss_uses_logits_of_both_heads():
    lt, li = torch.tensor([[2.0, -2.0]]), torch.tensor([[0.0, 0.0]])
    y = torch.tensor([0])
    assert torch.allclose(L.matching_loss(lt, li, y), (F.cross_entropy(lt, y) + F.cross_entropy(li, y)) / 2)


def test_ema_teacher_moves_by_the_momentum():
    student, teacher = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    with torch.no_grad():
        for p in student.parameters():
            p.fill_(1.0)
        for p in teacher.parameters():
            p.fill_(0.0)
    ema_update(teacher, student, 0.995)
    assert all(torch.allclose(p, torch.full_like(p, 0.005)) for p in teacher.parameters())
    ema_update(teacher, student, 0.9)
    assert all(torch.allclose(p, torch.full_like(p, 0.9 * 0.005 + 0.1)) for p in teacher.parameters())


def test_ema_update_equals_the_per_parameter_loop_bit_for_bit():
    torch.manual_seed(0)
    student, teacher = (
        torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.LayerNorm(4)),
        torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.LayerNorm(4)),
    )
    expected = [
        t.detach().clone().mul_(0.97).add_(s.detach(), alpha=1.0 - 0.97)
        for t, s in zip(teacher.parameters(), student.parameters(), strict=True)
    ]
    ema_update(teacher, student, 0.97)
    assert all(torch.equal(t, e) for t, e in zip(teacher.parameters(), expected, strict=True))


def test_ema_pairs_made_once_follow_in_place_updates_of_both_modules():
    torch.manual_seed(1)
    student, teacher = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    pairs = ema_pairs(teacher, student)
    student.load_state_dict(torch.nn.Linear(4, 3).state_dict())  # a resume: copied into the same tensors
    with torch.no_grad():
        student.weight.add_(1.0)  # an optimiser step: in place
    fresh = torch.nn.Linear(4, 3)
    fresh.load_state_dict(teacher.state_dict())
    ema_update(teacher, student, 0.9, pairs)
    ema_update(fresh, student, 0.9)
    assert all(torch.equal(a, b) for a, b in zip(teacher.parameters(), fresh.parameters(), strict=True))


def test_feature_queue_is_fifo_with_wraparound():
    q = FeatureQueue(5, 2)
    assert q.bank()[0].shape[0] == 0
    q.enqueue(torch.ones(3, 2), torch.ones(3, 2), torch.tensor([1, 2, 3]))
    q.enqueue(torch.full((3, 2), 2.0), torch.full((3, 2), 2.0), torch.tensor([4, 5, 6]))
    img, _, ids = q.bank()
    assert img.shape[0] == 5 and sorted(ids.tolist()) == [2, 3, 4, 5, 6]
    assert int(q.ptr) == 1
