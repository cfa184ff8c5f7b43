// fastrel-export-hf: writes a compiled model as a Hugging Face BERT
// directory with the weights it serves, dequantized to fp32 (pruned weights
// exactly 0). See engine/model/hf_export.h; used by tools/finetune.
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "engine/model/hf_export.h"

ABSL_FLAG(std::string, model, "", "Compiled model directory to export.");
ABSL_FLAG(std::string, output, "",
          "Directory to write (must not exist or be empty).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "fastrel-export-hf --model COMPILED_DIR --output HF_DIR");
  absl::ParseCommandLine(argc, argv);
  const std::string model = absl::GetFlag(FLAGS_model);
  const std::string output = absl::GetFlag(FLAGS_output);
  if (model.empty() || output.empty()) {
    std::cerr << "fastrel-export-hf: --model and --output are required\n";
    return 2;
  }
  const absl::Status s = fastrel::ExportCompiledAsHf(model, output);
  if (!s.ok()) {
    std::cerr << "fastrel-export-hf: " << s << "\n";
    return 1;
  }
  std::cout << "exported " << model << " to " << output << "\n";
  return 0;
}
