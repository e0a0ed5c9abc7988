"""PyTorch's DataLoader on loader-npy's files, for `conveyor bench loader-npy`.

Usage: python3 torch_loader_npy.py DIRECTORY [WORKERS ...]   (default workers: 0 2)

DIRECTORY holds images.npy (u8[N, 28, 28]) and labels.npy (i64[N], label i = i),
memory-mapped. For each worker count: a DataLoader over a map-style dataset of
(image, label) pairs, shuffled, batches of 64, persistent workers; one warm
epoch, then one timed epoch. Prints one JSON row a line in the shared format
(scenario loader-npy, items_per_s counting samples); prints nothing when torch
cannot be imported.
"""
import json
import sys
import time

import numpy as np

try:
    import torch
    from torch.utils.data import DataLoader, Dataset
except ImportError:
    sys.exit(0)


class ImagesAndLabels(Dataset):
    def __init__(self, directory):
        self.images = np.load(directory + "/images.npy", mmap_mode="r")
        self.labels = np.load(directory + "/labels.npy", mmap_mode="r")

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return torch.from_numpy(np.array(self.images[index])), int(self.labels[index])


def epoch(loader, count):
    seen = np.zeros(count, dtype=bool)
    corrupt = duplicated = 0
    for images, labels in loader:
        labels = labels.numpy()
        firsts = images[:, 0, 0].numpy()
        corrupt += int(np.count_nonzero(firsts != (labels % 256).astype(np.uint8)))
        duplicated += int(np.count_nonzero(seen[labels]))
        seen[labels] = True
    return corrupt, duplicated, int(np.count_nonzero(~seen))


def main():
    directory = sys.argv[1]
    workers = [int(w) for w in sys.argv[2:]] or [0, 2]
    torch.set_num_threads(1)
    dataset = ImagesAndLabels(directory)
    count = len(dataset)
    for n in workers:
        loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=n, persistent_workers=n > 0)
        epoch(loader, count)
        start = time.perf_counter()
        corrupt, duplicated, missing = epoch(loader, count)
        seconds = time.perf_counter() - start
        delivered = count - missing
        print(json.dumps({
            "scenario": "loader-npy", "impl": f"PyTorch DataLoader ({n} workers, persistent, mmap numpy)",
            "items": count, "item_bytes": 28 * 28 + 8, "workers": n, "seconds": round(seconds, 4),
            "items_per_s": round(delivered / seconds, 1), "MB_per_s": round(delivered * (28 * 28 + 8) / seconds / 1e6, 1),
            "corrupt": corrupt, "missing": missing, "duplicated": duplicated,
            "note": f"torch {torch.__version__}",
        }), flush=True)
        del loader


if __name__ == "__main__":
    main()
