// Grid-encoder CPU kernels (plain C++ and OpenMP, no torch headers); the torch operators that
// call them are in grid_encoder.cpp. Same function as encoding/grid_torch.py (the reference):
//   u: [N, D] in [0, 1] (outside or NaN -> zeros), emb: [T, C], out and grad_out point-major
//   [N, L * C] as the operators return and take them (a level pass writes or reads its C
//   columns in place: no transpose to or from a level-major copy);
//   per level l: p = u * scale_l + 0.5 (no 0.5 with align_corners), corner = floor(p),
//   weight = p - corner (optionally smoothstepped), multilinear over the 2^D corners;
//   row = offset_l + (dense or hashed corner index) % size_l.
// Work is level-major (a thread works through many points of one level, so that level's slice
// of the table stays in its cache) and, within it, blocked: first every corner's row and
// weight for a block of points, then the independent gathers/scatters. Measured on a 2-core
// EPYC VM: software prefetching was slower, a structure-of-arrays rewrite for auto-
// vectorisation gained nothing at the baseline x86-64 ISA, -march=native gained nothing
// measurable; for the table gradient one thread per level beat atomics ~2-3x (atomics are
// used only with fewer levels than threads); the input gradient sums per-thread buffers.
#ifdef _OPENMP
#include <omp.h>
#else  // built without OpenMP (e.g. a compiler without it): the loops run serially
static inline int omp_get_thread_num() { return 0; }
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace lokitalk_grid {

constexpr uint32_t kPrimes[3] = {1u, 2654435761u, 805459861u};
constexpr int64_t kBlock = 64;   // points whose corners are resolved together
constexpr int64_t kChunk = 4096; // points per parallel work item

struct Level {
  int64_t offset;
  uint32_t size, mask;  // mask = size - 1 for power-of-two sizes, else 0
  double scale;
  uint64_t stride[3];
  bool hashed;
};

struct Grid {
  std::vector<Level> levels;
  int64_t C;
  bool align, smooth;
};

static Grid make_grid(int64_t L, int64_t D, int64_t C, const int64_t* offsets,
                      const double* scales, const int64_t* grid_res, bool hash, bool align,
                      bool smooth) {
  Grid g{{}, C, align, smooth};
  for (int64_t l = 0; l < L; ++l) {
    Level lv{};
    lv.offset = offsets[l];
    lv.size = static_cast<uint32_t>(offsets[l + 1] - offsets[l]);
    lv.mask = (lv.size & (lv.size - 1)) == 0 ? lv.size - 1 : 0;
    lv.scale = scales[l];
    const uint64_t side = static_cast<uint64_t>(align ? grid_res[l] : grid_res[l] + 1);
    uint64_t stride = 1;
    for (int64_t d = 0; d < D; ++d) {
      lv.stride[d] = stride <= lv.size ? stride : 0;
      if (stride <= lv.size) stride *= side;
    }
    lv.hashed = hash && stride > lv.size;
    g.levels.push_back(lv);
  }
  return g;
}

// Rows, weights and weight derivatives of a block of points at one level.
template <typename T, int D>
struct Block {
  static constexpr int K = 1 << D;
  int64_t rows[kBlock * K];
  T w[kBlock * K];
  T frac[kBlock * D], dfrac[kBlock * D];
  bool in[kBlock];

  void fill(const T* u, int64_t count, const Level& lv, const Grid& g) {
    // the per-level and per-grid switches become compile-time constants of the inner loop
    const int variant = (lv.hashed ? 4 : 0) | (g.align ? 2 : 0) | (g.smooth ? 1 : 0);
    switch (variant) {
      case 0: fill_level<false, false, false>(u, count, lv); break;
      case 1: fill_level<false, false, true>(u, count, lv); break;
      case 2: fill_level<false, true, false>(u, count, lv); break;
      case 3: fill_level<false, true, true>(u, count, lv); break;
      case 4: fill_level<true, false, false>(u, count, lv); break;
      case 5: fill_level<true, false, true>(u, count, lv); break;
      case 6: fill_level<true, true, false>(u, count, lv); break;
      default: fill_level<true, true, true>(u, count, lv); break;
    }
  }

  template <bool Hashed, bool Align, bool Smooth>
  void fill_level(const T* u, int64_t count, const Level& lv) {
    const T scale = static_cast<T>(lv.scale);
    for (int64_t i = 0; i < count; ++i) {
      const T* p0 = u + i * D;
      bool inside = true;
      for (int d = 0; d < D; ++d) inside = inside && (p0[d] >= T(0) && p0[d] <= T(1));
      in[i] = inside;
      // per dim, the index term and the weight factor of the lower (0) and upper (1) corner
      uint64_t part[D][2];
      T wd[D][2];
      for (int d = 0; d < D; ++d) {
        T p = (inside ? p0[d] : T(0)) * scale;
        if (!Align) p = p + T(0.5);
        // p >= 0 here, so truncation is floor (and much cheaper than std::floor on SSE2)
        const int32_t fl = static_cast<int32_t>(p);
        T t = p - static_cast<T>(fl);
        const uint32_t c0 = static_cast<uint32_t>(fl);
        if (Smooth) {
          dfrac[i * D + d] = T(6) * t * (T(1) - t) * scale;
          t = t * t * (T(3) - T(2) * t);
        } else {
          dfrac[i * D + d] = scale;
        }
        frac[i * D + d] = t;
        wd[d][0] = T(1) - t;
        wd[d][1] = t;
        for (int b = 0; b < 2; ++b) {
          part[d][b] = Hashed ? static_cast<uint64_t>(static_cast<uint32_t>((c0 + b) * kPrimes[d]))
                              : static_cast<uint64_t>(c0 + b) * lv.stride[d];
        }
      }
      for (int k = 0; k < K; ++k) {
        uint64_t index = part[0][k & 1];
        T wk = wd[0][k & 1];
        for (int d = 1; d < D; ++d) {
          const int bit = (k >> d) & 1;
          index = Hashed ? (index ^ part[d][bit]) : (index + part[d][bit]);
          wk = wk * wd[d][bit];
        }
        // a 64-bit modulo per corner would dominate: mask, or wrap only when needed
        if (lv.mask) {
          index &= lv.mask;
        } else if (index >= lv.size) {
          index %= lv.size;
        }
        const int64_t row = lv.offset + static_cast<int64_t>(index);
        rows[i * K + k] = row;
        w[i * K + k] = inside ? wk : T(0);
      }
    }
  }
};

template <typename T, int D, int CC>
static void forward_d(const T* u, const T* emb, T* out, int64_t N, const Grid& g, int threads) {
  const int64_t L = static_cast<int64_t>(g.levels.size()), K = 1 << D;
  const int64_t C = CC ? CC : g.C;  // compile-time channel count for 1 to 4
  const int64_t chunks = (N + kChunk - 1) / kChunk;
  // work items are level-major: consecutive items touch one level's slice of the table,
  // which then stays in the core's cache
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t item = 0; item < L * chunks; ++item) {
    const int64_t l = item / chunks, start = (item % chunks) * kChunk;
    const int64_t stop = std::min(N, start + kChunk);
    Block<T, D> b;
    for (int64_t s = start; s < stop; s += kBlock) {
      const int64_t count = std::min(kBlock, stop - s);
      b.fill(u + s * D, count, g.levels[l], g);
      for (int64_t i = 0; i < count; ++i) {
        T* o = out + ((s + i) * L + l) * C;
        for (int64_t ch = 0; ch < C; ++ch) {
          T acc = T(0);
          for (int k = 0; k < K; ++k) acc += b.w[i * K + k] * emb[b.rows[i * K + k] * C + ch];
          o[ch] = b.in[i] ? acc : T(0);
        }
      }
    }
  }
}

// Scatter one level's contributions of points [start, stop) into the table gradient.
template <typename T, int D, int CC, bool Atomic>
static void scatter_level(const T* u, const T* gout, T* gemb, int64_t N, int64_t start,
                          int64_t stop, int64_t l, const Grid& g) {
  constexpr int64_t K = 1 << D;
  const int64_t C = CC ? CC : g.C;  // compile-time channel count for 1 to 4
  const int64_t L = static_cast<int64_t>(g.levels.size());
  Block<T, D> b;
  for (int64_t s = start; s < stop; s += kBlock) {
    const int64_t count = std::min(kBlock, stop - s);
    b.fill(u + s * D, count, g.levels[l], g);
    for (int64_t i = 0; i < count; ++i) {
      if (!b.in[i]) continue;
      const T* go = gout + ((s + i) * L + l) * C;
      for (int k = 0; k < K; ++k) {
        T* ge = gemb + b.rows[i * K + k] * C;
        const T wk = b.w[i * K + k];
        for (int64_t ch = 0; ch < C; ++ch) {
          if (Atomic) {
#pragma omp atomic
            ge[ch] += wk * go[ch];
          } else {
            ge[ch] += wk * go[ch];
          }
        }
      }
    }
  }
}

template <typename T, int D, int CC>
static void backward_emb_d(const T* u, const T* gout, T* gemb, int64_t N, const Grid& g,
                           int strategy, int threads) {
  const int64_t L = static_cast<int64_t>(g.levels.size());
  if (strategy == 0) strategy = (threads == 1 || L >= threads) ? 1 : 2;
  if (strategy == 1) {
    // each level's slice of the table belongs to one thread: no races, no atomics
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t l = 0; l < L; ++l) scatter_level<T, D, CC, false>(u, gout, gemb, N, 0, N, l, g);
  } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t start = 0; start < N; start += kChunk) {
      const int64_t stop = std::min(N, start + kChunk);
      for (int64_t l = 0; l < L; ++l) scatter_level<T, D, CC, true>(u, gout, gemb, N, start, stop, l, g);
    }
  }
}

template <typename T, int D, int CC>
static void backward_input_d(const T* u, const T* emb, const T* gout, T* gu, int64_t N,
                             const Grid& g, int threads) {
  const int64_t L = static_cast<int64_t>(g.levels.size()), K = 1 << D;
  const int64_t C = CC ? CC : g.C;  // compile-time channel count for 1 to 4
  const int64_t chunks = (N + kChunk - 1) / kChunk;
  threads = std::max(1, threads);
  // level-major work items as in forward; every thread sums into its own [N, D] buffer
  std::vector<T> partial(static_cast<size_t>(threads) * N * D, T(0));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t item = 0; item < L * chunks; ++item) {
    const int64_t l = item / chunks, start = (item % chunks) * kChunk;
    const int64_t stop = std::min(N, start + kChunk);
    T* mine = partial.data() + static_cast<int64_t>(omp_get_thread_num()) * N * D;
    Block<T, D> b;
    for (int64_t s = start; s < stop; s += kBlock) {
      const int64_t count = std::min(kBlock, stop - s);
      b.fill(u + s * D, count, g.levels[l], g);
      for (int64_t i = 0; i < count; ++i) {
        if (!b.in[i]) continue;
        const T* go = gout + ((s + i) * L + l) * C;
        const T* f = b.frac + i * D;
        T* grad = mine + (s + i) * D;
        for (int k = 0; k < K; ++k) {
          const T* e = emb + b.rows[i * K + k] * C;
          T dot = T(0);
          for (int64_t ch = 0; ch < C; ++ch) dot += e[ch] * go[ch];
          for (int d = 0; d < D; ++d) {
            // d weight / d frac_d: the other dims' factors, signed by the corner's bit
            T dw = ((k >> d) & 1) ? T(1) : T(-1);
            for (int d2 = 0; d2 < D; ++d2)
              if (d2 != d) dw = dw * (((k >> d2) & 1) ? f[d2] : T(1) - f[d2]);
            grad[d] += dot * dw * b.dfrac[i * D + d];
          }
        }
      }
    }
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t n = 0; n < N * D; ++n) {
    T sum = T(0);
    for (int t = 0; t < threads; ++t) sum += partial[static_cast<int64_t>(t) * N * D + n];
    gu[n] = sum;
  }
}

#define LOKITALK_CASE(d, c, CALL) \
  case d * 16 + c: {                \
    constexpr int D = d, CC = c;    \
    CALL;                           \
    break;                          \
  }
#define LOKITALK_CASES(d, CALL) \
  LOKITALK_CASE(d, 0, CALL)     \
  LOKITALK_CASE(d, 1, CALL)     \
  LOKITALK_CASE(d, 2, CALL)     \
  LOKITALK_CASE(d, 3, CALL)     \
  LOKITALK_CASE(d, 4, CALL)
// D in {1, 2, 3} x C in {1, 2, 3 (a baked offset lattice), 4, other (0: read at run time)}
#define LOKITALK_DISPATCH(dim, channels, CALL)                                             \
  switch (dim * 16 + ((channels >= 1 && channels <= 4) ? channels : 0)) { \
    LOKITALK_CASES(1, CALL)                                                             \
    LOKITALK_CASES(2, CALL)                                                             \
    LOKITALK_CASES(3, CALL)                                                             \
    default:                                                                            \
      break;                                                                            \
  }

template <typename T>
void forward(const T* u, const T* emb, T* out, int64_t N, int64_t dim, int64_t C, int64_t L,
             const int64_t* offsets, const double* scales, const int64_t* grid_res, bool hash,
             bool align, bool smooth, int threads) {
  const Grid g = make_grid(L, dim, C, offsets, scales, grid_res, hash, align, smooth);
  LOKITALK_DISPATCH(dim, C, (forward_d<T, D, CC>(u, emb, out, N, g, threads)));
}

template <typename T>
void backward_embeddings(const T* u, const T* gout, T* gemb, int64_t N, int64_t dim, int64_t C,
                         int64_t L, const int64_t* offsets, const double* scales,
                         const int64_t* grid_res, bool hash, bool align, bool smooth,
                         int strategy, int threads) {
  const Grid g = make_grid(L, dim, C, offsets, scales, grid_res, hash, align, smooth);
  LOKITALK_DISPATCH(dim, C, (backward_emb_d<T, D, CC>(u, gout, gemb, N, g, strategy, threads)));
}

template <typename T>
void backward_inputs(const T* u, const T* emb, const T* gout, T* gu, int64_t N, int64_t dim,
                     int64_t C, int64_t L, const int64_t* offsets, const double* scales,
                     const int64_t* grid_res, bool hash, bool align, bool smooth, int threads) {
  const Grid g = make_grid(L, dim, C, offsets, scales, grid_res, hash, align, smooth);
  LOKITALK_DISPATCH(dim, C, (backward_input_d<T, D, CC>(u, emb, gout, gu, N, g, threads)));
}

#define LOKITALK_INSTANTIATE(T)                                                               \
  template void forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t,         \
                           const int64_t*, const double*, const int64_t*, bool, bool, bool,    \
                           int);                                                               \
  template void backward_embeddings<T>(const T*, const T*, T*, int64_t, int64_t, int64_t,      \
                                       int64_t, const int64_t*, const double*, const int64_t*, \
                                       bool, bool, bool, int, int);                            \
  template void backward_inputs<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t, \
                                   int64_t, const int64_t*, const double*, const int64_t*,     \
                                   bool, bool, bool, int);

LOKITALK_INSTANTIATE(float)
LOKITALK_INSTANTIATE(double)

}  // namespace lokitalk_grid
