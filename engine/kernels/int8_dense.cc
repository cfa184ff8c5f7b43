#include "engine/kernels/int8_dense.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/kernels/cpu_features.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace fastrel {

void DenseInt8GemmRef(const void* x, ActType act, int m, int k, int64_t ldx,
                      const int8_t* wq, int n, int32_t* acc, int64_t ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      const int8_t* w = wq + static_cast<int64_t>(j) * k;
      int32_t s = 0;
      if (act == ActType::kS8) {
        const int8_t* a = static_cast<const int8_t*>(x) + i * ldx;
        for (int kk = 0; kk < k; ++kk) s += int32_t{a[kk]} * w[kk];
      } else {
        const uint8_t* a = static_cast<const uint8_t*>(x) + i * ldx;
        for (int kk = 0; kk < k; ++kk) s += int32_t{a[kk]} * w[kk];
      }
      acc[i * ldc + j] = s;
    }
  }
}

struct DenseInt8Gemm::Impl {
  dnnl::engine eng;
  dnnl::matmul prim;
  dnnl::memory::desc scratch_md;
  std::vector<int8_t> weights;
  std::string impl_name;
};

DenseInt8Gemm::DenseInt8Gemm(DenseInt8Gemm&&) noexcept = default;
DenseInt8Gemm& DenseInt8Gemm::operator=(DenseInt8Gemm&&) noexcept = default;
DenseInt8Gemm::~DenseInt8Gemm() = default;

const std::string& DenseInt8Gemm::impl_name() const { return impl_->impl_name; }

absl::StatusOr<DenseInt8Gemm> DenseInt8Gemm::Create(const int8_t* wq, int n,
                                                    int k, ActType act,
                                                    DenseBackend backend) {
  if (n < 1 || k < 1 || k > 65535 || wq == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dense int8: need 1 <= N, 1 <= K <= 65535, got N=", n, " K=", k));
  }
  const int64_t total = int64_t{n} * k;
  for (int64_t i = 0; i < total; ++i) {
    if (wq[i] == -128) {
      return absl::InvalidArgumentError(
          "dense int8: weights must be in [-127, 127]");
    }
  }
  DenseInt8Gemm g;
  g.n_ = n;
  g.k_ = k;
  g.act_ = act;
  g.col_sum_.assign(n, 0);
  for (int j = 0; j < n; ++j) {
    for (int kk = 0; kk < k; ++kk) g.col_sum_[j] += wq[int64_t{j} * k + kk];
  }
  g.impl_ = std::make_unique<Impl>();
  g.impl_->weights.assign(wq, wq + total);
  const CpuFeatures& f = GetCpuFeatures();
  if (backend == DenseBackend::kAuto) {
    backend = (f.avx512_vnni || f.avx_vnni || f.amx_int8)
                  ? DenseBackend::kOneDnn
              : f.avx2 ? DenseBackend::kAvx2
                       : DenseBackend::kRef;
  }
  g.backend_ = backend;
  if (backend == DenseBackend::kAvx2) {
    if (!f.avx2) {
      return absl::FailedPreconditionError("dense int8: AVX2 not available");
    }
    g.impl_->impl_name = "fastrel:avx2";
    return g;
  }
  if (backend == DenseBackend::kRef) {
    g.impl_->impl_name = "fastrel:ref";
    return g;
  }
  using dt = dnnl::memory::data_type;
  const dnnl::memory::dim rt = DNNL_RUNTIME_DIM_VAL;
  try {
    g.impl_->eng = dnnl::engine(dnnl::engine::kind::cpu, 0);
    const dnnl::memory::desc src_md({rt, k},
                                    act == ActType::kS8 ? dt::s8 : dt::u8,
                                    dnnl::memory::dims{rt, 1});
    // Wq [N x K] row-major is the [K x N] weights matrix with strides {1, K}.
    const dnnl::memory::desc wei_md({k, n}, dt::s8, dnnl::memory::dims{1, k});
    const dnnl::memory::desc dst_md({rt, n}, dt::s32,
                                    dnnl::memory::dims{rt, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::matmul::desc desc(src_md, wei_md, dst_md);
    const dnnl::matmul::primitive_desc pd(desc, attr, g.impl_->eng);
    g.impl_->prim = dnnl::matmul(pd);
    g.impl_->scratch_md = pd.scratchpad_desc();
    g.impl_->impl_name = pd.impl_info_str();
  } catch (const dnnl::error& e) {
    return absl::InternalError(
        absl::StrCat("dense int8: oneDNN matmul unavailable: ", e.what()));
  }
  return g;
}

absl::Status DenseInt8Gemm::RunInt32(const void* x, int m, int64_t ldx,
                                     int32_t* acc, int64_t ldc) const {
  if (m < 0 || ldx < k_ || ldc < n_ || (m > 0 && (!x || !acc))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dense int8: bad arguments m=", m, " ldx=", ldx, " ldc=", ldc));
  }
  if (m == 0) return absl::OkStatus();
  if (backend_ == DenseBackend::kRef) {
    DenseInt8GemmRef(x, act_, m, k_, ldx, impl_->weights.data(), n_, acc, ldc);
    return absl::OkStatus();
  }
  if (backend_ == DenseBackend::kAvx2) {
    if (act_ == ActType::kS8) {
      internal::DenseInt8GemmS8Avx2(static_cast<const int8_t*>(x), m, k_, ldx,
                                    impl_->weights.data(), n_, acc, ldc);
      return absl::OkStatus();
    }
    // u8: x - 128 is s8 (x ^ 0x80); add back 128 * col_sum[n].
    constexpr int kRows = 64;
    thread_local std::vector<int8_t> shifted;
    shifted.resize(static_cast<size_t>(kRows) * k_);
    for (int m0 = 0; m0 < m; m0 += kRows) {
      const int rows = std::min(kRows, m - m0);
      for (int r = 0; r < rows; ++r) {
        const uint8_t* src = static_cast<const uint8_t*>(x) + (m0 + r) * ldx;
        int8_t* dst = shifted.data() + static_cast<size_t>(r) * k_;
        for (int i = 0; i < k_; ++i)
          dst[i] = static_cast<int8_t>(src[i] ^ 0x80);
      }
      int32_t* out = acc + m0 * ldc;
      internal::DenseInt8GemmS8Avx2(shifted.data(), rows, k_, k_,
                                    impl_->weights.data(), n_, out, ldc);
      for (int r = 0; r < rows; ++r) {
        for (int j = 0; j < n_; ++j) out[r * ldc + j] += 128 * col_sum_[j];
      }
    }
    return absl::OkStatus();
  }
  using dt = dnnl::memory::data_type;
  try {
    const dnnl::engine& eng = impl_->eng;
    const dnnl::memory::desc src_md({m, k_},
                                    act_ == ActType::kS8 ? dt::s8 : dt::u8,
                                    dnnl::memory::dims{ldx, 1});
    const dnnl::memory::desc wei_md({k_, n_}, dt::s8,
                                    dnnl::memory::dims{1, k_});
    const dnnl::memory::desc dst_md({m, n_}, dt::s32,
                                    dnnl::memory::dims{ldc, 1});
    thread_local std::vector<uint8_t> scratch;
    scratch.resize(std::max<size_t>(impl_->scratch_md.get_size(), 1));
    dnnl::memory src(src_md, eng, const_cast<void*>(x));
    dnnl::memory wei(wei_md, eng, const_cast<int8_t*>(impl_->weights.data()));
    dnnl::memory dst(dst_md, eng, acc);
    dnnl::memory scr(impl_->scratch_md, eng, scratch.data());
    dnnl::stream strm(eng);
    impl_->prim.execute(strm, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, wei},
                               {DNNL_ARG_DST, dst},
                               {DNNL_ARG_SCRATCHPAD, scr}});
    strm.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(
        absl::StrCat("dense int8: oneDNN execute failed: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status DenseInt8Gemm::Run(const void* x, int m, int64_t ldx,
                                const Epilogue& ep, KernelIsa isa) const {
  if (absl::Status s = CheckEpilogue(ep, m, n_); !s.ok()) return s;
  if (!IsaAvailable(isa)) {
    return absl::FailedPreconditionError("dense int8: ISA not available");
  }
  thread_local std::vector<int32_t> panel;
  panel.resize(static_cast<size_t>(kPanelRows) * n_);
  const size_t elem = 1;  // s8 and u8 are both one byte
  for (int m0 = 0; m0 < m; m0 += kPanelRows) {
    const int rows = std::min(kPanelRows, m - m0);
    const void* xp = static_cast<const uint8_t*>(x) + m0 * ldx * elem;
    if (absl::Status s = RunInt32(xp, rows, ldx, panel.data(), n_); !s.ok()) {
      return s;
    }
    ApplyEpilogue(ep, panel.data(), n_, m0, rows, n_, isa);
  }
  return absl::OkStatus();
}

}  // namespace fastrel
