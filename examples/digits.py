"""An MLP on scikit-learn's bundled 8x8 handwritten digits (1797 images, no download),
trained with the PyTorch-style loop and Adam on minibatches; reports held-out accuracy.

Needs the optional examples extra:  pip install -e '.[examples]'

    python examples/digits.py                # 3000 steps, about 97% test accuracy
    python examples/digits.py --steps 200    # a short run
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from admodes import nn

INSTALL_HINT = ("examples/digits.py needs scikit-learn for its bundled digits data; "
                "install the examples extra:  pip install -e '.[examples]'")


def load(seed=0, test_fraction=0.2):
    """Standardised train/test split of the digits: ``(Xtr, ytr, Xte, yte)``."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit(INSTALL_HINT) from None
    data = load_digits()
    X, y = data.data.astype(np.float64), data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    te, tr = order[:n_test], order[n_test:]
    mean, std = X[tr].mean(axis=0), X[tr].std(axis=0) + 1e-8  # training statistics only
    return (X[tr] - mean) / std, y[tr], (X[te] - mean) / std, y[te]


def train(Xtr, ytr, steps=3000, batch=64, lr=1e-3, hidden=(128,), seed=0, log_every=0):
    """Minibatch Adam on an MLP; returns the trained net."""
    rng = np.random.default_rng(seed)
    net = nn.MLP([Xtr.shape[1], *hidden, int(ytr.max()) + 1], rng=rng)
    opt = nn.Adam(net.parameters(), lr=lr)
    order = rng.permutation(len(ytr))
    pos = 0
    for step in range(1, steps + 1):
        if pos + batch > len(order):
            order, pos = rng.permutation(len(ytr)), 0
        idx = order[pos:pos + batch]
        pos += batch
        opt.zero_grad()
        loss = nn.cross_entropy(net(Xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
        if log_every and step % log_every == 0:
            print(f"  step {step:5d}  minibatch loss {loss:.4f}")
    return net


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    Xtr, ytr, Xte, yte = load(args.seed)
    print(f"digits: {len(ytr)} training and {len(yte)} test images of 8x8 = 64 pixels")
    net = train(Xtr, ytr, args.steps, args.batch, args.lr, seed=args.seed,
                log_every=max(1, args.steps // 5))
    with nn.no_grad():
        train_acc = nn.accuracy(net(Xtr), ytr)
        test_acc = nn.accuracy(net(Xte), yte)
    print(f"MLP {[p.shape for p in net.parameters()][::2]}: train accuracy "
          f"{100 * train_acc:.1f}%, held-out test accuracy {100 * test_acc:.1f}%")
    return {"train_accuracy": train_acc, "test_accuracy": test_acc}


if __name__ == "__main__":
    main(sys.argv[1:])
