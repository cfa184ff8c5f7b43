"""Writes unicode_golden.jsonl: basic_tokenize() outputs of the Python
reference (/work/shared/recipe/bert_ref.py) for every assigned code point that
the BasicTokenizer does not pass through unchanged, in several contexts
(inside a word; combining marks next to another mark; letters, marks and
punctuation around a capital sigma).

usage: python3 make_unicode_golden.py /path/to/bert_ref.py > unicode_golden.jsonl

Code points unassigned in this Python's Unicode database (category Cn) are
skipped, so the file only holds cases both Unicode versions agree on when the
generating Python's database is older than utf8proc's. Rows: {"text", "words"}.
"""
import json
import sys
import unicodedata

# Load only the tokenizer half of bert_ref.py (the rest needs torch).
src = open(sys.argv[1], encoding="utf-8").read().split("# ---------------- model")[0]
src = "\n".join(l for l in src.splitlines() if not l.startswith(("import numpy", "import torch")))
ns = {}
exec(src, ns)
basic_tokenize = ns["basic_tokenize"]

def is_cjk_or_hangul(cp):
    return ns["_is_cjk"](cp) or 0xAC00 <= cp <= 0xD7A3

interesting = []
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    c = chr(cp)
    if unicodedata.category(c) == "Cn":
        continue
    # CJK ideographs and Hangul syllables are handled uniformly: keep a sample.
    if is_cjk_or_hangul(cp) and cp % 251 != 0:
        continue
    if basic_tokenize("x" + c + "y") != ["x" + c + "y"]:
        interesting.append(c)

def emit(texts):
    for i in range(0, len(texts), 48):
        text = " ".join(texts[i:i + 48])
        print(json.dumps({"text": text, "words": basic_tokenize(text)}, ensure_ascii=False))

print(json.dumps({"text": "unicodedata " + unicodedata.unidata_version,
                  "words": basic_tokenize("unicodedata " + unicodedata.unidata_version)}))
emit(["x" + c + "y" for c in interesting])
# Canonical reordering around other combining marks.
emit(["e" + c + "\u0301" for c in interesting if unicodedata.combining(c)])
# Final sigma context: the classes the Cased / Case_Ignorable checks look at
# (all of the rare ones, a sample of the large letter and mark categories).
sigma = [c for i, c in enumerate(interesting)
         if unicodedata.category(c) in ("Lm", "Me", "Cf", "Sk", "Nl", "So", "Po")
         or (unicodedata.category(c) in ("Lu", "Ll", "Lt", "Mn") and i % 5 == 0)]
emit(["A\u03a3" + c for c in sigma] + [c + "\u03a3" for c in sigma] +
     ["A" + c + "\u03a3" for c in sigma] + ["A\u03a3" + c + "B" for c in sigma])
