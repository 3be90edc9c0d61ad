"""Autoregressive priors over VQ-VAE code maps (Razavi et al. 2019, sec. 3.2), in raster order.

- `GatedPixelCNN`: van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
  Decoders": gated layers (eq. 2) with a vertical and a horizontal stack, which removes the
  blind spot of masked convolutions (sec. 2.2). Causality comes from shifts, not masks.
- `CausalTransformer`: a small decoder-only transformer (pre-LayerNorm) over the flattened
  map, with a key/value cache so that sampling an L-code map costs L single-position steps.

Both take optional class labels (a learned bias, eq. 4) and, for VQ-VAE-2's bottom prior, the
top code map (nearest-upsampled to the bottom's size) as a spatial condition.
Both map codes (B, H, W) to logits (B, K, H, W): the logits at position i depend on codes at
positions < i only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

PRIOR_KINDS = ("transformer", "pixelcnn")


class ConditionMap(nn.Module):
    """Top codes (B, h, w) -> embedded and nearest-upsampled to (B, E, H, W)."""

    def __init__(self, num_codes: int, channels: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_codes, channels)

    def forward(self, codes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        x = rearrange(self.embed(codes), "b h w e -> b e h w")
        return F.interpolate(x, size=size, mode="nearest")


def _gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated PixelCNN layer: vertical stack (rows above), horizontal stack (left in the row).

    Vertical: a (k//2+1, k) convolution over rows r - k//2 .. r, fed to the horizontal stack
    shifted down one row, so the horizontal stack at row r sees rows < r only through it.
    Horizontal: a (1, k//2+1) convolution over columns c - k//2 .. c; the first layer shifts it
    right by one ("mask A": the code being predicted is not seen).
    Conditions enter each stack's gates through a projection of that stack's own (eq. 4's V,
    one per stack), computed as one 1x1 convolution whose output is split in two.
    """

    def __init__(self, width: int, kernel: int, first: bool, cond_channels: int) -> None:
        super().__init__()
        self.pad, self.first = kernel // 2, first
        self.vertical = nn.Conv2d(width, 2 * width, (kernel // 2 + 1, kernel))
        self.vertical_to_horizontal = nn.Conv2d(2 * width, 2 * width, 1)
        self.horizontal = nn.Conv2d(width, 2 * width, (1, kernel // 2 + 1))
        self.horizontal_out = nn.Conv2d(width, width, 1)
        # vertical and horizontal biases: 2 * width channels each
        self.condition = nn.Conv2d(cond_channels, 4 * width, 1) if cond_channels else None

    def forward(
        self, v_in: torch.Tensor, h_in: torch.Tensor, cond: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.pad
        v = self.vertical(F.pad(v_in, (p, p, p, 0)))  # (B, 2W, H, W): rows r-p .. r
        h = self.horizontal(F.pad(h_in, (p, 0, 0, 0)))  # (B, 2W, H, W): cols c-p .. c
        if self.first:
            h = F.pad(h, (1, 0, 0, 0))[..., :-1]  # cols c-p-1 .. c-1
        v_down = F.pad(v, (0, 0, 1, 0))[:, :, :-1]  # rows above only
        h = h + self.vertical_to_horizontal(v_down)
        if self.condition is not None and cond is not None:
            v_bias, h_bias = self.condition(cond).chunk(2, dim=1)
            v, h = v + v_bias, h + h_bias
        v, h = _gate(v), self.horizontal_out(_gate(h))
        return v, h if self.first else h + h_in


class GatedPixelCNN(nn.Module):
    """Codes (B, H, W) [+ labels, top codes] -> logits (B, K, H, W)."""

    def __init__(
        self,
        num_codes: int,
        width: int = 64,
        layers: int = 8,
        kernel: int = 3,
        num_classes: int = 0,
        cond_codes: int = 0,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_codes, width)
        self.class_bias = nn.Embedding(num_classes, width) if num_classes else None
        self.cond_map = ConditionMap(cond_codes, width) if cond_codes else None
        cond_channels = width if (num_classes or cond_codes) else 0
        self.layers = nn.ModuleList(
            GatedLayer(width, kernel, i == 0, cond_channels) for i in range(layers)
        )
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(width, 4 * width, 1), nn.ReLU(), nn.Conv2d(4 * width, num_codes, 1)
        )

    def forward(
        self,
        codes: torch.Tensor,
        labels: torch.Tensor | None = None,
        cond_codes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = rearrange(self.embed(codes), "b h w c -> b c h w")
        cond = _spatial_condition(self.cond_map, self.class_bias, cond_codes, labels, x)
        v, h = x, x
        for layer in self.layers:
            v, h = layer(v, h, cond)
        return self.head(h)  # (B, K, H, W)


def _spatial_condition(
    cond_map: ConditionMap | None,
    class_bias: nn.Embedding | None,
    cond_codes: torch.Tensor | None,
    labels: torch.Tensor | None,
    like: torch.Tensor,
) -> torch.Tensor | None:
    """The sum of the conditions a prior was built with, (B, E, H, W) or (B, E, 1, 1); None
    without any. A condition the prior was built with must be given."""
    out: torch.Tensor | None = None
    if cond_map is not None:
        if cond_codes is None:
            raise ValueError("this prior is conditioned on top codes: pass cond_codes")
        out = cond_map(cond_codes, tuple(like.shape[-2:]))  # type: ignore[arg-type]
    if class_bias is not None:
        if labels is None:
            raise ValueError("this prior is class-conditional: pass labels")
        bias = class_bias(labels)[:, :, None, None]
        out = bias if out is None else out + bias
    return out


class _Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(
        self, x: torch.Tensor, cache: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        q, k, v = rearrange(self.qkv(x), "b t (n h d) -> n b h t d", n=3, h=self.heads)
        if cache is None:  # the whole sequence: causal mask
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # new positions attend to every cached one and to themselves
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
            y = F.scaled_dot_product_attention(q, k, v)  # one new position: no mask needed
        return self.out(rearrange(y, "b h t d -> b t (h d)"))


class _Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = _Attention(width, heads)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor, cache: dict[str, torch.Tensor] | None) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), cache)
        return x + self.mlp(self.norm2(x))


class CausalTransformer(nn.Module):
    """Codes (B, H, W) [+ labels, top codes] -> logits (B, K, H, W). The input at position i
    is the code at i - 1 (a start token at 0), plus position, class and top-code embeddings."""

    def __init__(
        self,
        num_codes: int,
        shape: tuple[int, int],
        width: int = 128,
        layers: int = 4,
        heads: int = 4,
        dropout: float = 0.0,
        num_classes: int = 0,
        cond_codes: int = 0,
    ) -> None:
        super().__init__()
        self.shape, self.num_codes = shape, num_codes
        self.embed = nn.Embedding(num_codes + 1, width)  # the last one: the start token
        self.position = nn.Parameter(torch.randn(shape[0] * shape[1], width) * 0.02)
        self.class_bias = nn.Embedding(num_classes, width) if num_classes else None
        self.cond_map = ConditionMap(cond_codes, width) if cond_codes else None
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(_Block(width, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, num_codes)

    def _context(
        self, labels: torch.Tensor | None, cond_codes: torch.Tensor | None, like: torch.Tensor
    ) -> torch.Tensor:
        """Position + condition embeddings of every position, (B or 1, L, E)."""
        probe = like.new_zeros(like.shape[0], 1, *self.shape)
        cond = _spatial_condition(self.cond_map, self.class_bias, cond_codes, labels, probe)
        context = self.position[None]
        if cond is not None:
            cond = cond.expand(-1, -1, *self.shape)
            context = context + rearrange(cond, "b e h w -> b (h w) e")
        return context

    def forward(
        self,
        codes: torch.Tensor,
        labels: torch.Tensor | None = None,
        cond_codes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        b = codes.shape[0]
        flat = rearrange(codes, "b h w -> b (h w)")
        start = flat.new_full((b, 1), self.num_codes)
        tokens = torch.cat([start, flat[:, :-1]], 1)  # shifted right by one
        x = self.drop(self.embed(tokens) + self._context(labels, cond_codes, tokens.float()))
        for block in self.blocks:
            x = block(x, None)
        logits = self.head(self.norm(x))  # (B, L, K)
        return rearrange(logits, "b (h w) k -> b k h w", h=self.shape[0])

    # ----- sampling with a key/value cache ------------------------------------------
    def start_cache(
        self, n: int, labels: torch.Tensor | None, cond_codes: torch.Tensor | None
    ) -> dict[str, object]:
        """The state `step` carries from position to position."""
        probe = torch.zeros(n, 1, device=self.position.device)
        return {
            "context": self._context(labels, cond_codes, probe).expand(n, -1, -1),
            "layers": [{} for _ in self.blocks],
            "last": torch.full((n,), self.num_codes, device=self.position.device),
        }

    def step(self, cache: dict, position: int) -> torch.Tensor:
        """Logits (B, K) at `position`, given that positions < `position` are in the cache
        (the code chosen at position - 1 in cache['last'])."""
        x = self.embed(cache["last"])[:, None] + cache["context"][:, position : position + 1]
        for block, layer_cache in zip(self.blocks, cache["layers"], strict=True):
            x = block(x, layer_cache)
        return self.head(self.norm(x))[:, 0]


def filter_logits(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """(B, K) logits -> scaled by 1/temperature with all but the top_k codes and all outside
    the smallest set of probability mass top_p (nucleus, Holtzman et al. 2020) set to -inf."""
    logits = logits.float() / max(temperature, 1e-6)
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -math.inf)
    if top_p < 1.0:
        ordered, order = logits.sort(dim=-1, descending=True)
        mass_before = ordered.softmax(-1).cumsum(-1) - ordered.softmax(-1)
        drop = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order, mass_before >= top_p)
        logits = logits.masked_fill(drop, -math.inf)
    return logits


@torch.no_grad()
def sample_codes(
    prior: nn.Module,
    n: int,
    shape: tuple[int, int],
    generator: torch.Generator,
    labels: torch.Tensor | None = None,
    cond_codes: torch.Tensor | None = None,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    use_cache: bool = True,
    progress: object | None = None,
) -> torch.Tensor:
    """n code maps (n, H, W) drawn position by position (Gumbel-max on the filtered logits,
    with noise from `generator` drawn in order: cached and uncached sampling pick alike).
    The transformer uses its cache unless use_cache=False; the PixelCNN runs the whole map
    at each position. `progress(done, total)` is called after each position."""
    device = next(prior.parameters()).device
    h, w = shape
    codes = torch.zeros(n, h, w, dtype=torch.long, device=device)
    cache = (
        prior.start_cache(n, labels, cond_codes)
        if use_cache and isinstance(prior, CausalTransformer)
        else None
    )
    for i in range(h * w):
        r, c = divmod(i, w)
        if cache is not None:
            logits = prior.step(cache, i)  # type: ignore[operator]
        else:
            logits = prior(codes, labels, cond_codes)[:, :, r, c]
        logits = filter_logits(logits, temperature, top_k, top_p)
        uniform = torch.rand(logits.shape, generator=generator).clamp(1e-12, 1 - 1e-7)
        gumbel = -torch.log(-torch.log(uniform)).to(device)
        choice = (logits + gumbel).argmax(-1)
        codes[:, r, c] = choice
        if cache is not None:
            cache["last"] = choice
        if callable(progress):
            progress(i + 1, h * w)
    return codes
