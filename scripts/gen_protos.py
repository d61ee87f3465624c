"""Generate the Python stubs for protos/ into a directory (default gen/python).

Runs protoc from grpcio-tools with the mypy-protobuf plugins, all local: no
remote plugin, nothing fetched. `make proto` writes gen/python; `make
check-generated` writes a temporary directory and compares.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
VENDORED = ROOT / "third_party" / "googleapis"


def generate(out: Path) -> None:
    """Write the stubs to a scratch directory, then swap them in: a failed run
    leaves `out` as it was."""
    with tempfile.TemporaryDirectory() as scratch:
        _protoc(Path(scratch))
        package = out / "identity"
        if package.exists():
            shutil.rmtree(package)
        out.mkdir(parents=True, exist_ok=True)
        shutil.move(Path(scratch) / "identity", package)


def _protoc(out: Path) -> None:
    package = out / "identity"
    bin_dir = Path(sys.executable).parent
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{VENDORED}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out=quiet:{out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    for directory in [package, *(d for d in package.rglob("*") if d.is_dir())]:
        (directory / "__init__.py").write_text('"""Generated from protos/; do not edit."""\n')
    (package / "py.typed").write_text("")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "gen" / "python")
