// The process-wide oneDNN CPU engine.
#ifndef FASTREL_ENGINE_RUNTIME_DNNL_ENGINE_H_
#define FASTREL_ENGINE_RUNTIME_DNNL_ENGINE_H_

#include <oneapi/dnnl/dnnl.hpp>

namespace fastrel {

// Created on first use. Thread safety: the engine is immutable and may be used
// from any thread (oneDNN engines are thread-safe).
const dnnl::engine& CpuEngine();

// Makes OpenMP (oneDNN's CPU runtime) use one thread for parallel regions
// started from the calling thread; fastrel runs one worker per core instead.
// Cheap when already set. Called by every fastrel entry point that creates or
// runs oneDNN primitives; it changes the calling thread's OpenMP setting.
void UseOneOmpThread();

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_DNNL_ENGINE_H_
