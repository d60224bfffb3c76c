"""`make data`: download MNIST with torchvision and write a reproducible MNIST_data.tar.gz.

The same bytes every time: sorted entries, fixed mtimes and owners, gzip without a timestamp.
The archive holds data/MNIST/raw/*-ubyte, which is what the trainer's --data-dir data reads.
"""

from __future__ import annotations

import argparse
import gzip
import io
import tarfile
import tempfile
from pathlib import Path

RAW_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte")


def write_tarball(data_dir: Path, out: Path) -> None:
    """Pack <data_dir>/MNIST/raw/<the four idx files> as data/MNIST/raw/... deterministically."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("data", "data/MNIST", "data/MNIST/raw"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(_normalise(info))
        for name in RAW_FILES:
            payload = (data_dir / "MNIST" / "raw" / name).read_bytes()
            info = tarfile.TarInfo(f"data/MNIST/raw/{name}")
            info.size, info.mode = len(payload), 0o644
            tar.addfile(_normalise(info), io.BytesIO(payload))
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(out.name + ".tmp")
    with temp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(buffer.getvalue())
    temp.replace(out)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/MNIST_data.tar.gz"))
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="existing data dir (default: download to a temp dir)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        data_dir = args.data_dir or Path(temp)
        if not all((data_dir / "MNIST" / "raw" / name).is_file() for name in RAW_FILES):
            from torchvision import datasets

            try:
                for train in (True, False):
                    datasets.MNIST(str(data_dir), train=train, download=True)
            except Exception as error:
                print(f"make data: cannot download MNIST ({type(error).__name__}: {error}); this needs network")
                return 2
        write_tarball(data_dir, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
