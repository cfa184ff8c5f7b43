#include "engine/runtime/dnnl_engine.h"

#include <omp.h>

namespace fastrel {

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* const engine =
      new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

void UseOneOmpThread() {
  if (omp_get_max_threads() != 1) omp_set_num_threads(1);
}

}  // namespace fastrel
