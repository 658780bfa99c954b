"""A PyTorch reference of NomicBERT (nomic-embed-text-v1 / v1.5), for parity tests.

``transformers`` has no NomicBERT class (the real checkpoints run nomic-ai's own
``modeling_hf_nomic_bert.py`` through ``trust_remote_code``, which needs the Hub). This is
written from that published architecture (contrastors' ``NomicBertModel``), with plain
PyTorch ops (explicit cos/sin tables, softmax over an additive mask), parameter names as
the checkpoints store them, so a checkpoint saved from it loads like a real one:

    embeddings.word_embeddings / token_type_embeddings -> emb_ln -> n_layer post-norm blocks
    block: x = norm1(x + out_proj(attn(rotary(Wqkv(x)))))
           x = norm2(x + fc2(fc11(x) * silu(fc12(x))))

Supported: swiglu MLP, GPT-NeoX (non-interleaved) rotary over the whole head, post-norm —
what nomic-embed-text-v1.5 uses.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn


def nomic_config(**overrides: object) -> dict[str, object]:
    """A NomicBERT config.json (the keys nomic-embed-text-v1.5 ships), tiny by default."""
    config: dict[str, object] = {
        "activation_function": "swiglu", "architectures": ["NomicBertModel"],
        "attn_pdrop": 0.0, "auto_map": {
            "AutoConfig": "nomic-ai/nomic-bert-2048--configuration_hf_nomic_bert.NomicBertConfig",
            "AutoModel": "nomic-ai/nomic-bert-2048--modeling_hf_nomic_bert.NomicBertModel"},
        "bos_token_id": None, "causal": False, "dense_seq_output": True, "embd_pdrop": 0.0,
        "eos_token_id": None, "fused_bias_fc": True, "fused_dropout_add_ln": True,
        "initializer_range": 0.02, "layer_norm_epsilon": 1e-12, "max_trained_positions": 2048,
        "mlp_fc1_bias": False, "mlp_fc2_bias": False, "model_type": "nomic_bert",
        "n_embd": 64, "n_head": 4, "n_inner": 96, "n_layer": 3, "n_positions": 8192,
        "pad_vocab_size_multiple": 64, "parallel_block": False,
        "parallel_block_tied_norm": False, "prenorm": False, "qkv_proj_bias": False,
        "reorder_and_upcast_attn": False, "resid_pdrop": 0.0, "rotary_emb_base": 1000,
        "rotary_emb_fraction": 1.0, "rotary_emb_interleaved": False,
        "rotary_emb_scale_base": None, "rotary_scaling_factor": None,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.0,
        "summary_proj_to_labels": True, "summary_type": "cls_index",
        "summary_use_proj": True, "torch_dtype": "float32", "type_vocab_size": 2,
        "use_cache": True, "use_flash_attn": True, "use_rms_norm": False,
        "use_xentropy": True, "vocab_size": 30528,
    }
    config.update(overrides)
    return config


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class _Block(nn.Module):
    def __init__(self, hidden: int, heads: int, inner: int, eps: float, base: float) -> None:
        super().__init__()
        self.heads, self.head_dim, self.base = heads, hidden // heads, base
        self.attn = nn.Module()
        self.attn.Wqkv = nn.Linear(hidden, 3 * hidden, bias=False)
        self.attn.out_proj = nn.Linear(hidden, hidden, bias=False)
        self.mlp = nn.Module()
        self.mlp.fc11 = nn.Linear(hidden, inner, bias=False)
        self.mlp.fc12 = nn.Linear(hidden, inner, bias=False)
        self.mlp.fc2 = nn.Linear(inner, hidden, bias=False)
        self.norm1 = nn.LayerNorm(hidden, eps=eps)
        self.norm2 = nn.LayerNorm(hidden, eps=eps)

    def _rotary(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, length, heads, dim)
        length = x.shape[1]
        inv_freq = 1.0 / (self.base ** (torch.arange(0, self.head_dim, 2).float()
                                        / self.head_dim))
        angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
        cos = torch.cat([angles.cos(), angles.cos()], dim=-1)[None, :, None, :]
        sin = torch.cat([angles.sin(), angles.sin()], dim=-1)[None, :, None, :]
        return x * cos + _rotate_half(x) * sin

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        qkv = self.attn.Wqkv(x).view(batch, length, 3, self.heads, self.head_dim)
        query, key, value = self._rotary(qkv[:, :, 0]), self._rotary(qkv[:, :, 1]), qkv[:, :, 2]
        query, key, value = (t.permute(0, 2, 1, 3) for t in (query, key, value))
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.head_dim) + bias
        context = (scores.softmax(dim=-1) @ value).permute(0, 2, 1, 3).reshape(batch, length, -1)
        x = self.norm1(x + self.attn.out_proj(context))
        gated = self.mlp.fc11(x) * nn.functional.silu(self.mlp.fc12(x))
        return self.norm2(x + self.mlp.fc2(gated))


class NomicBertReference(nn.Module):
    """NomicBertModel's forward: (input_ids, attention_mask) -> last hidden states."""

    def __init__(self, config: dict[str, object]) -> None:
        super().__init__()
        hidden, eps = int(config["n_embd"]), float(config["layer_norm_epsilon"])
        multiple = int(config["pad_vocab_size_multiple"])
        vocab = (int(config["vocab_size"]) + multiple - 1) // multiple * multiple
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(vocab, hidden)
        self.embeddings.token_type_embeddings = nn.Embedding(int(config["type_vocab_size"]),
                                                             hidden)
        self.emb_ln = nn.LayerNorm(hidden, eps=eps)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(
            _Block(hidden, int(config["n_head"]), int(config["n_inner"]), eps,
                   float(config["rotary_emb_base"]))
            for _ in range(int(config["n_layer"])))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        types = torch.zeros_like(input_ids)
        x = self.embeddings.word_embeddings(input_ids) + \
            self.embeddings.token_type_embeddings(types)
        x = self.emb_ln(x)
        bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.encoder.layers:
            x = layer(x, bias)
        return x


def sentence_transformer(directory: Path):
    """The SentenceTransformer a real nomic-embed checkpoint is (its remote code replaced by
    NomicBertReference): the checkpoint's own Pooling and Normalize modules, its prompts and
    max_seq_length, read from its files."""
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling
    from transformers import AutoTokenizer

    directory = Path(directory)

    def read(name: str) -> dict:
        path = directory / name
        return json.loads(path.read_text()) if path.is_file() else {}

    max_seq_length = read("sentence_bert_config.json").get("max_seq_length")

    class NomicTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.max_seq_length = max_seq_length
            self.tokenizer = AutoTokenizer.from_pretrained(directory)
            self.auto_model = NomicBertReference(read("config.json"))
            self.auto_model.load_state_dict(load_file(str(directory / "model.safetensors")))

        def tokenize(self, texts, **_kwargs):
            return self.tokenizer(list(texts), padding=True, truncation="longest_first",
                                  max_length=self.max_seq_length, return_tensors="pt")

        def forward(self, features, **_kwargs):
            states = self.auto_model(features["input_ids"], features["attention_mask"])
            features["token_embeddings"] = states
            return features

    pooling = Pooling.load(str(directory / "1_Pooling"))
    prompts = read("config_sentence_transformers.json").get("prompts") or {}
    model = SentenceTransformer(modules=[NomicTransformer(), pooling, Normalize()],
                                device="cpu", prompts=prompts)
    return model.eval()
