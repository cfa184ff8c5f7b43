#!/usr/bin/env bash
# Installs fastrel's build and test dependencies from Debian 12 packages.
# Idempotent: does nothing when every package is already installed.
# Usage: scripts/install-deps.sh   (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  # gRPC + protobuf (API, server, client)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # Abseil: Status/StatusOr, Mutex, flags, strings
  libabsl-dev
  # oneDNN: dense fp32/int8 GEMM
  libdnnl-dev
  # Prometheus exposition
  prometheus-cpp-dev
  # tcmalloc (linked into the daemon)
  libgoogle-perftools-dev
  # JSON (config.json, safetensors headers), Unicode tables (tokenizer)
  nlohmann-json3-dev libutf8proc-dev
  # tests and micro-benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # formatting / tooling used by scripts
  clang-format
  # tools/finetune (offline sparse LengthDrop fine-tuning; not used by the
  # daemon): PyTorch, the standard for training, and OpenBLAS, without which
  # Debian's PyTorch falls back to the reference BLAS (about 15x slower)
  python3-torch libopenblas0-pthread
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
