"""A BERT cross-encoder in PyTorch with fastrel's length-adaptive token dropping.

The training-side twin of the C++ engine for tools/finetune: the same
tokenizer (BERT uncased WordPiece, `[CLS] query [SEP] document [SEP]`, query cut
to 32 tokens) and the same token dropping as DESIGN.md, "Length-adaptive
inference": per layer keep ceil(ratio * n - 1e-9) tokens (at least 1, never
more than the previous layer), significance = attention received summed over
heads and query rows, [CLS] always kept, ties to the lower position, kept
tokens in their original order, dropped after the attention block and before
the feed-forward block. test_finetune.py checks both against the golden files.

Weights load from and save to Hugging Face BertForSequenceClassification
safetensors (F32/F16/BF16 in, F32 out) with the standard tensor names.
"""
import json
import math
import struct
import unicodedata

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- tokenizer -------------------------------------------------------------


def _is_punct(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def _is_cjk(cp):
    return any(lo <= cp <= hi for lo, hi in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
        (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
        (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def basic_tokens(text):
    """BERT BasicTokenizer with do_lower_case: clean, split, strip accents."""
    chars = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD:
            continue
        cat = unicodedata.category(c)
        if c not in "\t\n\r" and cat in ("Cc", "Cf"):
            continue
        if _is_cjk(cp):
            chars.append(f" {c} ")
        elif c in " \t\n\r" or cat == "Zs":
            chars.append(" ")
        else:
            chars.append(c)
    out = []
    for word in "".join(chars).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        cur = ""
        for c in word:
            if _is_punct(c):
                if cur:
                    out.append(cur)
                    cur = ""
                out.append(c)
            else:
                cur += c
        if cur:
            out.append(cur)
    return out


class WordPiece:
    """Greedy longest-match-first WordPiece over a BERT vocab.txt."""

    def __init__(self, vocab_path, max_query_tokens=32):
        with open(vocab_path, encoding="utf-8") as f:
            self.itos = [line.rstrip("\n") for line in f]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.unk, self.cls, self.sep = (self.stoi[t]
                                        for t in ("[UNK]", "[CLS]", "[SEP]"))
        self.max_query_tokens = max_query_tokens

    def _word(self, w):
        if len(w) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(w):
            end = len(w)
            while start < end:
                piece = w[start:end] if start == 0 else "##" + w[start:end]
                if piece in self.stoi:
                    ids.append(self.stoi[piece])
                    break
                end -= 1
            if start == end:
                return [self.unk]
            start = end
        return ids

    def encode(self, text):
        return [i for w in basic_tokens(text) for i in self._word(w)]

    def encode_pair(self, query, document, max_len):
        """(input_ids, token_type_ids) of [CLS] q [SEP] d [SEP]."""
        q = self.encode(query)[:self.max_query_tokens]
        d = self.encode(document)[:max(0, max_len - 3 - len(q))]
        ids = [self.cls] + q + [self.sep] + d + [self.sep]
        return ids, [0] * (len(q) + 2) + [1] * (len(d) + 1)


# ---- safetensors -----------------------------------------------------------

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path, metadata=None):
    """{name: float32 tensor} of a safetensors file (float dtypes only); its
    "__metadata__" strings go into the dict `metadata` when one is given."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            if metadata is not None:
                metadata.update(t)
            continue
        if t["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name}: dtype {t['dtype']} "
                             "is not a float type")
        lo, hi = t["data_offsets"]
        buf = bytearray(raw[8 + n + lo:8 + n + hi])
        x = torch.frombuffer(buf, dtype=_DTYPES[t["dtype"]]) if buf else \
            torch.empty(0, dtype=_DTYPES[t["dtype"]])
        out[name] = x.reshape(t["shape"]).float()
    return out


def write_safetensors(tensors, path, metadata=None):
    """Writes {name: tensor} as F32 safetensors, names sorted, with the
    "__metadata__" strings `metadata` (plus "format": "pt")."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].detach().float().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt", **(metadata or {})}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- model -----------------------------------------------------------------

# Our module name -> HF name suffix, per encoder layer.
LAYER_TENSORS = {
    "q": "attention.self.query", "k": "attention.self.key",
    "v": "attention.self.value", "o": "attention.output.dense",
    "ln1": "attention.output.LayerNorm", "fi": "intermediate.dense",
    "fo": "output.dense", "ln2": "output.LayerNorm"}
# The encoder linears (the ones a compiled model prunes).
ENCODER_LINEARS = ("q", "k", "v", "o", "fi", "fo")


def keep_counts(ratios, n_real):
    """Tokens kept after each layer, [layers, batch] (DESIGN.md rule)."""
    counts, prev = [], n_real
    for r in ratios:
        k = torch.ceil(float(r) * n_real.double() - 1e-9).long().clamp(min=1)
        prev = torch.minimum(k, prev)
        counts.append(prev)
    return counts


class Layer(nn.Module):
    def __init__(self, hidden, heads, inter, eps, dropout):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(hidden, hidden)
                                          for _ in range(4))
        self.ln1 = nn.LayerNorm(hidden, eps=eps)
        self.fi, self.fo = nn.Linear(hidden, inter), nn.Linear(inter, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask, keep):
        """x [B,N,H], mask [B,N] real tokens, keep [B] or None.
        Returns (x, mask, kept positions [B,K] or None)."""
        b, n, h = x.shape
        dh = h // self.heads

        def heads(t):
            return t.view(b, n, self.heads, dh).transpose(1, 2)

        s = heads(self.q(x)) @ heads(self.k(x)).transpose(-1, -2)
        s = s / math.sqrt(dh)
        s = s.masked_fill(~mask[:, None, None, :], torch.finfo(s.dtype).min)
        p = s.softmax(-1)
        ctx = (self.drop(p) @ heads(self.v(x))).transpose(1, 2).reshape(b, n, h)
        x = self.ln1(x + self.drop(self.o(ctx)))
        kept = None
        if keep is not None:
            sig = (p.detach() * mask[:, None, :, None]).sum(dim=(1, 2))
            sig = sig.masked_fill(~mask, float("-inf"))
            sig[:, 0] = float("inf")
            k = int(keep.max())
            # Stable sort: equal significance keeps the lower position.
            order = torch.sort(sig, dim=-1, descending=True, stable=True).indices
            order = order[:, :k]
            valid = torch.arange(k)[None, :] < keep[:, None]
            order = torch.sort(torch.where(valid, order, order + n), dim=-1).values
            kept = torch.where(valid, order, torch.zeros_like(order))
            x = torch.gather(x, 1, kept[:, :, None].expand(b, k, h))
            mask = valid
        x = self.ln2(x + self.drop(self.fo(F.gelu(self.fi(x)))))
        return x, mask, kept


class CrossEncoder(nn.Module):
    """BertForSequenceClassification (one logit) with token dropping."""

    def __init__(self, config, dropout=0.1):
        super().__init__()
        h = config["hidden_size"]
        eps = config.get("layer_norm_eps", 1e-12)
        self.config = config
        self.wte = nn.Embedding(config["vocab_size"], h)
        self.wpe = nn.Embedding(config["max_position_embeddings"], h)
        self.wtt = nn.Embedding(config.get("type_vocab_size", 2), h)
        self.ln = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(
            Layer(h, config["num_attention_heads"],
                  config["intermediate_size"], eps, dropout)
            for _ in range(config["num_hidden_layers"]))
        self.pool = nn.Linear(h, h)
        self.cls = nn.Linear(h, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids, types, mask, ratios=None, trace=False):
        """Logits [B]; with trace also the kept positions of each layer."""
        b, n = ids.shape
        pos = torch.arange(n)[None, :].expand(b, n)
        x = self.drop(self.ln(self.wte(ids) + self.wpe(pos) + self.wtt(types)))
        counts = (keep_counts(ratios, mask.sum(-1)) if ratios is not None
                  else [None] * len(self.layers))
        kept = []
        for layer, keep in zip(self.layers, counts):
            x, mask, sel = layer(x, mask, keep)
            kept.append(sel)
        logit = self.cls(self.drop(torch.tanh(self.pool(x[:, 0])))).squeeze(-1)
        return (logit, kept) if trace else logit

    def hf_names(self):
        """[(HF tensor name, parameter)] for every parameter."""
        names = [("bert.embeddings.word_embeddings.weight", self.wte.weight),
                 ("bert.embeddings.position_embeddings.weight", self.wpe.weight),
                 ("bert.embeddings.token_type_embeddings.weight",
                  self.wtt.weight),
                 ("bert.embeddings.LayerNorm.weight", self.ln.weight),
                 ("bert.embeddings.LayerNorm.bias", self.ln.bias),
                 ("bert.pooler.dense.weight", self.pool.weight),
                 ("bert.pooler.dense.bias", self.pool.bias),
                 ("classifier.weight", self.cls.weight),
                 ("classifier.bias", self.cls.bias)]
        for i, layer in enumerate(self.layers):
            for attr, suffix in LAYER_TENSORS.items():
                mod = getattr(layer, attr)
                prefix = f"bert.encoder.layer.{i}.{suffix}"
                names += [(prefix + ".weight", mod.weight),
                          (prefix + ".bias", mod.bias)]
        return names

    def encoder_linears(self):
        """[(HF prefix, nn.Linear)] of the encoder linears."""
        return [(f"bert.encoder.layer.{i}.{LAYER_TENSORS[a]}", getattr(l, a))
                for i, l in enumerate(self.layers) for a in ENCODER_LINEARS]


def load_model(model_dir, dropout=0.1):
    """A CrossEncoder with the weights of a Hugging Face BERT directory."""
    with open(f"{model_dir}/config.json", encoding="utf-8") as f:
        config = json.load(f)
    model = CrossEncoder(config, dropout)
    model.metadata = {}
    tensors = read_safetensors(f"{model_dir}/model.safetensors",
                               model.metadata)
    with torch.no_grad():
        for name, param in model.hf_names():
            if name not in tensors:
                raise ValueError(f"{model_dir}/model.safetensors: "
                                 f"missing tensor {name}")
            if tuple(tensors[name].shape) != tuple(param.shape):
                raise ValueError(f"{model_dir}/model.safetensors: tensor "
                                 f"{name} has shape {list(tensors[name].shape)}"
                                 f", want {list(param.shape)}")
            param.copy_(tensors[name])
    return model


# The metadata key that carries a fine-tuned model's lineage into
# fastrel-compile (engine/model/hf_export.h, kBaseSourceChecksumKey).
LINEAGE_KEY = "fastrel_base_source_checksum"


def save_model(model, out_dir, lineage_from=None):
    """Writes out_dir/model.safetensors; the lineage metadata comes from the
    model loaded as `lineage_from` (default: `model` itself)."""
    src = getattr(lineage_from or model, "metadata", {})
    meta = {LINEAGE_KEY: src[LINEAGE_KEY]} if LINEAGE_KEY in src else {}
    write_safetensors({name: p for name, p in model.hf_names()},
                      f"{out_dir}/model.safetensors", meta)
