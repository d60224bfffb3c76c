"""Print what PyTorch sees: versions of torch, CUDA, cuDNN and NCCL, and each device."""

import torch


def main() -> None:
    print(f"PyTorch build: {torch.__version__}")
    print(f"CUDA available: {torch.cuda.is_available()}")
    print(f"CUDA version (build): {torch.version.cuda}")
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    print(f"cuDNN version: {cudnn}")
    try:
        nccl = ".".join(str(part) for part in torch.cuda.nccl.version()) if torch.cuda.is_available() else None
    except (AttributeError, RuntimeError):
        nccl = None
    print(f"NCCL version: {nccl}")
    count = torch.cuda.device_count()
    print(f"Number of GPUs: {count}")
    for index in range(count):
        props = torch.cuda.get_device_properties(index)
        print(f"GPU {index}: {props.name}, compute capability {props.major}.{props.minor}, "
              f"{props.total_memory / 2**30:.1f} GiB")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"Active device: {device}")


if __name__ == "__main__":
    main()
