// A packed batch: sequences concatenated without padding.
#ifndef FASTREL_ENGINE_RUNTIME_PACKED_BATCH_H_
#define FASTREL_ENGINE_RUNTIME_PACKED_BATCH_H_

#include <cstdint>
#include <span>
#include <vector>

namespace fastrel {

// Sequence i occupies tokens [offsets[i], offsets[i+1]) of input_ids and
// token_type_ids. Attention never crosses sequences.
// Thread safety: a plain value; not synchronized.
struct PackedBatch {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;
  std::vector<int32_t> offsets{0};  // size num_sequences() + 1

  int num_sequences() const { return static_cast<int>(offsets.size()) - 1; }
  int total_tokens() const { return static_cast<int>(input_ids.size()); }
  int length(int i) const { return offsets[i + 1] - offsets[i]; }
  // Appends one sequence. ids and types must have the same, non-zero size.
  void Add(std::span<const int32_t> ids, std::span<const int32_t> types) {
    input_ids.insert(input_ids.end(), ids.begin(), ids.end());
    token_type_ids.insert(token_type_ids.end(), types.begin(), types.end());
    offsets.push_back(static_cast<int32_t>(input_ids.size()));
  }
  void Clear() {
    input_ids.clear();
    token_type_ids.clear();
    offsets.assign(1, 0);
  }
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_RUNTIME_PACKED_BATCH_H_
