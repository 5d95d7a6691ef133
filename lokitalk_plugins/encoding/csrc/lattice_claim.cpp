// torch.ops.lokitalk_grid.lattice_claim: the bookkeeping of a lazily baked vertex lattice
// (encoding/lattice.py claim_cells, whose pure-PyTorch twin is the reference), in one serial
// pass over the points instead of PyTorch's gathers and two sorts:
//   x [N, 3] (float or double), a lattice of R^3 vertices over [-bound, bound]^3;
//   cells [(R - 1)^3] (bool): the lattice cells whose 8 vertices are claimed already;
//   baked [>= R^3] (bool): the vertices claimed already.
// A point inside the cube (u = (x + bound) * (0.5 / bound) in [0, 1] on every axis, computed
// in x's dtype as the lattice's read does) claims its cell (lower corner
// min(trunc(u * (R - 1)), R - 2) per axis) and, with it, those of the cell's 8 vertices not
// claimed yet; both masks are set in place. Returns the newly claimed vertices' rows
// (ix + R iy + R^2 iz, int64, in the order the points first reach them) and the number of
// points outside the cube (NaN counts as outside). Serial: the masks are shared state, and
// the pass costs a fraction of the vertices' evaluation it schedules.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

namespace {

template <typename T>
int64_t claim(const T* x, int64_t n, double bound, int64_t r, bool* cells, bool* baked,
              std::vector<int64_t>& rows) {
  const T shift = static_cast<T>(bound), inv = static_cast<T>(0.5 / bound);
  const T scale = static_cast<T>(r - 1);
  const int64_t c = r - 1, top = r - 2;
  const int64_t step[8] = {0, 1, r, r + 1, r * r, r * r + 1, r * r + r, r * r + r + 1};
  int64_t outside = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t k[3];
    bool in = true;
    for (int d = 0; d < 3; ++d) {
      const T u = (x[i * 3 + d] + shift) * inv;
      in = in && (u >= T(0) && u <= T(1));  // false for NaN
      k[d] = in ? std::min(static_cast<int64_t>(u * scale), top) : 0;
    }
    if (!in) {
      ++outside;
      continue;
    }
    const int64_t cell = k[0] + c * (k[1] + c * k[2]);
    if (cells[cell]) continue;
    cells[cell] = true;
    const int64_t lower = k[0] + r * (k[1] + r * k[2]);
    for (int64_t s : step) {
      const int64_t row = lower + s;
      if (!baked[row]) {
        baked[row] = true;
        rows.push_back(row);
      }
    }
  }
  return outside;
}

std::tuple<at::Tensor, int64_t> lattice_claim(const at::Tensor& x, double bound,
                                              int64_t resolution, at::Tensor cells,
                                              at::Tensor baked) {
  TORCH_CHECK(x.device().is_cpu() && x.dim() == 2 && x.size(1) == 3 && x.is_contiguous(),
              "x must be a contiguous CPU tensor [N, 3]");
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "x must be float32 or float64");
  TORCH_CHECK(resolution >= 2 && bound > 0, "resolution must be >= 2 and bound > 0");
  const int64_t r = resolution, c = r - 1;
  TORCH_CHECK(cells.device().is_cpu() && cells.scalar_type() == at::kBool &&
                  cells.is_contiguous() && cells.numel() == c * c * c,
              "cells must be a contiguous CPU bool tensor of (resolution - 1)^3 entries");
  TORCH_CHECK(baked.device().is_cpu() && baked.scalar_type() == at::kBool &&
                  baked.is_contiguous() && baked.numel() >= r * r * r,
              "baked must be a contiguous CPU bool tensor of at least resolution^3 entries");
  std::vector<int64_t> rows;
  int64_t outside = 0;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "lattice_claim", [&] {
    outside = claim<scalar_t>(x.data_ptr<scalar_t>(), x.size(0), bound, r,
                              cells.data_ptr<bool>(), baked.data_ptr<bool>(), rows);
  });
  at::Tensor out = at::empty({static_cast<int64_t>(rows.size())}, at::kLong);
  std::copy(rows.begin(), rows.end(), out.data_ptr<int64_t>());
  return std::make_tuple(out, outside);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(lokitalk_grid, m) {
  m.def("lattice_claim(Tensor x, float bound, int resolution, Tensor(a!) cells, "
        "Tensor(b!) baked) -> (Tensor, int)");
  m.impl("lattice_claim", c10::DispatchKey::CPU, &lattice_claim);
}
