"""A sequence model (SASRec-style): what a customer buys next, from the order of what they bought.

EASE (engine.taste) reads a history as a set; a shop whose customers move along a path
(refills, a course of lessons, a series' next volume) has signal in the order too. This model
reads each customer's purchases ordered by time, and each session's views and add-to-carts,
through item and position embeddings and causal self-attention blocks, trained to predict
every next item with a softmax over the catalog (over the batch's answers and NEGATIVES
sampled items on a large one), within MAX_SECONDS. Measured on Online Retail it ranks
below EASE, so it is a candidate only: per shop, validation (engine.shop_validation) decides
whether it earns weight in for_you.

PyTorch is an optional extra (`shoprec[embeddings]`); without it, or with too few
sequences (MIN_SEQUENCES of 3+ items), the model is empty and says why. Serving needs no
torch: training keeps the item embeddings and each known customer's state after their
sequence, and a request's scores are one matrix-vector product and a softmax.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.taste import sorted_row
from engine.training_data import ItemSpace, TrainingData

MIN_SEQUENCES = 50  # sequences of 3+ items (customers' purchases, sessions' views)
MAX_LENGTH = 50  # the last items of a sequence the model reads
DIM = 32
BLOCKS = 1
MAX_EPOCHS = 40
MAX_SECONDS = 30.0  # training stops after the batch that passes this
THREADS = 1  # on a busy 2-core host a second thread made each step 40x slower
BATCH = 256
NEGATIVES = 1024  # sampled per batch on catalogs over twice this size (else full softmax)
SEED = 0


@dataclass(frozen=True)
class SequenceModel:
    """Item embeddings (float32 (n_items, DIM)) and, per known customer (customer_ids,
    sorted), the state after their purchase sequence (float32 (n_customers, DIM)).

    why: what training said (fitted, or why not); empty models score nothing.
    """

    item_vectors: np.ndarray
    customer_ids: np.ndarray
    states: np.ndarray
    why: str = ""

    @classmethod
    def empty(cls, why: str) -> SequenceModel:
        return cls(
            np.zeros((0, DIM), np.float32),
            np.zeros(0, "<U1"),
            np.zeros((0, DIM), np.float32),
            why,
        )

    @property
    def trusted(self) -> bool:
        """Fitted (torch present, enough sequences) with customers to score."""
        return self.item_vectors.shape[0] > 0 and self.customer_ids.size > 0

    def customer_row(self, customer_id: str | None) -> int:
        """Row of a customer in states, or -1 when unknown."""
        return sorted_row(self.customer_ids, customer_id)

    def score(self, row: int, n_items: int) -> np.ndarray:
        """Float32 (n_items,): the probability of each item coming next (zeros if unknown)."""
        if row < 0 or self.item_vectors.shape[0] != n_items:
            return np.zeros(n_items, np.float32)
        logits = self.item_vectors @ self.states[row]
        logits = np.exp(logits - logits.max())
        return (logits / logits.sum()).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "item_vectors": self.item_vectors,
            "customer_ids": self.customer_ids,
            "states": self.states,
            "why": np.asarray(self.why),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> SequenceModel:
        return cls(a["item_vectors"], a["customer_ids"], a["states"], str(a["why"]))


def sequences_of(data: TrainingData, items: ItemSpace) -> tuple[list[np.ndarray], dict[str, int]]:
    """Training sequences (item indexes, oldest first): each customer's purchases, then each
    session's views and add-to-carts; and customer id -> its sequence's position."""
    index = {pid: i for i, pid in enumerate(items.item_ids.tolist())}
    out: list[np.ndarray] = []
    customers: dict[str, int] = {}
    buys = data.purchases
    buys = buys[buys["customer_id"].notna() & buys["product_id"].astype(str).isin(index)]
    if len(buys):
        frame = pd.DataFrame(
            {
                "who": buys["customer_id"].astype(str).to_numpy(),
                "when": pd.to_datetime(buys["created_at"], utc=True, format="ISO8601"),
                "item": buys["product_id"].astype(str).map(index).to_numpy(),
            }
        ).sort_values(["who", "when", "item"], kind="stable")
        for who, group in frame.groupby("who", sort=True):
            customers[str(who)] = len(out)
            out.append(_no_repeats(group["item"].to_numpy(np.int64)))
    events = data.events
    if len(events):
        events = events[events["product_id"].astype(str).isin(index)]
        frame = pd.DataFrame(
            {
                "session": events["session_id"].astype(str).to_numpy(),
                "when": pd.to_datetime(events["ts"], utc=True, format="ISO8601"),
                "item": events["product_id"].astype(str).map(index).to_numpy(),
            }
        ).sort_values(["session", "when"], kind="stable")
        for _, group in frame.groupby("session", sort=True):
            seq = _no_repeats(group["item"].to_numpy(np.int64))
            if seq.size >= 2:
                out.append(seq)
    return out, customers


def _no_repeats(seq: np.ndarray) -> np.ndarray:
    """The sequence without an item repeated right after itself (one order's lines)."""
    if seq.size < 2:
        return seq
    keep = np.ones(seq.size, bool)
    keep[1:] = seq[1:] != seq[:-1]
    return seq[keep]


def fit_sequence(data: TrainingData, items: ItemSpace) -> SequenceModel:
    """Train the model on the shop's sequences, or an empty one saying why not."""
    seqs, customers = sequences_of(data, items)
    usable = sum(1 for s in seqs if s.size >= 3)
    if usable < MIN_SEQUENCES:
        return SequenceModel.empty(
            f"{usable} sequences of 3+ items (needs {MIN_SEQUENCES}): not fitted"
        )
    try:
        import torch
    except ImportError:
        return SequenceModel.empty(
            "skipped: PyTorch is not installed (pip install 'shoprec[embeddings]')"
        )
    return _train(torch, seqs, customers, items.n_items, usable)


def _padded(seqs: list[np.ndarray], width: int) -> np.ndarray:
    """(n, width) int64: each sequence's last `width` items right-aligned, item i as i+1,
    0 as padding. Width is the longest sequence's (capped): attention costs its square."""
    rows = np.zeros((len(seqs), width), np.int64)
    for r, s in enumerate(seqs):
        tail = s[-width:] + 1
        rows[r, width - tail.size :] = tail
    return rows


def _train(
    torch, seqs: list[np.ndarray], customers: dict[str, int], n_items: int, usable: int
) -> SequenceModel:  # type: ignore[no-untyped-def]
    """Next-item training (full or sampled softmax); stops at MAX_EPOCHS or MAX_SECONDS."""
    start = time.perf_counter()
    torch.manual_seed(SEED)
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        net = _network(torch, n_items)
        train = [s for s in seqs if s.size >= 2]
        width = min(max(s.size for s in train), MAX_LENGTH + 1)
        rows = torch.from_numpy(_padded(train, width))
        inputs, targets = rows[:, :-1], rows[:, 1:]
        opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-5)
        gen = torch.Generator().manual_seed(SEED)
        epochs = 0
        net.train()
        while epochs < MAX_EPOCHS and time.perf_counter() - start < MAX_SECONDS:
            order = torch.randperm(rows.shape[0], generator=gen)
            for lo in range(0, rows.shape[0], BATCH):
                batch = order[lo : lo + BATCH]
                x, y = inputs[batch], targets[batch]
                mask = y > 0  # only real positions: (positions x catalog) logits cost most
                wanted = y[mask]
                # A large catalog: softmax over the batch's answers and a sample of others.
                pool = (
                    torch.unique(torch.cat([wanted, torch.randint(1, n_items + 1, (NEGATIVES,))]))
                    if n_items > 2 * NEGATIVES
                    else torch.arange(1, n_items + 1)
                )
                logits = net(x)[mask] @ net.items.weight[pool].T
                loss = torch.nn.functional.cross_entropy(logits, torch.searchsorted(pool, wanted))
                if time.perf_counter() - start > MAX_SECONDS:
                    break
                opt.zero_grad()
                loss.backward()
                opt.step()
            epochs += 1
        net.eval()
        ids = sorted(customers)
        with torch.no_grad():
            vectors = net.items.weight[1:].numpy().astype(np.float32).copy()
            own = [seqs[customers[c]] for c in ids]
            tail = torch.from_numpy(_padded(own, width - 1))
            states = (
                torch.cat([net(tail[i : i + 512])[:, -1] for i in range(0, len(ids), 512)])
                if ids
                else torch.zeros((0, DIM))
            )
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - start
    return SequenceModel(
        vectors,
        np.asarray(ids, dtype=str) if ids else np.zeros(0, "<U1"),
        states.numpy().astype(np.float32),
        f"{usable} sequences of 3+ items, {epochs} epochs in {seconds:.1f}s",
    )


def _network(torch, n_items: int):  # type: ignore[no-untyped-def]
    """Item and position embeddings, BLOCKS causal self-attention blocks, a final norm."""
    nn = torch.nn

    class SASRec(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 1, DIM, padding_idx=0)
            self.positions = nn.Embedding(MAX_LENGTH, DIM)
            layer = nn.TransformerEncoderLayer(
                DIM, 1, 2 * DIM, dropout=0.2, batch_first=True, norm_first=True
            )
            self.blocks = nn.TransformerEncoder(layer, BLOCKS, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(DIM)
            self.drop = nn.Dropout(0.2)
            nn.init.normal_(self.items.weight, std=0.05)

        def forward(self, x):  # type: ignore[no-untyped-def]
            length = x.shape[1]
            pos = torch.arange(MAX_LENGTH - length, MAX_LENGTH)  # the last is always the newest
            pad = x == 0
            h = self.drop(self.items(x) + self.positions(pos)[None]) * (~pad)[..., None]
            causal = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
            h = self.blocks(h, mask=causal)
            h = h * (~pad)[..., None]
            return self.norm(h)

    return SASRec()
