# Development-time reference for Tests/SpinelModelTests/MiniLMTests.swift — not used by the build
# or the tests. Token ids come from Hugging Face's BertTokenizer (transformers) and from the
# `tokenizers` library over tokenizer.json; the embeddings from a float64 NumPy forward pass of
# BertModel written here from the architecture (no torch), mean-pooled and L2-normalized.
# Run once, after `make model`:
#   python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install numpy transformers
#   /tmp/refvenv/bin/python docs/model_reference.py .build/models/all-MiniLM-L6-v2
import json, math, sys
import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer
from transformers import BertTokenizer

folder = sys.argv[1]
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
]
TOKEN_CASES = SENTENCES + [
    "Héllo, WORLD!! naïve café — déjà vu?",
    "unaffable xyzzyqx $12.50 (a+b)=c",
    "我爱北京 天安门 and 東京",
    "tab\there\u00a0nbsp\u200bzero-width\u0007bell",
]
cfg = json.load(open(f"{folder}/config.json"))
slow = BertTokenizer(f"{folder}/vocab.txt", do_lower_case=True)
fast = Tokenizer.from_file(f"{folder}/tokenizer.json"); fast.no_padding(); fast.no_truncation()
print("// token ids (BertTokenizer; tokenizers agrees:", all(slow(t)["input_ids"] == fast.encode(t).ids for t in TOKEN_CASES), ")")
for t in TOKEN_CASES:
    print(json.dumps(t), slow(t)["input_ids"], slow.convert_ids_to_tokens(slow(t)["input_ids"]))

w = {k: v.astype(np.float64) for k, v in load_file(f"{folder}/model.safetensors").items() if v.dtype.kind == "f"}
H, NH, EPS = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
def ln(x, p): m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True); return (x - m) / np.sqrt(v + EPS) * w[p + ".weight"] + w[p + ".bias"]
def lin(x, p): return x @ w[p + ".weight"].T + w[p + ".bias"]
erf = np.vectorize(math.erf)
def embed(ids):
    n = len(ids)
    x = ln(w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        q, k, v = (lin(x, p + "attention.self." + s).reshape(n, NH, -1).transpose(1, 0, 2) for s in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(H // NH)
        a = np.exp(s - s.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(1, 0, 2).reshape(n, H)
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = lin(x, p + "intermediate.dense"); h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = ln(lin(h, p + "output.dense") + x, p + "output.LayerNorm")
    e = x.mean(0)
    return e / np.linalg.norm(e)
E = [embed(slow(t)["input_ids"]) for t in SENTENCES]
# A long text, cut to sentence_bert_config.json's max_seq_length (256 tokens) as sentence-transformers does.
LONG = " ".join(["The quick brown fox jumps over the lazy dog while the accelerator computes attention for every token."] * 20)
long_ids = slow(LONG, truncation=True, max_length=256)["input_ids"]
e = embed(long_ids)
print("long text:", len(long_ids), "tokens, first 8:", ", ".join(f"{v:.6f}" for v in e[:8]), f"sum {e.sum():.6f} alternating sum {e[0::2].sum() - e[1::2].sum():.6f}")
for t, e in zip(SENTENCES, E):
    print(json.dumps(t), "first 8:", ", ".join(f"{v:.6f}" for v in e[:8]),
          f"sum {e.sum():.6f} alternating sum {e[0::2].sum() - e[1::2].sum():.6f}")
np.save("/tmp/minilm_reference_embeddings.npy", np.array(E))
for i in range(len(E)):
    for j in range(i + 1, len(E)):
        print(f"cosine {i} {j}: {E[i] @ E[j]:.6f}")
