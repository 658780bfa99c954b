"""The installed runtime closure of a distribution: which packages a plain install pulls in,
their licences and their size on disk.

Walks ``importlib.metadata`` from ``mlx-serve`` through ``Requires-Dist`` (markers evaluated
for this interpreter, only the extras asked for), so it measures what ``pip install
"mlx-serve[cpu]"`` installs, not what else happens to be in the environment (the dev extra).

    python tools/install_closure.py [--extra cpu]   # packages, licences, MB
"""

from __future__ import annotations

import argparse
import re
import sysconfig
from collections.abc import Iterable
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# Packages a lean embedding server must not pull in (heavy or unrelated to serving vectors).
FORBIDDEN = frozenset({
    "torch", "transformers", "opencv-python", "opencv-python-headless",
    "opencv-contrib-python", "datasets", "mlx-vlm", "mlx-audio", "sounddevice", "fastapi",
    "mlx-embeddings",
})
# GPL and AGPL, any version, but not the LGPL (weak copyleft, allowed for linking).
_COPYLEFT = re.compile(
    r"(?<![A-Za-z])A?GPL|(?<!Lesser )(?<!Library )General Public License|"
    r"Affero", re.IGNORECASE)
_LESSER = re.compile(r"LGPL|Lesser General Public|Library General Public", re.IGNORECASE)


def _installed(name: str) -> metadata.Distribution:
    """The distribution installed in this interpreter's site-packages (never a stale
    ``*.egg-info`` of a source checkout that happens to be on ``sys.path``)."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    found = next(iter(metadata.distributions(name=name, path=paths)), None)
    if found is None:
        raise metadata.PackageNotFoundError(name)
    return found


def runtime_closure(root: str = "mlx-serve", extras: Iterable[str] = ()) -> dict[str, str]:
    """{canonical name: installed distribution name} of ``root`` and everything it requires
    (with ``extras`` of the root only). Raises PackageNotFoundError for a missing package."""
    seen: dict[str, str] = {}
    pending: list[tuple[str, tuple[str, ...]]] = [(root, tuple(extras))]
    while pending:
        name, wanted = pending.pop()
        key = canonicalize_name(name)
        if key in seen:
            continue
        dist = _installed(name)
        seen[key] = dist.metadata["Name"]
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in ("", *wanted)):
                pending.append((requirement.name, tuple(requirement.extras)))
    return seen


def licence_text(name: str) -> str:
    """Everything a distribution's metadata says about its licence."""
    meta = _installed(name).metadata
    parts = [meta.get("License-Expression") or "", (meta.get("License") or "")[:300]]
    parts += [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return " | ".join(p for p in parts if p)


def is_copyleft(licence: str) -> bool:
    """Whether a licence text names the GPL or AGPL (the LGPL alone does not count)."""
    without_lesser = _LESSER.sub("", licence)
    return bool(_COPYLEFT.search(without_lesser))


def size_bytes(name: str) -> int:
    """Bytes of the files the distribution's RECORD lists (what it put on disk)."""
    files = _installed(name).files or []
    total = 0
    for file in files:
        try:
            total += file.locate().stat().st_size
        except OSError:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="mlx-serve")
    parser.add_argument("--extra", action="append", default=[])
    args = parser.parse_args()
    closure = runtime_closure(args.root, args.extra)
    total = 0
    for key in sorted(closure):
        size = size_bytes(closure[key])
        total += size
        flag = " FORBIDDEN" if key in FORBIDDEN else ""
        licence = " ".join(licence_text(closure[key]).split())
        flag += " COPYLEFT" if is_copyleft(licence) else ""
        print(f"{closure[key]:32} {size / 1e6:8.1f} MB  {licence[:60]}{flag}")
    print(f"{len(closure)} packages, {total / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
