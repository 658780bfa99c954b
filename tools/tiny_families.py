"""Tiny random-weight checkpoints of ModernBERT, NomicBERT and Gemma3 text (EmbeddingGemma),
with the sentence-transformers files their real checkpoints publish, for parity tests.

Weights come from the real ``transformers`` classes (ModernBertModel,
ModernBertForSequenceClassification, Gemma3TextModel with ``use_bidirectional_attention``)
or, for NomicBERT which transformers lacks, from tools/nomic_bert_reference.py. Sizes are
tiny; the sentence-transformers files are the published ones (modules.json, pooling,
Dense layers and their activation, Normalize, prompts) with dimensions scaled to the tiny
model and ``max_seq_length`` cut to ``MAX_SEQ_LENGTH`` so truncation is cheap to test.
Local-attention windows are small (|i - j| <= 4) so short texts already cross them.

Builders (each returns the directory it filled): ``build_gte_modernbert``,
``build_modernbert_reranker(dir, pooling)``, ``build_embeddinggemma``, ``build_nomic_embed``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.tiny_checkpoints import save_bert_tokenizer

MAX_SEQ_LENGTH = 24
HIDDEN = 64
ST = "sentence_transformers.models."

# config_sentence_transformers.json prompts of the real checkpoints.
EMBEDDINGGEMMA_PROMPTS = {
    "query": "task: search result | query: ",
    "document": "title: none | text: ",
    "BitextMining": "task: search result | query: ",
    "Clustering": "task: clustering | query: ",
    "Classification": "task: classification | query: ",
    "InstructionRetrieval": "task: code retrieval | query: ",
    "MultilabelClassification": "task: classification | query: ",
    "PairClassification": "task: sentence similarity | query: ",
    "Reranking": "task: search result | query: ",
    "Retrieval": "task: search result | query: ",
    "Retrieval-query": "task: search result | query: ",
    "Retrieval-document": "title: none | text: ",
    "STS": "task: sentence similarity | query: ",
    "Summarization": "task: summarization | query: ",
}
NOMIC_PROMPTS = {
    "query": "search_query: ", "document": "search_document: ",
    "classification": "classification: ", "clustering": "clustering: ",
}


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def _pooling(mode: str) -> dict[str, object]:
    return {
        "word_embedding_dimension": HIDDEN,
        "pooling_mode_cls_token": mode == "cls",
        "pooling_mode_mean_tokens": mode == "mean",
        "pooling_mode_max_tokens": mode == "max",
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": mode == "lasttoken",
        "include_prompt": True,
    }


def write_st_files(directory: Path, *, pooling: str, dense: list[tuple[int, int]] = (),
                   normalize: bool = True, prompts: dict[str, str] | None = None,
                   default_prompt_name: str | None = None, seed: int = 0) -> None:
    """modules.json and the module folders: Transformer, Pooling, Dense (bias-free, identity
    activation, as EmbeddingGemma's), Normalize; prompts; sentence_bert_config.json."""
    import torch
    from safetensors.torch import save_file

    modules = [{"idx": 0, "name": "0", "path": "", "type": ST + "Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": ST + "Pooling"}]
    _write_json(directory / "1_Pooling" / "config.json", _pooling(pooling))
    generator = torch.Generator().manual_seed(seed)
    for in_features, out_features in dense:
        index = len(modules)
        path = f"{index}_Dense"
        modules.append({"idx": index, "name": str(index), "path": path, "type": ST + "Dense"})
        _write_json(directory / path / "config.json", {
            "in_features": in_features, "out_features": out_features, "bias": False,
            "activation_function": "torch.nn.modules.linear.Identity"})
        weight = torch.randn(out_features, in_features, generator=generator) / in_features**0.5
        save_file({"linear.weight": weight.contiguous()},
                  str(directory / path / "model.safetensors"))
    if normalize:
        index = len(modules)
        modules.append({"idx": index, "name": str(index), "path": f"{index}_Normalize",
                        "type": ST + "Normalize"})
    _write_json(directory / "modules.json", modules)
    _write_json(directory / "sentence_bert_config.json",
                {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    _write_json(directory / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer", "prompts": prompts or {},
        "default_prompt_name": default_prompt_name, "similarity_fn_name": "cosine"})


def _modernbert_config(vocab_size: int, **extra: object):
    from transformers import ModernBertConfig

    return ModernBertConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=4,
        num_attention_heads=4, local_attention=8, global_attn_every_n_layers=3,
        max_position_embeddings=8192, global_rope_theta=160_000.0, local_rope_theta=10_000.0,
        pad_token_id=0, bos_token_id=2, eos_token_id=3, cls_token_id=2, sep_token_id=3,
        initializer_range=0.3, attn_implementation="eager", **extra)


def build_gte_modernbert(directory: Path) -> Path:
    """gte-modernbert-base's layout: ModernBertModel, CLS pooling, Normalize, no prompts."""
    import torch
    from transformers import ModernBertModel

    directory = Path(directory)
    tokenizer = save_bert_tokenizer(directory)
    torch.manual_seed(11)
    model = ModernBertModel(_modernbert_config(tokenizer.get_vocab_size(),
                                               architectures=["ModernBertModel"]))
    model.eval().save_pretrained(directory, safe_serialization=True)
    write_st_files(directory, pooling="cls")
    return directory


def build_modernbert_reranker(directory: Path, pooling: str = "mean") -> Path:
    """gte-reranker-modernbert-base's layout: ModernBertForSequenceClassification, 1 label."""
    import torch
    from transformers import ModernBertForSequenceClassification

    directory = Path(directory)
    tokenizer = save_bert_tokenizer(directory)
    torch.manual_seed(12)
    config = _modernbert_config(tokenizer.get_vocab_size(), num_labels=1,
                                classifier_pooling=pooling,
                                architectures=["ModernBertForSequenceClassification"])
    ModernBertForSequenceClassification(config).eval().save_pretrained(
        directory, safe_serialization=True)
    return directory


def build_embeddinggemma(directory: Path) -> Path:
    """embeddinggemma-300m's layout: bidirectional Gemma3TextModel, mean pooling, Dense
    64->256->64 (the real 768->3072->768), Normalize, its prompts."""
    import torch
    from transformers import Gemma3TextConfig, Gemma3TextModel

    directory = Path(directory)
    tokenizer = save_bert_tokenizer(directory)
    config = Gemma3TextConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=HIDDEN, intermediate_size=96,
        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        # query_pre_attn_scalar is not head_dim, so a scale that ignores it shows.
        query_pre_attn_scalar=24, sliding_window=8, use_bidirectional_attention=True,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        max_position_embeddings=2048, rope_theta=1_000_000.0, rope_local_base_freq=10_000.0,
        hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6, initializer_range=0.3,
        pad_token_id=0, bos_token_id=2, eos_token_id=3, attn_implementation="eager",
        architectures=["Gemma3TextModel"])
    torch.manual_seed(13)
    model = Gemma3TextModel(config).eval()
    with torch.no_grad():  # random norm offsets, so a lost "1 +" in Gemma's RMSNorm shows
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.normal_(0.0, 0.3)
    model.save_pretrained(directory, safe_serialization=True)
    write_st_files(directory, pooling="mean", dense=[(HIDDEN, 4 * HIDDEN), (4 * HIDDEN, HIDDEN)],
                   prompts=EMBEDDINGGEMMA_PROMPTS, seed=14)
    return directory


def build_nomic_embed(directory: Path) -> Path:
    """nomic-embed-text-v1.5's layout: NomicBertModel (our PyTorch reference's weights),
    mean pooling, Normalize, its search_query/search_document prompts."""
    import torch
    from safetensors.torch import save_file

    from tools.nomic_bert_reference import NomicBertReference, nomic_config

    directory = Path(directory)
    tokenizer = save_bert_tokenizer(directory)
    config = nomic_config(vocab_size=tokenizer.get_vocab_size())
    torch.manual_seed(15)
    model = NomicBertReference(config)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.3)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(directory / "model.safetensors"))
    _write_json(directory / "config.json", config)
    write_st_files(directory, pooling="mean", prompts=NOMIC_PROMPTS)
    return directory
