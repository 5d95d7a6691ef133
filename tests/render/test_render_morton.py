import pytest
import torch

from lokitalk_plugins.render import (
    dense_to_morton,
    morton3d,
    morton_order,
    morton_to_dense,
    pack_bits,
    unpack_bits,
)


def test_morton_codes_interleave_x_lowest():
    c = morton3d(torch.tensor([1, 0, 0, 2, 3]), torch.tensor([0, 1, 0, 0, 3]),
                 torch.tensor([0, 0, 1, 0, 3]), bits=2)  # fmt: skip
    assert c.tolist() == [1, 2, 4, 8, 63]


def test_morton_order_is_a_permutation_and_roundtrips():
    order = morton_order(8)
    assert torch.equal(order.sort().values, torch.arange(512))
    dense = torch.randn(8, 8, 8)
    flat = dense_to_morton(dense)
    assert flat[morton3d(torch.tensor(3), torch.tensor(5), torch.tensor(6), 3)] == dense[3, 5, 6]
    torch.testing.assert_close(morton_to_dense(flat, 8), dense)


def test_non_power_of_two_rejected():
    with pytest.raises(ValueError, match="power of two"):
        morton_order(12)


def test_pack_bits_lsb_first_and_roundtrip():
    bits = torch.zeros(16, dtype=torch.bool)
    bits[0] = True  # byte 0, bit 0
    bits[9] = True  # byte 1, bit 1
    bits[15] = True  # byte 1, bit 7
    assert pack_bits(bits).tolist() == [1, 2 + 128]
    torch.manual_seed(0)
    rnd = torch.rand(4096) > 0.5
    packed = pack_bits(rnd)
    assert packed.dtype == torch.uint8 and packed.shape == (512,)
    assert torch.equal(unpack_bits(packed), rnd)
