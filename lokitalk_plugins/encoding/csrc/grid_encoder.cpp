// Torch operators of the fused CPU grid encoder, registered as torch.ops.lokitalk_grid.*:
//   forward(u [N, D], emb [T, C], offsets, scales, grid_res, hash, align_corners, smoothstep)
//     -> [N, L * C]
//   backward_embeddings(grad_out, u, rows, channels, ..., strategy) -> [T, C]
//     strategy 0 auto, 1 one thread per level (no atomics), 2 point-parallel with atomics
//   backward_inputs(grad_out, u, emb, ...) -> [N, D] (gradient through the weights)
// The kernels are plain C++/OpenMP in grid_kernels.cpp (declared below; a mismatch between
// these declarations and the definitions fails at link/load time, never silently).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cstdint>

namespace lokitalk_grid {
template <typename T>
void forward(const T* u, const T* emb, T* out, int64_t N, int64_t dim, int64_t C, int64_t L,
             const int64_t* offsets, const double* scales, const int64_t* grid_res, bool hash,
             bool align, bool smooth, int threads);
template <typename T>
void backward_embeddings(const T* u, const T* gout, T* gemb, int64_t N, int64_t dim, int64_t C,
                         int64_t L, const int64_t* offsets, const double* scales,
                         const int64_t* grid_res, bool hash, bool align, bool smooth,
                         int strategy, int threads);
template <typename T>
void backward_inputs(const T* u, const T* emb, const T* gout, T* gu, int64_t N, int64_t dim,
                     int64_t C, int64_t L, const int64_t* offsets, const double* scales,
                     const int64_t* grid_res, bool hash, bool align, bool smooth, int threads);
}  // namespace lokitalk_grid

namespace {

void check_layout(const at::Tensor& u, at::IntArrayRef offsets, at::ArrayRef<double> scales,
                  at::IntArrayRef grid_res) {
  TORCH_CHECK(u.device().is_cpu() && u.dim() == 2 && u.is_contiguous(),
              "u must be a contiguous CPU tensor [N, D]");
  TORCH_CHECK(u.size(1) >= 1 && u.size(1) <= 3, "input dim must be 1, 2 or 3");
  TORCH_CHECK(offsets.size() == scales.size() + 1 && grid_res.size() == scales.size(),
              "offsets must have L + 1 entries, scales and grid_res L");
  for (size_t l = 0; l < scales.size(); ++l)
    TORCH_CHECK(offsets[l + 1] > offsets[l], "every level needs at least one entry");
}

void check_same(const at::Tensor& t, const at::Tensor& u, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous() && t.scalar_type() == u.scalar_type(),
              name, " must be a contiguous CPU tensor with u's dtype");
}


at::Tensor forward(const at::Tensor& u, const at::Tensor& emb, at::IntArrayRef offsets,
                   at::ArrayRef<double> scales, at::IntArrayRef grid_res, bool hash,
                   bool align_corners, bool smoothstep) {
  check_layout(u, offsets, scales, grid_res);
  check_same(emb, u, "embeddings");
  TORCH_CHECK(emb.dim() == 2 && offsets.back() == emb.size(0),
              "embeddings must be [offsets[L], C]");
  const int64_t N = u.size(0), D = u.size(1), C = emb.size(1);
  const int64_t L = static_cast<int64_t>(scales.size());
  // the kernel writes each level's C columns of every point in place (no transpose)
  at::Tensor out = at::empty({N, L * C}, u.options());
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "lokitalk_grid_forward", [&] {
    lokitalk_grid::forward<scalar_t>(u.data_ptr<scalar_t>(), emb.data_ptr<scalar_t>(),
                                     out.data_ptr<scalar_t>(), N, D, C, L, offsets.data(),
                                     scales.data(), grid_res.data(), hash, align_corners,
                                     smoothstep, at::get_num_threads());
  });
  return out;
}

at::Tensor backward_embeddings(const at::Tensor& grad_out, const at::Tensor& u, int64_t rows,
                               int64_t channels, at::IntArrayRef offsets,
                               at::ArrayRef<double> scales, at::IntArrayRef grid_res, bool hash,
                               bool align_corners, bool smoothstep, int64_t strategy) {
  check_layout(u, offsets, scales, grid_res);
  check_same(grad_out, u, "grad_out");
  const int64_t N = u.size(0), D = u.size(1);
  const int64_t L = static_cast<int64_t>(scales.size());
  TORCH_CHECK(offsets.back() == rows, "rows must equal offsets[L]");
  TORCH_CHECK(grad_out.dim() == 2 && grad_out.size(0) == N && grad_out.size(1) == L * channels,
              "grad_out must be [N, L * C]");
  const at::Tensor gout = grad_out.contiguous();
  at::Tensor gemb = at::zeros({rows, channels}, u.options());
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "lokitalk_grid_backward_embeddings", [&] {
    lokitalk_grid::backward_embeddings<scalar_t>(
        u.data_ptr<scalar_t>(), gout.data_ptr<scalar_t>(), gemb.data_ptr<scalar_t>(), N, D,
        channels, L, offsets.data(), scales.data(), grid_res.data(), hash, align_corners,
        smoothstep, static_cast<int>(strategy), at::get_num_threads());
  });
  return gemb;
}

at::Tensor backward_inputs(const at::Tensor& grad_out, const at::Tensor& u, const at::Tensor& emb,
                           at::IntArrayRef offsets, at::ArrayRef<double> scales,
                           at::IntArrayRef grid_res, bool hash, bool align_corners,
                           bool smoothstep) {
  check_layout(u, offsets, scales, grid_res);
  check_same(emb, u, "embeddings");
  check_same(grad_out, u, "grad_out");
  const int64_t N = u.size(0), D = u.size(1), C = emb.size(1);
  const int64_t L = static_cast<int64_t>(scales.size());
  TORCH_CHECK(emb.dim() == 2 && offsets.back() == emb.size(0),
              "embeddings must be [offsets[L], C]");
  TORCH_CHECK(grad_out.dim() == 2 && grad_out.size(0) == N && grad_out.size(1) == L * C,
              "grad_out must be [N, L * C]");
  const at::Tensor gout = grad_out.contiguous();
  at::Tensor gu = at::empty_like(u);
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "lokitalk_grid_backward_inputs", [&] {
    lokitalk_grid::backward_inputs<scalar_t>(
        u.data_ptr<scalar_t>(), emb.data_ptr<scalar_t>(), gout.data_ptr<scalar_t>(),
        gu.data_ptr<scalar_t>(), N, D, C, L, offsets.data(), scales.data(), grid_res.data(),
        hash, align_corners, smoothstep, at::get_num_threads());
  });
  return gu;
}

}  // namespace

TORCH_LIBRARY(lokitalk_grid, m) {
  m.def("forward(Tensor u, Tensor emb, int[] offsets, float[] scales, int[] grid_res, bool hash, "
        "bool align_corners, bool smoothstep) -> Tensor");
  m.def("backward_embeddings(Tensor grad_out, Tensor u, int rows, int channels, int[] offsets, "
        "float[] scales, int[] grid_res, bool hash, bool align_corners, bool smoothstep, "
        "int strategy) -> Tensor");
  m.def("backward_inputs(Tensor grad_out, Tensor u, Tensor emb, int[] offsets, float[] scales, "
        "int[] grid_res, bool hash, bool align_corners, bool smoothstep) -> Tensor");
  m.impl("forward", c10::DispatchKey::CPU, &forward);
  m.impl("backward_embeddings", c10::DispatchKey::CPU, &backward_embeddings);
  m.impl("backward_inputs", c10::DispatchKey::CPU, &backward_inputs);
}
