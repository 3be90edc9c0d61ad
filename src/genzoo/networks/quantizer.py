"""Vector quantiser of VQ-VAE (van den Oord et al. 2017, sec. 3.1-3.2 and appendix A.1).

Each encoder output vector is replaced by its nearest codebook entry; the straight-through
estimator copies the decoder's gradient to the encoder (eq. 3). The codebook learns either by
exponential moving averages of the vectors assigned to each code (appendix A.1, the default:
decay 0.99, Laplace-smoothed counts) or by the codebook loss ||sg[z_e] - e||^2. The EMA's sums
and counts start consistent: each code as if it had been chosen once by its own vector (sum =
the code, count = 1), so a code no vector chooses keeps its place instead of being divided by
the Laplace epsilon. Each step quantises with the codebook as it was before the step's update
(as the reference implementations do); updates and restarts act from the next step on. The
distances, sums and k-means run in float32 even under mixed precision: bf16 changes about 1%
of nearest-code assignments. Codes no
vector chose for `restart_after` training steps restart at recent encoder outputs (Dhariwal et
al. 2020, "Jukebox", sec. 3.2), and the codebook can start from k-means of the first batch.
Every statistic is a buffer, so checkpoints carry it and a resumed run continues exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from genzoo.utils.distributed import from_first_process, sum_over_processes

CODEBOOK_MODES = ("ema", "loss")


class VectorQuantizer(nn.Module):
    """(B, D, H, W) encoder outputs -> quantised (B, D, H, W) with straight-through gradients,
    codes (B, H, W) int64 and the loss terms."""

    codebook: torch.Tensor
    cluster_size: torch.Tensor
    embed_sum: torch.Tensor
    steps_unused: torch.Tensor
    initialized: torch.Tensor
    restarts: torch.Tensor

    def __init__(
        self,
        num_codes: int,
        dim: int,
        codebook: str = "ema",
        decay: float = 0.99,
        restart_after: int = 100,
        kmeans_init: bool = False,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if codebook not in CODEBOOK_MODES:
            raise ValueError(f"model.codebook='{codebook}' is not known: use ema or loss")
        self.num_codes, self.dim, self.mode = num_codes, dim, codebook
        self.decay, self.restart_after, self.eps = decay, restart_after, eps
        init = torch.randn(num_codes, dim) / dim**0.5
        if codebook == "loss":  # learned by the codebook loss, through the optimizer
            self.weight = nn.Parameter(init)
        else:
            self.register_buffer("codebook", init.clone())
            # Consistent from the start: codebook = embed_sum / cluster_size for every code.
            self.register_buffer("cluster_size", torch.ones(num_codes))
            self.register_buffer("embed_sum", init.clone())
        self.register_buffer("steps_unused", torch.zeros(num_codes, dtype=torch.long))
        # False until k-means has run (when asked for); True from the start otherwise.
        self.register_buffer("initialized", torch.tensor(not kmeans_init))
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))  # over the run
        # Codes restarted by the last training forward (K,) bool, or None: in codebook=loss mode
        # the optimizer's moments of these rows are stale and are reset (models/vqvae.py).
        self.just_restarted: torch.Tensor | None = None

    @property
    def embeddings(self) -> torch.Tensor:
        """The codebook (K, D)."""
        return self.weight if self.mode == "loss" else self.codebook

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, H, W) -> code vectors (B, D, H, W)."""
        return rearrange(F.embedding(codes, self.embeddings), "b h w d -> b d h w")

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """(N, D) vectors -> the index of each one's nearest code (N,)."""
        book = self.embeddings.detach()
        # ||x - e||^2 without the ||x||^2 that is the same for every code
        distance = book.pow(2).sum(1)[None] - 2 * flat @ book.t()
        return distance.argmin(1)

    def forward(self, z_e: torch.Tensor) -> dict[str, torch.Tensor]:
        b, _, h, w = z_e.shape
        # float32 whatever the autocast: distances in bf16 pick other codes (module docstring)
        with torch.autocast(z_e.device.type, enabled=False):
            flat = rearrange(z_e, "b d h w -> (b h w) d").float()
            if self.training and not bool(self.initialized):
                self._kmeans_init(flat.detach())
            codes = self.nearest(flat.detach())
            # Looked up before this step's update: the codebook that chose the codes.
            z_q = self.lookup(codes.view(b, h, w)).to(z_e.dtype)
            if self.training and self.mode == "ema":
                self._ema_update(flat.detach(), codes)
            if self.training:
                self._restart_dead_codes(flat.detach(), codes)
        commitment = F.mse_loss(z_e, z_q.detach())
        codebook_loss = F.mse_loss(z_q, z_e.detach()) if self.mode == "loss" else z_e.new_zeros(())
        return {
            "quantized": z_e + (z_q - z_e).detach(),  # straight-through estimator
            "codes": codes.view(b, h, w),
            "commitment": commitment,
            "codebook_loss": codebook_loss,
        }

    # ----- codebook learning --------------------------------------------------------
    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, codes: torch.Tensor) -> None:
        onehot = F.one_hot(codes, self.num_codes).type(flat.dtype)  # (N, K)
        counts = sum_over_processes(onehot.sum(0))
        sums = sum_over_processes(onehot.t() @ flat)  # (K, D)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        # Laplace smoothing: no code's count reaches zero, so no division by zero
        smoothed = (self.cluster_size + self.eps) / (total + self.num_codes * self.eps) * total
        self.codebook.copy_(self.embed_sum / smoothed[:, None])

    @torch.no_grad()
    def _restart_dead_codes(self, flat: torch.Tensor, codes: torch.Tensor) -> None:
        """Codes unused for `restart_after` steps move onto encoder outputs of this batch
        (chosen in process 0, so every process keeps the same codebook); `just_restarted`
        marks them."""
        self.just_restarted = None
        used = sum_over_processes(torch.bincount(codes, minlength=self.num_codes)) > 0
        self.steps_unused.add_(1).masked_fill_(used, 0)
        if self.restart_after <= 0:
            return
        dead_mask = self.steps_unused >= self.restart_after
        dead = dead_mask.nonzero().flatten()
        if len(dead) == 0:
            return
        pick = torch.randint(len(flat), (len(dead),), device=flat.device)
        noise = torch.randn(len(dead), self.dim, device=flat.device) * 1e-3
        new = from_first_process(flat[pick] + noise)
        self.embeddings.data[dead] = new
        if self.mode == "ema":  # as if each restarted code had just been chosen once
            self.cluster_size[dead] = 1.0
            self.embed_sum[dead] = new
        self.steps_unused[dead] = 0
        self.restarts += len(dead)
        self.just_restarted = dead_mask

    @torch.no_grad()
    def _kmeans_init(self, flat: torch.Tensor, iterations: int = 10) -> None:
        """Lloyd's k-means on the first batch's vectors (process 0's) as the initial codebook."""
        if len(flat) >= self.num_codes:
            pick = torch.randperm(len(flat), device=flat.device)[: self.num_codes]
        else:  # fewer vectors than codes: some start alike, and restarts separate them later
            pick = torch.randint(len(flat), (self.num_codes,), device=flat.device)
        centres = flat[pick].clone()
        for _ in range(iterations):
            assign = (centres.pow(2).sum(1)[None] - 2 * flat @ centres.t()).argmin(1)
            counts = torch.bincount(assign, minlength=self.num_codes).float()
            sums = torch.zeros_like(centres).index_add_(0, assign, flat)
            alive = counts > 0
            centres[alive] = sums[alive] / counts[alive, None]
        centres = from_first_process(centres)
        self.embeddings.data.copy_(centres)
        if self.mode == "ema":
            self.embed_sum.copy_(centres)
            self.cluster_size.fill_(1.0)
        self.initialized.fill_(True)


def code_statistics(codes: torch.Tensor, num_codes: int) -> dict[str, torch.Tensor]:
    """Perplexity exp(H) of the codes' histogram (num_codes when all are used evenly, 1 for
    one code) and the fraction of the codebook in use; codes of any shape."""
    return statistics_of_counts(torch.bincount(codes.flatten(), minlength=num_codes).float())


def statistics_of_counts(counts: torch.Tensor) -> dict[str, torch.Tensor]:
    """`code_statistics` of a histogram of codes (K,)."""
    probs = counts / counts.sum().clamp(min=1)
    entropy = -(probs * probs.clamp(min=1e-12).log()).sum()
    return {"perplexity": entropy.exp(), "code_usage": (counts > 0).float().mean()}
