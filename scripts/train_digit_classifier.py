"""Train the digit classifier whose features serve offline FID / KID on the embedded digits.

    python scripts/train_digit_classifier.py

Writes src/genzoo/metrics/weights/digit_classifier.pt and .json (recipe and accuracy).
Trains on the digits' train split only (the val split measures it), at 32x32, with small
random translations so generated digits slightly off-centre are still read correctly.
"""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F

from genzoo.data.embedded import DigitsDataModule
from genzoo.metrics.digit_classifier import RECIPE, WEIGHTS, DigitClassifier

SEED, EPOCHS, LR, BATCH, SHIFT = 0, 40, 2e-3, 64, 2


def shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,)).tolist()
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def accuracy(model: DigitClassifier, loader) -> float:
    model.eval()
    with torch.no_grad():
        hits = sum(int((model(b["image"]).argmax(1) == b["label"]).sum()) for b in loader)
    return hits / len(loader.dataset)


def main() -> None:
    torch.manual_seed(SEED)
    data = DigitsDataModule(image_size=32, batch_size=BATCH)
    data.setup()
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    for _epoch in range(EPOCHS):
        model.train()
        for batch in data.train_dataloader():
            loss = F.cross_entropy(model(shift(batch["image"], SHIFT)), batch["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    acc = accuracy(model, data.val_dataloader())
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), WEIGHTS)
    RECIPE.write_text(
        json.dumps(
            {
                "data": "sklearn digits, genzoo DigitsDataModule train split (1,500), 32x32",
                "augmentation": f"random translation up to {SHIFT} px",
                "optimizer": f"Adam lr={LR}, cosine, {EPOCHS} epochs",
                "batch_size": BATCH,
                "seed": SEED,
                "val_accuracy": round(acc, 4),
                "val_images": len(data.val_set),
                "script": "scripts/train_digit_classifier.py",
            },
            indent=2,
        )
        + "\n"
    )
    print(f"val accuracy {acc:.4f}; weights in {WEIGHTS}")


if __name__ == "__main__":
    main()
