"""lokitalk_plugins.layers.MLP: the in-place ReLU fast path (no gradient) equals the
reference (torch.relu), bit for bit, and leaves the input untouched."""

import torch

from lokitalk_plugins.layers import MLP


def reference(mlp: MLP, x: torch.Tensor) -> torch.Tensor:
    for i, layer in enumerate(mlp.net):
        x = layer(x)
        if i != mlp.num_layers - 1:
            x = torch.relu(x)
    return x


def test_mlp_no_grad_fast_path_equals_the_reference():
    torch.manual_seed(0)
    mlp = MLP(69, 65, 64, 3)
    x = torch.randn(500, 69)
    keep = x.clone()
    with torch.no_grad():
        fast = mlp(x)
        ref = reference(mlp, x)
    assert torch.equal(fast, ref) and torch.equal(x, keep)
    assert (ref[:, :1] != 0).any()  # the values are not trivially zero
    graded = mlp(x)  # with gradients: the out-of-place path, same values
    assert graded.requires_grad and torch.equal(graded.detach(), ref)
    graded.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mlp.parameters())
