#!/usr/bin/env python3
"""Sparse LengthDrop fine-tuning of a compiled fastrel model (tools/finetune).

Starts from a compiled model exported by fastrel-export-hf (pruned weights are
exact zeros), keeps its sparsity mask fixed, and trains the kept weights so
that the model loses less accuracy when it drops tokens: each step trains the
full length and random length configurations (LengthDrop, the Length-Adaptive
Transformer's sandwich rule: one from the small end, one from the middle),
every one distilled from a dense teacher's full-length score plus the label.
Writes a Hugging Face directory with the same zeros, to compile again with
`fastrel-compile --mask_from_source` (README.md here).

usage: finetune.py --student DIR --teacher DIR --train FILE.tsv --out DIR
                   [--minutes M] [--max_steps S] [...]
"""
import argparse
import json
import os
import random
import shutil
import sys
import time

import torch
import torch.nn.functional as F

from lengthdrop_model import WordPiece, load_model, save_model

MAX_LEN = 128


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--student", required=True,
                   help="fastrel-export-hf output of the compiled model")
    p.add_argument("--teacher", required=True,
                   help="dense Hugging Face model to distil from")
    p.add_argument("--train", required=True,
                   help="query<TAB>document<TAB>label rows (header line)")
    p.add_argument("--out", required=True, help="directory to write")
    p.add_argument("--minutes", type=float, default=30,
                   help="wall-clock training budget")
    p.add_argument("--max_steps", type=int, default=0,
                   help="stop after this many steps (0: budget only)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--exclude", default="",
                   help="a query<TAB>document<TAB>label file (e.g. the "
                   "evaluation set) whose (query, document) pairs are "
                   "dropped from the training rows")
    p.add_argument("--holdout", type=int, default=2000,
                   help="training rows held out to report AUC (not trained; "
                   "0: no report)")
    p.add_argument("--small_keep", type=float, nargs=2, default=[0.3, 0.5],
                   help="layer-0 keep ratio range of the small configuration")
    p.add_argument("--mid_keep", type=float, nargs=2, default=[0.6, 0.9],
                   help="layer-0 keep ratio range of the middle configuration")
    p.add_argument("--pattern", choices=("4x1", "none"), default="4x1",
                   help="pruning pattern of the compiled model: 4x1 keeps a "
                   "block of 4 output rows of one input column when any of "
                   "its weights is nonzero (int8 rounding can zero a kept "
                   "weight); none keeps exactly the nonzero weights")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def read_pairs(path):
    """[(query, document, label)] of a file with the header line."""
    out = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:3] != ["query", "document", "label"]:
            sys.exit(f"{path}: the first line must be query<TAB>document"
                     f"<TAB>label, got {header[:3]}")
        for n, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[2] not in ("0", "1"):
                sys.exit(f"{path}:{n}: want query<TAB>document<TAB>0|1")
            out.append(tuple(parts))
    return out


def read_rows(path, wp, exclude=frozenset()):
    """(tokenized (ids, types, label) rows without the (query, document)
    pairs in `exclude`, number of rows left out)."""
    rows, dropped = [], 0
    for q, d, y in read_pairs(path):
        if (q, d) in exclude:
            dropped += 1
            continue
        ids, types = wp.encode_pair(q, d, MAX_LEN)
        rows.append((ids, types, float(y)))
    return rows, dropped


def batches(rows, size, rng):
    """Shuffled batches of similar length (less padding)."""
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    out = []
    for c in range(0, len(idx), size * 50):
        chunk = sorted(idx[c:c + size * 50], key=lambda i: len(rows[i][0]))
        out += [chunk[i:i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def collate(rows, batch):
    n = max(len(rows[i][0]) for i in batch)
    ids = torch.zeros(len(batch), n, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros(len(batch), n, dtype=torch.bool)
    for j, i in enumerate(batch):
        k = len(rows[i][0])
        ids[j, :k] = torch.tensor(rows[i][0])
        types[j, :k] = torch.tensor(rows[i][1])
        mask[j, :k] = True
    return ids, types, mask, torch.tensor([rows[i][2] for i in batch])


def sparsity_mask(w, pattern):
    """True where a weight of w [out, in] may be trained."""
    if pattern == "none" or w.shape[0] % 4 != 0:
        return w != 0
    blocks = (w.reshape(w.shape[0] // 4, 4, w.shape[1]) != 0).any(dim=1)
    return blocks.repeat_interleave(4, dim=0)


def random_config(rng, first, layers):
    """Monotone keep ratios whose first layer is uniform in `first`."""
    r = [rng.uniform(*first)]
    for _ in range(layers - 1):
        r.append(r[-1] * rng.uniform(0.1, 1.0))
    return r


def auc(scores, labels):
    pairs = sorted(zip(scores, labels))
    pos = sum(labels)
    neg = len(labels) - pos
    rank = sum(i + 1 for i, (_, y) in enumerate(pairs) if y == 1)
    return (rank - pos * (pos + 1) / 2) / (pos * neg)


@torch.no_grad()
def evaluate(model, rows, ratios, size):
    model.eval()
    scores, labels = [], []
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    for b in range(0, len(order), size):
        ids, types, mask, y = collate(rows, order[b:b + size])
        scores += model(ids, types, mask, ratios).tolist()
        labels += y.tolist()
    model.train()
    return auc(scores, labels)


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    if os.path.exists(args.out) and os.listdir(args.out):
        sys.exit(f"{args.out}: exists and is not empty")
    wp = WordPiece(f"{args.student}/vocab.txt")
    student = load_model(args.student).train()
    teacher = load_model(args.teacher, dropout=0.0).eval()
    layers = len(student.layers)
    # The sparsity mask: every pruned weight (block) stays zero.
    masks = [(lin, sparsity_mask(lin.weight.detach(), args.pattern))
             for _, lin in student.encoder_linears()]
    kept = sum(int(m.sum()) for _, m in masks)
    total = sum(m.numel() for _, m in masks)
    print(f"encoder sparsity {1 - kept / total:.4f} (kept fixed)", flush=True)

    t0 = time.time()
    exclude = frozenset((q, d) for q, d, _ in read_pairs(args.exclude)) \
        if args.exclude else frozenset()
    rows, dropped = read_rows(args.train, wp, exclude)
    rng.shuffle(rows)
    held, rows = rows[:args.holdout], rows[args.holdout:]
    if not rows:
        sys.exit(f"{args.train}: no training rows left after --exclude and "
                 f"--holdout {args.holdout}")
    if held and len({r[2] for r in held}) < 2:
        sys.exit(f"{args.train}: the {len(held)} held-out rows need both "
                 "labels for an AUC (raise --holdout, or 0 for no report)")
    print(f"{len(rows)} training rows ({dropped} excluded), "
          f"{len(held)} held out, tokenized in "
          f"{time.time() - t0:.0f}s", flush=True)
    probes = {"full": None, "mid": [0.75, 0.65, 0.1, 0.1][:layers],
              "small": [0.4, 0.4, 0.05, 0.05][:layers]}

    def report(tag):
        if not held:
            return
        aucs = {k: round(evaluate(student, held, r, 64), 4)
                for k, r in probes.items()}
        print(f"{tag}: held-out AUC {json.dumps(aucs)}", flush=True)

    report("start")
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr,
                            weight_decay=0.01)
    deadline = time.time() + args.minutes * 60
    step, total_steps, start = 0, args.max_steps or None, time.time()
    done = False
    while not done:
        for batch in batches(rows, args.batch, rng):
            if time.time() >= deadline or (args.max_steps and
                                           step >= args.max_steps):
                done = True
                break
            scale = min(1.0, (step + 1) / args.warmup)
            if total_steps:
                scale *= max(0.1, 1 - step / total_steps)
            for g in opt.param_groups:
                g["lr"] = args.lr * scale
            ids, types, mask, y = collate(rows, batch)
            with torch.no_grad():
                target = torch.sigmoid(teacher(ids, types, mask))
            full = student(ids, types, mask)
            loss = (F.binary_cross_entropy_with_logits(full, y) +
                    F.binary_cross_entropy_with_logits(full, target))
            for first in (args.small_keep, args.mid_keep):
                sub = student(ids, types, mask,
                              random_config(rng, first, layers))
                loss = loss + F.binary_cross_entropy_with_logits(sub, target)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            with torch.no_grad():
                for lin, m in masks:
                    lin.weight.mul_(m)
            step += 1
            if step == 20 and not args.max_steps:
                rate = step / (time.time() - start)
                total_steps = int(rate * (deadline - start))
                print(f"{rate:.2f} steps/s: about {total_steps} steps",
                      flush=True)
            if step % 100 == 0:
                print(f"step {step} loss {loss.item():.4f} "
                      f"{time.time() - start:.0f}s", flush=True)
    report(f"after {step} steps")
    os.makedirs(args.out, exist_ok=True)
    save_model(student, args.out)
    for name in ("config.json", "vocab.txt", "tokenizer_config.json"):
        if os.path.exists(f"{args.student}/{name}"):
            shutil.copy(f"{args.student}/{name}", f"{args.out}/{name}")
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
