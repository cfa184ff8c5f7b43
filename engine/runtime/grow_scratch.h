// GrowScratch: the grow-only scratch vectors of the runtime's workspaces
// (BertEncoder's workspace, the attention blocks' AttentionScratch). Once a
// worker has seen its largest batch, its Forward does no heap allocation of
// its own.
#ifndef FASTREL_ENGINE_RUNTIME_GROW_SCRATCH_H_
#define FASTREL_ENGINE_RUNTIME_GROW_SCRATCH_H_

#include <cstddef>
#include <vector>

namespace fastrel {

// Makes *v hold at least n elements (never shrinks it; new elements are
// value-initialized, existing ones keep their values) and returns v->data().
// The pointer is valid until the next call that grows *v.
// Thread safety: none; *v belongs to the caller.
template <class T>
T* GrowScratch(std::vector<T>* v, size_t n) {
  if (v->size() < n) v->resize(n);
  return v->data();
}

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_GROW_SCRATCH_H_
