#!/usr/bin/env bash
# Sets up (installs missing Debian packages), builds the daemon in Release
# (build-release/) and starts it on the bundled demo model (models/demo),
# listening on 127.0.0.1:50051. Extra arguments go to fastrel-server, e.g.
#   bash scripts/run-demo.sh --port 6000 --metrics_port 9100
# Stop it with Ctrl-C (SIGINT): it drains and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --release --build-dir build-release \
  --target fastrel-server --target fastrel-cli
exec build-release/bin/fastrel-server --model_dir models/demo "$@"
