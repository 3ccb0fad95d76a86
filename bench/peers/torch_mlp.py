"""Peer reference for `npm run bench -- train`: the same MLP (32→64→64→1, ReLU, sigmoid output, binary
cross-entropy, Adam) trained in PyTorch on CPU over generated rows, with a fresh shuffle per epoch.
Prints one JSON object: per-epoch samples/s and the median. Arguments: rows epochs batch_size [threads].

Threads matter on a shared machine: with more busy processes than cores, PyTorch's OpenMP workers wait
on each other at every op, and one thread can be an order of magnitude faster than two. The bench runs
both and takes the faster as the peer."""
import json
import sys
import time

import torch


def main() -> None:
    rows, epochs, batch_size = (int(a) for a in sys.argv[1:4])
    if len(sys.argv) > 4:
        torch.set_num_threads(int(sys.argv[4]))
    torch.manual_seed(42)
    generator = torch.Generator().manual_seed(42)
    x = torch.randn(rows, 32, generator=generator)
    weights = torch.randn(32, 1, generator=generator)
    y = ((x @ weights).squeeze(1) + 0.5 * torch.randn(rows, generator=generator) > 0).float().unsqueeze(1)

    model = torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 1), torch.nn.Sigmoid(),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.BCELoss()
    per_epoch = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(rows, generator=generator)
        total = 0.0
        for begin in range(0, rows, batch_size):
            index = order[begin:begin + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        per_epoch.append(rows / (time.perf_counter() - start))
    ordered = sorted(per_epoch)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "samplesPerSecond": per_epoch,
        "medianSamplesPerSecond": median,
        "finalLoss": total / rows,
    }))


if __name__ == "__main__":
    main()
