// torch.ops.lokitalk_grid.occupancy_select / occupancy_finish: the bookkeeping of an
// occupancy grid's refresh (render/grid.py OccupancyGrid, whose PyTorch operations are the
// reference twin), each in a few serial passes over the res^3 cells instead of a dozen
// whole-grid PyTorch operations and their temporaries.
//
// The grid: values [n] float32 in Morton order (-1 = unseen, never refreshed, never
// occupied); morton [n] int64: morton[i] is the Morton position of dense cell i
// (i = (ix * r + iy) * r + iz), the sum of one part per axis (render/morton.py's interleaved
// bits: morton[i] = morton[ix r^2] + morton[iy r] + morton[iz]), which the passes below use
// instead of streaming the whole table; occupancy [n] bool in dense order; bitfield [n / 8] uint8 in
// Morton order, bit b of byte k = cell 8 k + b.
//
// occupancy_select (the "sparse" refresh's cells, render/upkeep.py sparse_cells): the valid
// cells (value >= 0) within one cell (the 3x3x3 box) of a cell both occupied and valid, and
// the valid cells whose draw u (the caller's torch.rand, dense order) is below fraction
// (compared in float32, as PyTorch compares a float32 tensor with a Python float). Returns
// the dense indices, ascending.
//
// occupancy_finish (after the refreshed cells' densities are known): every valid value
// decays, v <- v * decay (float32 product); at the Morton positions targets (distinct),
// v <- max(v, new) (NaN if either is NaN, as torch.maximum); then the mean of the valid
// values in float64 (with NaN as PyTorch's clamp_min(0).sum: NaN in, NaN out), the threshold
// min(mean, density_thresh) compared in float32, the bitfield (value > threshold and valid)
// written in place and the dense occupancy returned. Returns (occupancy, sum, count); the
// mean is sum / count. The sum runs in one order, PyTorch's in another: the two means agree
// to float64 rounding, far below the float32 step the threshold is compared at.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <vector>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "occupancy.cpp reads 8 flag bytes as one little-endian uint64"
#endif

namespace {

void check_grid(const at::Tensor& values, const at::Tensor& morton) {
  TORCH_CHECK(values.device().is_cpu() && values.dim() == 1 &&
                  values.scalar_type() == at::kFloat && values.is_contiguous(),
              "values must be a contiguous CPU float32 tensor [res^3]");
  TORCH_CHECK(morton.device().is_cpu() && morton.scalar_type() == at::kLong &&
                  morton.is_contiguous() && morton.numel() == values.numel(),
              "morton must be a contiguous CPU int64 tensor of as many entries as values");
}

int64_t side_of(int64_t n) {
  int64_t r = static_cast<int64_t>(std::llround(std::cbrt(static_cast<double>(n))));
  TORCH_CHECK(r >= 1 && r * r * r == n, "the grid must hold res^3 cells, got ", n);
  return r;
}

// The per-axis parts of the Morton table: code(ix, iy, iz) = x[ix] + y[iy] + z[iz]
struct Axes {
  std::vector<int64_t> x, y, z;
  Axes(const int64_t* m, int64_t r) : x(r), y(r), z(r) {
    for (int64_t c = 0; c < r; ++c) {
      x[c] = m[c * r * r];
      y[c] = m[c * r];
      z[c] = m[c];
    }
  }
};

// f(i, p) for every cell in dense order: i its dense index, p its Morton position
template <typename F>
void each_cell(const Axes& ax, int64_t r, F f) {
  for (int64_t ix = 0, i = 0; ix < r; ++ix) {
    for (int64_t iy = 0; iy < r; ++iy) {
      const int64_t base = ax.x[ix] + ax.y[iy];
      for (int64_t iz = 0; iz < r; ++iz, ++i) f(i, base + ax.z[iz]);
    }
  }
}

// out = in | its two neighbours along one axis (stride s, length r); index (o r + c) s + j
void dilate_axis(const uint8_t* in, uint8_t* out, int64_t r, int64_t s) {
  const int64_t outer = (r * r * r) / (r * s);
  if (s == 1) {  // along the contiguous axis: one line at a time
    for (int64_t o = 0; o < outer; ++o) {
      const uint8_t* a = in + o * r;
      uint8_t* z = out + o * r;
      z[0] = a[0] | (r > 1 ? a[1] : 0);
      for (int64_t c = 1; c < r - 1; ++c) z[c] = a[c - 1] | a[c] | a[c + 1];
      if (r > 1) z[r - 1] = a[r - 2] | a[r - 1];
    }
    return;
  }
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < r; ++c) {
      const int64_t base = (o * r + c) * s;
      const uint8_t* lo = c > 0 ? in + base - s : nullptr;
      const uint8_t* hi = c < r - 1 ? in + base + s : nullptr;
      for (int64_t j = 0; j < s; ++j) {
        uint8_t v = in[base + j];
        if (lo) v |= lo[j];
        if (hi) v |= hi[j];
        out[base + j] = v;
      }
    }
  }
}

at::Tensor occupancy_select(const at::Tensor& values, const at::Tensor& morton,
                            const at::Tensor& occupancy, const at::Tensor& draw,
                            double fraction) {
  check_grid(values, morton);
  const int64_t n = values.numel(), r = side_of(n);
  TORCH_CHECK(n % 8 == 0, "the grid must hold a multiple of 8 cells");
  TORCH_CHECK(occupancy.device().is_cpu() && occupancy.scalar_type() == at::kBool &&
                  occupancy.is_contiguous() && occupancy.numel() == n,
              "occupancy must be a contiguous CPU bool tensor of res^3 entries");
  TORCH_CHECK(draw.device().is_cpu() && draw.scalar_type() == at::kFloat &&
                  draw.is_contiguous() && draw.numel() == n,
              "draw must be a contiguous CPU float32 tensor of res^3 entries");
  const float* v = values.data_ptr<float>();
  const int64_t* m = morton.data_ptr<int64_t>();
  const bool* occ = occupancy.data_ptr<bool>();
  const float* u = draw.data_ptr<float>();
  const float f = static_cast<float>(fraction);
  const Axes ax(m, r);
  std::vector<uint8_t> valid(n), a(n), b(n);
  each_cell(ax, r, [&](int64_t i, int64_t p) {
    valid[i] = v[p] >= 0.0f;
    a[i] = valid[i] && occ[i];
  });
  dilate_axis(a.data(), b.data(), r, 1);      // iz
  dilate_axis(b.data(), a.data(), r, r);      // iy
  dilate_axis(a.data(), b.data(), r, r * r);  // ix
  int64_t count = 0;  // branch-free: the draw decides at random
  for (int64_t i = 0; i < n; ++i) a[i] = valid[i] & (b[i] | static_cast<uint8_t>(u[i] < f));
  for (int64_t i = 0; i < n; i += 8) {
    uint64_t x;
    std::memcpy(&x, a.data() + i, 8);
    count += __builtin_popcountll(x);  // 0/1 bytes: the set bits count the cells
  }
  at::Tensor out = at::empty({count}, at::kLong);
  int64_t* cells = out.data_ptr<int64_t>();
  int64_t k = 0;
  for (int64_t i = 0; i < n && k < count; ++i) {
    cells[k] = i;
    k += a[i];
  }
  return out;
}

std::tuple<at::Tensor, double, int64_t> occupancy_finish(
    at::Tensor values, const at::Tensor& morton, const at::Tensor& targets,
    const at::Tensor& fresh, double decay, double density_thresh, at::Tensor bitfield) {
  check_grid(values, morton);
  const int64_t n = values.numel(), k = targets.numel();
  TORCH_CHECK(n % 8 == 0, "the grid must hold a multiple of 8 cells");
  TORCH_CHECK(targets.device().is_cpu() && targets.scalar_type() == at::kLong &&
                  targets.is_contiguous() && targets.dim() == 1,
              "targets must be a contiguous CPU int64 tensor [K]");
  TORCH_CHECK(fresh.device().is_cpu() && fresh.scalar_type() == at::kFloat &&
                  fresh.is_contiguous() && fresh.numel() == k,
              "new must be a contiguous CPU float32 tensor of as many entries as targets");
  TORCH_CHECK(bitfield.device().is_cpu() && bitfield.scalar_type() == at::kByte &&
                  bitfield.is_contiguous() && bitfield.numel() == n / 8,
              "bitfield must be a contiguous CPU uint8 tensor of res^3 / 8 entries");
  float* v = values.data_ptr<float>();
  const int64_t* m = morton.data_ptr<int64_t>();
  const int64_t* t = targets.data_ptr<int64_t>();
  const float* x = fresh.data_ptr<float>();
  const float d = static_cast<float>(decay);
  for (int64_t i = 0; i < n; ++i) {
    const float a = v[i];
    v[i] = a >= 0.0f ? a * d : a;
  }
  for (int64_t j = 0; j < k; ++j) {
    const int64_t p = t[j];
    TORCH_CHECK(p >= 0 && p < n, "target ", p, " is outside the grid of ", n, " cells");
    const float a = v[p], c = x[j];
    v[p] = (std::isnan(a) || std::isnan(c)) ? std::numeric_limits<float>::quiet_NaN()
                                             : (a > c ? a : c);
  }
  // four running sums (n is a multiple of 8), added in a fixed order; as clamp_min(0):
  // unseen cells add 0, NaN adds NaN
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; i += 4) {
    const float a0 = v[i], a1 = v[i + 1], a2 = v[i + 2], a3 = v[i + 3];
    count += (a0 >= 0.0f) + (a1 >= 0.0f) + (a2 >= 0.0f) + (a3 >= 0.0f);
    s0 += a0 < 0.0f ? 0.0 : static_cast<double>(a0);
    s1 += a1 < 0.0f ? 0.0 : static_cast<double>(a1);
    s2 += a2 < 0.0f ? 0.0 : static_cast<double>(a2);
    s3 += a3 < 0.0f ? 0.0 : static_cast<double>(a3);
  }
  const double sum = (s0 + s1) + (s2 + s3);
  const double mean = count ? sum / static_cast<double>(count) : 0.0;
  const double thresh = density_thresh < mean ? density_thresh : mean;  // Python's min
  const float th = static_cast<float>(thresh);
  uint8_t* bits = bitfield.data_ptr<uint8_t>();
  // one 0/1 byte per cell, then 8 such bytes to one: multiplying the 8 bytes read as a
  // little-endian uint64 by 0x0102040810204080 moves byte b's bit to bit 56 + b, and no
  // other partial product reaches bits 56-63
  std::vector<uint8_t> flag(n);
  for (int64_t i = 0; i < n; ++i) flag[i] = (v[i] > th) & (v[i] >= 0.0f);
  for (int64_t byte = 0; byte < n / 8; ++byte) {
    uint64_t x;
    std::memcpy(&x, flag.data() + byte * 8, 8);
    bits[byte] = static_cast<uint8_t>((x * 0x0102040810204080ULL) >> 56);
  }
  const int64_t r = side_of(n);
  const Axes ax(m, r);
  at::Tensor occupancy = at::empty({n}, at::kBool);
  bool* occ = occupancy.data_ptr<bool>();
  each_cell(ax, r, [&](int64_t i, int64_t p) { occ[i] = (bits[p >> 3] >> (p & 7)) & 1; });
  return std::make_tuple(occupancy, sum, count);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(lokitalk_grid, m) {
  m.def("occupancy_select(Tensor values, Tensor morton, Tensor occupancy, Tensor draw, "
        "float fraction) -> Tensor");
  m.def("occupancy_finish(Tensor(a!) values, Tensor morton, Tensor targets, Tensor new, "
        "float decay, float density_thresh, Tensor(b!) bitfield) -> (Tensor, float, int)");
  m.impl("occupancy_select", c10::DispatchKey::CPU, &occupancy_select);
  m.impl("occupancy_finish", c10::DispatchKey::CPU, &occupancy_finish);
}
