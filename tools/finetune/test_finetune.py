#!/usr/bin/env python3
"""Tests of tools/finetune against the golden files and the real C++ tools.

Run by ctest (finetune_test) as
  python3 test_finetune.py SHARED_DIR SOURCE_DIR BIN_DIR
with SHARED_DIR holding golden/ and data/, SOURCE_DIR the repository and
BIN_DIR the fastrel binaries (fastrel-export-hf, fastrel-compile).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import finetune  # noqa: E402
from lengthdrop_model import (LINEAGE_KEY, WordPiece, load_model,  # noqa: E402
                              read_safetensors)

SHARED, SOURCE, BIN = sys.argv[1:4] if len(sys.argv) >= 4 else ("", "", "")
DEMO = f"{SOURCE}/models/demo"
COMPILED = f"{SOURCE}/models/demo-4x1-80"
# The golden logits come from an independent fp32 PyTorch reference; ours
# runs the same fp32 arithmetic in another order (DESIGN.md allows 1e-4).
LOGIT_TOL = 1e-4
GOLDEN_PAIRS = 64  # pairs checked (each with 3 length configurations)


def golden(name):
    with open(f"{SHARED}/golden/{name}", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class GoldenTest(unittest.TestCase):
    def test_tokenizer_matches_golden(self):
        wp = WordPiece(f"{DEMO}/vocab.txt")
        rows = golden("tokenize.jsonl")
        self.assertGreater(len(rows), 100)
        for r in rows:
            self.assertEqual(wp.encode(r["text"]), r["ids"], r["text"])

    def test_logits_and_kept_tokens_match_golden(self):
        wp = WordPiece(f"{DEMO}/vocab.txt")
        model = load_model(DEMO, dropout=0.0).eval()
        for r in golden("pairs.jsonl")[:GOLDEN_PAIRS]:
            ids, types = wp.encode_pair(r["query"], r["document"], 128)
            self.assertEqual(ids, r["input_ids"])
            batch = (torch.tensor([ids]), torch.tensor([types]),
                     torch.ones(1, len(ids), dtype=torch.bool))
            with torch.no_grad():
                self.assertAlmostEqual(model(*batch).item(),
                                       r["logits"]["full"], delta=LOGIT_TOL)
                for name, ratios in r["ratios"].items():
                    logit, kept = model(*batch, ratios, trace=True)
                    self.assertAlmostEqual(logit.item(), r["logits"][name],
                                           delta=LOGIT_TOL)
                    # Layer positions index the previous layer's survivors.
                    positions = list(range(len(ids)))
                    for layer, sel in enumerate(kept):
                        positions = [positions[i] for i in sel[0].tolist()]
                        self.assertEqual(positions, r["kept"][name][layer],
                                         f"{name} layer {layer}")


class ReadRowsTest(unittest.TestCase):
    def test_exclude_drops_evaluation_pairs(self):
        wp = WordPiece(f"{DEMO}/vocab.txt")
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/rows.tsv"
            with open(path, "w", encoding="utf-8") as f:
                f.write("query\tdocument\tlabel\n"
                        "tcp tunnel\tTCP over HTTP\t1\n"
                        "tcp tunnel\tA text editor\t0\n"
                        "text editor\tA text editor\t1\n")
            rows, dropped = finetune.read_rows(path, wp)
            self.assertEqual((len(rows), dropped), (3, 0))
            rows, dropped = finetune.read_rows(
                path, wp, frozenset({("tcp tunnel", "A text editor")}))
            self.assertEqual((len(rows), dropped), (2, 1))
            self.assertEqual([r[2] for r in rows], [1.0, 1.0])


class BadInputTest(unittest.TestCase):
    """Inputs that leave nothing to train on or to report end with a clear
    message (SystemExit), never a hang or a division by zero."""

    def test_clear_exits(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/rows.tsv"
            with open(path, "w", encoding="utf-8") as f:
                f.write("query\tdocument\tlabel\n"
                        "tcp tunnel\tTCP over HTTP\t1\n"
                        "text editor\tA text editor\t1\n")
            args = ["--student", DEMO, "--teacher", DEMO, "--train", path,
                    "--out", f"{tmp}/out", "--max_steps", "1"]
            for extra, want in ((["--exclude", path, "--holdout", "0"],
                                 "no training rows left"),
                                (["--holdout", "2"], "no training rows left"),
                                (["--holdout", "1"], "need both labels")):
                with self.assertRaises(SystemExit, msg=extra) as e:
                    finetune.main(args + extra)
                self.assertIn(want, str(e.exception.code))
            self.assertFalse(os.path.exists(f"{tmp}/out"))


class FinetuneRoundTripTest(unittest.TestCase):
    """export -> fine-tune (2 steps) -> compile --mask_from_source."""

    def test_mask_and_lineage_survive(self):
        with tempfile.TemporaryDirectory() as tmp:
            exported, tuned = f"{tmp}/exported", f"{tmp}/tuned"
            subprocess.run([f"{BIN}/fastrel-export-hf", "--model", COMPILED,
                            "--output", exported], check=True)
            with open(f"{SHARED}/data/dev.tsv", encoding="utf-8") as f:
                rows = f.readlines()[:97]  # header + 96 rows
            with open(f"{tmp}/train.tsv", "w", encoding="utf-8") as f:
                f.writelines(rows)
            finetune.main(["--student", exported, "--teacher", DEMO,
                           "--train", f"{tmp}/train.tsv", "--out", tuned,
                           "--max_steps", "2", "--batch", "16",
                           "--holdout", "32", "--lr", "1e-3",
                           "--warmup", "1"])
            before_meta, after_meta = {}, {}
            before = read_safetensors(f"{exported}/model.safetensors",
                                      before_meta)
            after = read_safetensors(f"{tuned}/model.safetensors", after_meta)
            self.assertEqual(after_meta[LINEAGE_KEY], before_meta[LINEAGE_KEY])
            changed = 0
            for name, w in before.items():
                if not name.startswith("bert.encoder.layer.") or \
                        not name.endswith(".weight") or w.dim() != 2:
                    continue
                mask = finetune.sparsity_mask(w, "4x1")
                self.assertTrue(torch.all(after[name][~mask] == 0), name)
                changed += int((after[name][mask] != w[mask]).sum())
            self.assertGreater(changed, 0)
            compiled = f"{tmp}/compiled"
            subprocess.run([f"{BIN}/fastrel-compile", "--input", tuned,
                            "--output", compiled, "--pattern", "4x1",
                            "--mask_from_source", "--calibration",
                            f"{tmp}/train.tsv", "--calibration_rows", "8"],
                           check=True, stdout=subprocess.DEVNULL)
            with open(f"{compiled}/fastrel_model.textproto") as f:
                info = f.read()
            # The root of the lineage: the bundled model's own base.
            with open(f"{COMPILED}/fastrel_model.textproto") as f:
                base = [l for l in f if l.startswith("base_source_checksum")]
            self.assertEqual(len(base), 1)
            self.assertIn(base[0].strip(), info)


if __name__ == "__main__":
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    unittest.main(argv=sys.argv[:1] + sys.argv[4:])
