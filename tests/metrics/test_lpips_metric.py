"""LPIPS metric and loss: offline backbone discovery, shipped linear layers, values, gradients."""

import socket
from pathlib import Path

import lpips
import pytest
import torch
import torchvision

from lokitalk_plugins.metrics import (
    BACKBONE_ENV,
    LPIPSLoss,
    LPIPSMetric,
    build_lpips,
    find_backbone_weights,
    format_metric,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network, an empty torch hub, no backbone env var."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(BACKBONE_ENV, raising=False)


def _images(n=2, size=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, size, size, 3, generator=g)


def _fake_alexnet_file(folder: Path, seed=1) -> tuple[Path, dict]:
    torch.manual_seed(seed)
    state = torchvision.models.alexnet(weights=None).state_dict()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "alexnet-owt-test.pth"
    torch.save(state, path)
    return path, state


def test_unavailable_without_backbone():
    metric = LPIPSMetric()
    assert metric.available is False and metric.backbone_source is None
    assert metric(_images(), _images(seed=1)) is None
    assert format_metric(metric(_images(), _images())) == "n/a"
    assert format_metric(0.123456) == "0.1235"
    with pytest.raises(FileNotFoundError, match=BACKBONE_ENV):
        LPIPSLoss()


def test_explicit_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        find_backbone_weights("alex", tmp_path / "nope.pth")


def test_shipped_linear_layers_are_loaded():
    model, source = build_lpips(allow_random_backbone=True, seed=0)
    assert source == "random(seed=0)"
    shipped = torch.load(
        Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth",
        map_location="cpu",
        weights_only=True,
    )
    assert len(shipped) == 5
    for i in range(5):
        own = getattr(model, f"lin{i}").model[1].weight
        assert torch.equal(own, shipped[f"lin{i}.model.1.weight"])


def test_random_backbone_values():
    metric = LPIPSMetric(allow_random_backbone=True, seed=0)
    assert metric.available
    a = _images()
    assert metric(a, a) == pytest.approx(0.0, abs=1e-7)
    noise = torch.randn(a.shape, generator=torch.Generator().manual_seed(3))
    values = [metric(a, (a + s * noise).clamp(0, 1)) for s in (0.02, 0.1, 0.3)]
    assert 0 < values[0] < values[1] < values[2]
    b = (a + 0.1 * noise).clamp(0, 1)
    assert metric(b, a) == pytest.approx(metric(a, b), rel=1e-4)
    assert metric(a.numpy(), b.numpy()) == pytest.approx(metric(a, b), rel=1e-5)
    again = LPIPSMetric(allow_random_backbone=True, seed=0, batch_size=1)
    assert again(a, b) == pytest.approx(metric(a, b), rel=1e-5)  # seeded, chunking-invariant


def test_backbone_from_hub_cache_and_env(tmp_path, monkeypatch):
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    path, state = _fake_alexnet_file(hub)
    assert find_backbone_weights("alex") == path
    metric = LPIPSMetric()
    assert metric.available and metric.backbone_source == str(path)
    assert torch.equal(getattr(metric.model.net.slice1, "0").weight, state["features.0.weight"])
    assert torch.equal(getattr(metric.model.net.slice5, "10").bias, state["features.10.bias"])
    other, _ = _fake_alexnet_file(tmp_path / "elsewhere", seed=2)
    monkeypatch.setenv(BACKBONE_ENV, str(other))
    assert LPIPSMetric().backbone_source == str(other)


def test_not_a_trunk_file_is_rejected(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(RuntimeError, match="not a torchvision trunk"):
        build_lpips(backbone_path=bad)


def test_loss_is_differentiable_and_stays_in_eval():
    loss_fn = LPIPSLoss(allow_random_backbone=True, seed=0)
    assert not any(p.requires_grad for p in loss_fn.parameters())
    target = _images(seed=1)
    pred = _images(seed=2).requires_grad_(True)
    loss_fn.train()
    loss = loss_fn(pred, target)
    assert loss.ndim == 0 and loss.item() > 0
    assert loss.item() == pytest.approx(loss_fn(pred, target).item())  # no dropout in train()
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    metric = LPIPSMetric(allow_random_backbone=True, seed=0)
    assert metric(pred.detach(), target) == pytest.approx(loss.item(), rel=1e-5)
