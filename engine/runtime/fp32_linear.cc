#include "engine/runtime/fp32_linear.h"

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/runtime/dnnl_engine.h"

namespace fastrel {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

class Fp32LinearState : public LinearState {
 public:
  Fp32LinearState(const dnnl::matmul::primitive_desc& pd)
      : stream_(CpuEngine()), prim_(pd) {
    scratch_.resize(pd.scratchpad_desc().get_size());
    scratch_mem_ = memory(pd.scratchpad_desc(), CpuEngine(), scratch_.data());
  }

  dnnl::stream stream_;
  dnnl::matmul prim_;
  std::vector<uint8_t> scratch_;
  memory scratch_mem_;
};

class Fp32Linear : public LinearOp {
 public:
  Fp32Linear(int in, int out) : in_(in), out_(out) {}

  absl::Status Init(const DenseParams& p) {
    try {
      const dnnl::engine& eng = CpuEngine();
      const memory::dim K = in_, N = out_;
      memory::desc src_md({DNNL_RUNTIME_DIM_VAL, K}, dt::f32, {K, 1});
      memory::desc dst_md({DNNL_RUNTIME_DIM_VAL, N}, dt::f32, {N, 1});
      memory::desc bias_md({1, N}, dt::f32, tag::ab);
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      // Prefer the layout oneDNN picks; fall back to the plain transposed one.
      try {
        memory::desc wei_any({K, N}, dt::f32, tag::any);
        pd_ = dnnl::matmul::primitive_desc(
            dnnl::matmul::desc(src_md, wei_any, bias_md, dst_md), attr, eng);
      } catch (const dnnl::error&) {
        memory::desc wei_ab({K, N}, dt::f32, tag::ab);
        pd_ = dnnl::matmul::primitive_desc(
            dnnl::matmul::desc(src_md, wei_ab, bias_md, dst_md), attr, eng);
      }
      // PyTorch's [out, in] row-major is [K, N] in "ba" order.
      memory user_w(memory::desc({K, N}, dt::f32, tag::ba), eng,
                    const_cast<float*>(p.weight.data()));
      weights_ = memory(pd_.weights_desc(), eng);
      dnnl::stream s(eng);
      dnnl::reorder(user_w, weights_).execute(s, user_w, weights_);
      s.wait();
      bias_ = memory(bias_md, eng);
      std::copy(p.bias.begin(), p.bias.end(),
                static_cast<float*>(bias_.get_data_handle()));
      impl_ = pd_.impl_info_str();
    } catch (const dnnl::error& e) {
      return absl::InternalError(
          absl::StrCat("oneDNN matmul ", in_, "x", out_, ": ", e.what()));
    }
    return absl::OkStatus();
  }

  int in_features() const override { return in_; }
  int out_features() const override { return out_; }

  std::unique_ptr<LinearState> NewState() const override {
    UseOneOmpThread();
    return std::make_unique<Fp32LinearState>(pd_);
  }

  absl::Status Forward(const float* x, int rows, float* y,
                       const LinearEpilogue& epi,
                       LinearState* state) const override {
    if (rows == 0) return absl::OkStatus();
    auto* st = static_cast<Fp32LinearState*>(state);
    try {
      const dnnl::engine& eng = CpuEngine();
      memory src(memory::desc({rows, in_}, dt::f32, {in_, 1}), eng,
                 const_cast<float*>(x));
      memory dst(memory::desc({rows, out_}, dt::f32, {out_, 1}), eng, y);
      st->prim_.execute(st->stream_, {{DNNL_ARG_SRC, src},
                                      {DNNL_ARG_WEIGHTS, weights_},
                                      {DNNL_ARG_BIAS, bias_},
                                      {DNNL_ARG_DST, dst},
                                      {DNNL_ARG_SCRATCHPAD, st->scratch_mem_}});
      st->stream_.wait();
    } catch (const dnnl::error& e) {
      return absl::InternalError(absl::StrCat("oneDNN matmul ", in_, "x", out_,
                                              " failed: ", e.what()));
    }
    if (epi.activation != Activation::kNone || epi.residual != nullptr) {
      ApplyEpilogue(nullptr, epi, y, rows, out_);
    }
    return absl::OkStatus();
  }

  std::string Describe() const override {
    return absl::StrCat("fp32 ", in_, "x", out_, " (", impl_, ")");
  }

 private:
  const int in_, out_;
  dnnl::matmul::primitive_desc pd_;
  memory weights_;
  memory bias_;
  std::string impl_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LinearOp>> NewFp32Linear(
    const DenseParams& params) {
  if (params.in <= 0 || params.out <= 0 ||
      params.weight.size() != static_cast<size_t>(params.in) * params.out ||
      params.bias.size() != static_cast<size_t>(params.out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linear params inconsistent: in=", params.in, " out=", params.out,
        " weight=", params.weight.size(), " bias=", params.bias.size()));
  }
  // oneDNN fixes a primitive's thread count when it is created: create it
  // single-threaded (see UseOneOmpThread).
  UseOneOmpThread();
  auto op = std::make_unique<Fp32Linear>(params.in, params.out);
  if (absl::Status s = op->Init(params); !s.ok()) return s;
  return op;
}

LinearFactory Fp32LinearFactory() {
  return [](const LinearId&, const DenseParams& params) {
    return NewFp32Linear(params);
  };
}

}  // namespace fastrel
