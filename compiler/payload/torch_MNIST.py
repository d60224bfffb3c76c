"""Train the PyTorch MNIST example CNN; a superset of the seed trainer's CLI, log lines and output.

Two data paths with the same model and optimiser:
- dataloader: the seed's torchvision DataLoader (PIL decode and transforms per image);
- tensor: the whole normalised data set held on the device, batches by index slicing.
`--loader auto` (the default) takes the tensor path on a GPU and the seed path on the CPU.

For HTCondor: a checkpoint after every epoch, resumed on restart, and with --checkpoint-exit an
exit with code 85 once the time budget would run out before the next epoch ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.optim.lr_scheduler import StepLR

CHECKPOINT_EXIT_CODE = 85
MEAN, STD = 0.1307, 0.3081
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class Net(nn.Module):
    """The seed's model: conv 32, conv 64, max-pool, dropout, fc 9216 -> 128 -> 10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="PyTorch MNIST Example")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="input batch size for training (default: 64)")
    p.add_argument("--test-batch-size", type=int, default=1000, metavar="N", help="input batch size for testing (default: 1000)")
    p.add_argument("--epochs", type=int, default=14, metavar="N", help="number of epochs to train (default: 14)")
    p.add_argument("--lr", type=float, default=1.0, metavar="LR", help="learning rate (default: 1.0)")
    p.add_argument("--gamma", type=float, default=0.7, metavar="M", help="learning rate step gamma (default: 0.7)")
    p.add_argument("--no-cuda", action="store_true", default=False, help="disables CUDA training")
    p.add_argument("--dry-run", action="store_true", default=False, help="quickly check a single pass")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default: 1)")
    p.add_argument("--log-interval", type=int, default=10, metavar="N", help="batches between training status lines")
    p.add_argument("--save-model", action="store_true", default=False, help="save the model as mnist_cnn.pt")
    p.add_argument("--data-dir", default="./data", help="directory holding MNIST/raw (default: ./data)")
    # Beyond the seed trainer:
    p.add_argument("--output-dir", default=".", help="where mnist_cnn.pt and the metrics file go (default: .)")
    p.add_argument("--metrics-file", default="metrics.jsonl", help="one JSON line per epoch, in --output-dir")
    p.add_argument("--loader", choices=("auto", "tensor", "dataloader"), default="auto",
                   help="data path: tensor (whole set on the device), dataloader (the seed's), auto (tensor on GPU)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--compile-mode", choices=("default", "reduce-overhead", "max-autotune"), default="default",
                   help="torch.compile mode; reduce-overhead replays CUDA graphs, cutting the per-batch launch cost")
    p.add_argument("--checkpoint", default=None, help="checkpoint file, written every epoch and resumed from")
    p.add_argument("--checkpoint-exit", action="store_true",
                   help=f"exit {CHECKPOINT_EXIT_CODE} after a checkpoint when the time budget is near (HTCondor)")
    # HTCondor restarts a job that exits with its checkpoint code at once, in the same sandbox, after
    # copying the checkpoint home; an hour between copies is the interval HTCondor's guides suggest.
    p.add_argument("--time-budget", type=float, default=float(os.environ.get("PIXI_HTC_TIME_BUDGET", 3600)),
                   help="seconds this process may run before it checkpoints and exits (default: 1 h)")
    # A pipeline's evaluate step (#24): score a trained model on the test split instead of training.
    p.add_argument("--evaluate", default=None, metavar="MODEL",
                   help="evaluate this saved model (mnist_cnn.pt) and append one line to --metrics-file; no training")
    p.add_argument("--tag", action="append", default=[], metavar="NAME=VALUE",
                   help="a label written into each metrics line, e.g. the sweep's values (repeatable)")
    return p.parse_args(argv)


def tags(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--tag {pair!r}: write NAME=VALUE")
        found[name] = value
    return found


def fail(message: str) -> None:
    print(f"torch_MNIST.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def load_datasets(data_dir: str):  # noqa: ANN201  (torchvision datasets)
    from torchvision import datasets, transforms

    raw = Path(data_dir) / "MNIST" / "raw"
    present = all((raw / name).is_file() for name in RAW_FILES)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    try:
        train = datasets.MNIST(data_dir, train=True, download=not present, transform=transform)
        test = datasets.MNIST(data_dir, train=False, download=not present, transform=transform)
    except Exception as error:  # no network, or a partial download
        fail(f"no MNIST data in {raw} and it cannot be downloaded ({type(error).__name__}); "
             "run `make data` where there is network and transfer MNIST_data.tar.gz")
    return train, test


def device_tensors(dataset, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    """The whole split, normalised exactly as the seed's transforms do, as one tensor on the device."""
    images = dataset.data.to(device=device, dtype=torch.float32).div_(255.0).sub_(MEAN).div_(STD).unsqueeze_(1)
    return images, dataset.targets.to(device)


class TensorBatches:
    """Batches by slicing a shuffled index: no per-image work, no host-to-device copies."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool, seed: int) -> None:
        self.images, self.labels, self.batch_size, self.shuffle = images, labels, batch_size, shuffle
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.dataset = labels  # len(loader.dataset), as with a DataLoader

    def __len__(self) -> int:
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):  # noqa: ANN204
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator).to(self.labels.device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield self.images[start:start + self.batch_size], self.labels[start:start + self.batch_size]
            else:
                index = order[start:start + self.batch_size]
                yield self.images[index], self.labels[index]


def train_epoch(args, model, device, loader, optimizer, epoch, autocast) -> float:  # noqa: ANN001
    model.train()
    total = torch.zeros((), device=device)
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
        if args.channels_last:
            data = data.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(data)
        if batch_idx % args.log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * len(data), len(loader.dataset), 100.0 * batch_idx / len(loader), loss.item()))
            if args.dry_run:
                break
    return total.item() / len(loader.dataset)


def evaluate(args, model, device, loader, autocast) -> tuple[float, int, int]:  # noqa: ANN001
    model.eval()
    test_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
            if args.channels_last:
                data = data.contiguous(memory_format=torch.channels_last)
            with autocast():
                output = model(data).float()
            test_loss += F.nll_loss(output, target, reduction="sum")
            correct += output.argmax(dim=1).eq(target).sum()
    n = len(loader.dataset)
    average = test_loss.item() / n
    print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
        average, correct.item(), n, 100.0 * correct.item() / n))
    return average, int(correct.item()), n


def save_atomically(state: dict, path: Path) -> None:
    temp = path.with_name(path.name + ".tmp")
    torch.save(state, temp)
    os.replace(temp, path)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    torch.manual_seed(args.seed)
    loader_kind = ("tensor" if use_cuda else "dataloader") if args.loader == "auto" else args.loader
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    train_set, test_set = load_datasets(args.data_dir)
    if loader_kind == "tensor":
        train_loader = TensorBatches(*device_tensors(train_set, device), args.batch_size, True, args.seed)
        test_loader = TensorBatches(*device_tensors(test_set, device), args.test_batch_size, False, args.seed)
    else:
        extra = {"num_workers": 1, "pin_memory": True} if use_cuda else {}
        generator = torch.Generator().manual_seed(args.seed)
        train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                                   generator=generator, **extra)
        test_loader = torch.utils.data.DataLoader(test_set, batch_size=args.test_batch_size, **extra)

    model = Net().to(device)
    labels = tags(args.tag)
    if args.evaluate is not None:
        model.load_state_dict(torch.load(args.evaluate, map_location=device, weights_only=True))
        test_loss, correct, n = evaluate(args, model, device, test_loader, contextlib.nullcontext)
        with (output_dir / args.metrics_file).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({**labels, "model": args.evaluate, "test_loss": round(test_loss, 6),
                                     "accuracy": correct / n, "samples": n}) + "\n")
        return 0
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    start_epoch = 1
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    if checkpoint is not None and checkpoint.is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        if isinstance(train_loader, TensorBatches):
            train_loader.generator.set_state(state["batch_rng"])
        start_epoch = state["epoch"] + 1
        print(f"Resuming from {checkpoint} after epoch {state['epoch']}")
    compiled = torch.compile(model, mode=args.compile_mode) if args.compile else model
    bf16 = args.bf16 and use_cuda

    def autocast():  # noqa: ANN202
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)

    metrics_path = output_dir / args.metrics_file
    for epoch in range(start_epoch, args.epochs + 1):
        epoch_started = time.perf_counter()
        train_loss = train_epoch(args, compiled, device, train_loader, optimizer, epoch, autocast)
        if use_cuda:
            torch.cuda.synchronize()
        train_seconds = time.perf_counter() - epoch_started
        test_loss, correct, n = evaluate(args, compiled, device, test_loader, autocast)
        scheduler.step()
        record = {**labels, "epoch": epoch, "train_loss": round(train_loss, 6), "test_loss": round(test_loss, 6),
                  "accuracy": correct / n, "seconds": round(train_seconds, 4),
                  "samples_per_second": round(len(train_loader.dataset) / train_seconds, 1), "loader": loader_kind}
        with metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if checkpoint is not None:
            save_atomically({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                             "batch_rng": train_loader.generator.get_state()
                             if isinstance(train_loader, TensorBatches) else None}, checkpoint)
            elapsed = time.monotonic() - started
            last_epoch = time.perf_counter() - epoch_started
            if args.checkpoint_exit and epoch < args.epochs and elapsed + last_epoch > args.time_budget:
                print(f"Checkpointed after epoch {epoch}; exiting {CHECKPOINT_EXIT_CODE} so HTCondor restarts the job")
                return CHECKPOINT_EXIT_CODE
        if args.dry_run:
            break

    if args.save_model:
        torch.save(model.state_dict(), output_dir / "mnist_cnn.pt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
