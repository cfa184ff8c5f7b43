#!/bin/bash
# Interleaved before (main 498bf56) / after (attn8) runs, 2 rounds, native and AVX2.
cd /work/wt-attn8
OLD=/work/main/build/bin/fastrel-bench
NEW=build/bin/fastrel-bench   # attn8 build (a copy was used so rebuilds could not interfere)
for round in 1 2; do
  for isa in native avx2; do
    if [ $isa = avx2 ]; then export FASTREL_CPU_MAX=avx2 ONEDNN_MAX_CPU_ISA=AVX2; else unset FASTREL_CPU_MAX ONEDNN_MAX_CPU_ISA; fi
    echo "{\"round\":$round,\"isa\":\"$isa\",\"binary\":\"main\",\"out\":$($OLD --compare models/demo,/tmp/lead/dense,/tmp/lead/obs80 --workers -1 --batches 20 --json 2>/dev/null)}"
    echo "{\"round\":$round,\"isa\":\"$isa\",\"binary\":\"attn8\",\"out\":$($NEW --compare models/demo,/tmp/lead/dense@fp32,/tmp/lead/dense@int8,/tmp/lead/obs80@fp32,/tmp/lead/obs80@int8 --workers -1 --batches 20 --json 2>/dev/null)}"
  done
done
