"""Compiled contracts for the in-process chain, fetched from npm into a cache outside git.

The chain runs the REAL compiled ``ConditionalTokens`` shipped in the npm package
``@gnosis.pm/conditional-tokens-contracts`` (the contract Polymarket's CTF is) and, as pUSD, the
``ERC20Mintable`` shipped in ``openzeppelin-solidity@2.3.0`` (the version the CTF package depends
on). Nothing is compiled here and nothing is committed: ``npm pack`` fetches the tarballs into
``$PMBOT_CONTRACTS_DIR`` (default ``~/.cache/pmbot/contracts``) and only the two JSON artifacts
are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGES = {
    "ConditionalTokens": ("@gnosis.pm/conditional-tokens-contracts@1.0.3", "ConditionalTokens"),
    "ERC20Mintable": ("openzeppelin-solidity@2.3.0", "ERC20Mintable"),
}


class ArtifactsUnavailable(RuntimeError):
    """The contracts are not cached and npm cannot fetch them."""


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def contracts_dir() -> Path:
    env = os.environ.get("PMBOT_CONTRACTS_DIR")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "pmbot" / "contracts"


def _npm_fetch(spec: str, contract: str, dest: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise ArtifactsUnavailable("npm is not installed (apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="pmbot-npm-") as tmp:
        try:
            out = subprocess.run(
                [npm, "pack", "--silent", spec],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise ArtifactsUnavailable(f"npm pack {spec} failed: {exc}") from exc
        tgz = Path(tmp) / out.stdout.strip().splitlines()[-1]
        member = f"package/build/contracts/{contract}.json"
        with tarfile.open(tgz) as tar:
            src = tar.extractfile(member)
            if src is None:
                raise ArtifactsUnavailable(f"{spec} has no {member}")
            data = json.load(src)
    slim = {"contractName": contract, "abi": data["abi"], "bytecode": data["bytecode"]}
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    part.write_text(json.dumps(slim))
    part.replace(dest)


def load_artifact(name: str, directory: Path | None = None) -> Artifact:
    """The artifact ``name`` (a key of PACKAGES), fetched with npm on first use."""
    spec, contract = PACKAGES[name]
    path = (directory or contracts_dir()) / f"{contract}.json"
    if not path.exists():
        _npm_fetch(spec, contract, path)
    data = json.loads(path.read_text())
    bytecode = data["bytecode"]
    if "__" in bytecode:
        raise ArtifactsUnavailable(f"{contract} bytecode needs library linking")
    return Artifact(name=contract, abi=data["abi"], bytecode=bytecode)
