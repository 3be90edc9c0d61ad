"""The Python API behind `genzoo.load`: a trained model's contract (models/base.py) with inputs a
user has at hand (PIL images, tensors in [0, 1] or uint8, one image or a batch) and one clear
error for a request the family cannot serve (docs/api.md).

    import genzoo
    m = genzoo.load("dcgan_digits")            # a shipped model, a run directory or a .ckpt
    images = m.sample(16, seed=0)              # (16, 1, 32, 32) floats in [0, 1]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch

from genzoo import zoo
from genzoo.data.transforms import to_channels
from genzoo.errors import ConfigError
from genzoo.models.base import CapabilityError, GenerativeModel
from genzoo.models.loading import load_model
from genzoo.tasks import api_checks as checks
from genzoo.tasks.image_inputs import ImageInput, ImageInputError, as_image_batch
from genzoo.utils.checkpoint import CheckpointError
from genzoo.utils.device import pick_device

# What to load for a capability a family lacks (the error's suggestion).
SHIPPED_FOR = {
    "sample": "dcgan_digits",
    "interpolate": "vae_digits",
    "style_mix": "stylegan_digits",
    "reconstruct": "vae_digits",
    "encode": "vqvae_digits",
    "decode": "vqvae_digits",
    "translate": "pix2pix_facades_synth",
    "upscale": "srresnet_photos",
    "project": "stylegan_digits",
    "inpaint": "diffusion_digits",
    "outpaint": "diffusion_digits",
    "edit": "diffusion_digits",
}


def reference_of(run: str | Path) -> str | Path:
    """A bare shipped name ("dcgan_digits") -> "zoo:dcgan_digits"; paths pass through."""
    text = str(run)
    if zoo.is_shipped_reference(text) or Path(text).expanduser().exists():
        return run
    if text in zoo.shipped_names():
        return zoo.PREFIX + text
    raise CheckpointError(
        f"{text!r} is neither a run directory, a .ckpt file nor a shipped model "
        f"(shipped: {', '.join(zoo.shipped_names()) or 'none'}; genzoo.list_models())"
    )


class Model:
    """A trained genzoo model in eval mode: `module` is its LightningModule, `meta` its
    checkpoint's genzoo metadata. Methods take and return float images in [0, 1]."""

    def __init__(self, module: GenerativeModel, meta: dict[str, Any], name: str) -> None:
        self.module, self.meta, self.name = module, meta, name
        self.family = type(module).__name__
        self.capabilities = frozenset(module.capabilities) | (
            {"project"} if _projectable(module) else set()
        )

    def __repr__(self) -> str:
        can = ", ".join(sorted(self.capabilities))
        return f"genzoo.Model({self.name!r}: {self.family} on {self.device}; can {can})"

    @property
    def device(self) -> torch.device:
        return self.module.device

    @property
    def hparams(self) -> dict[str, Any]:
        return dict(self.module.hparams)

    @property
    def card(self) -> dict[str, Any] | None:
        """The shipped model's card (training, metrics), None for a run of your own."""
        shipped = self.meta.get("shipped")
        return zoo.model_card(str(shipped)) if shipped else None

    def to(self, device: str | torch.device) -> Model:
        self.module.to(pick_device(str(device)))
        return self

    # ----- the contract, with user inputs ------------------------------------------------
    def sample(self, n: int = 16, seed: int = 0, **options: Any) -> torch.Tensor:
        """n images (n, C, H, W); options as genzoo-sample's (truncation, temperature, ...)."""
        self._require("sample")
        n, seed = checks.count(n, "n"), checks.seed(seed)
        if options.get("seeds") is not None:  # one seed per image, as genzoo-sample's seeds=
            options["seeds"] = checks.seeds(options["seeds"], "seeds")
            if len(options["seeds"]) != n:
                raise checks.OptionError(f"seeds= gives {len(options['seeds'])} seeds for n={n}")
        given = {k: v for k, v in options.items() if k != "seeds"}
        checks.sample_options(self.family, self.module.sample_options, given)
        return self.module.sample(n, seed=seed, **options)

    def interpolate(
        self, steps: int = 10, seed_a: int = 0, seed_b: int = 1, **options: Any
    ) -> torch.Tensor:
        """`steps` images (steps, C, H, W) between the latents of two seeds."""
        self._require("interpolate")
        steps = checks.count(steps, "steps", low=2)
        seed_a, seed_b = checks.seed(seed_a, "seed_a"), checks.seed(seed_b, "seed_b")
        space = options.pop("space", None)
        spaces = sorted(self.module.interpolation_spaces)
        if space is not None and space not in spaces:
            raise checks.OptionError(
                f"space={space!r}: {self.family} interpolates in {', '.join(spaces)}"
            )
        checks.sample_options(self.family, self.module.sample_options, options)
        if space is not None:
            options["space"] = space
        return self.module.interpolate(steps, seed_a, seed_b, **options)

    def style_mix(
        self, row_seeds: list[int], col_seeds: list[int], layers: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """(rows * cols) images: each row seed's styles with layers [start, end) of each column's."""
        self._require("style_mix")
        rows, cols = checks.seeds(row_seeds, "row_seeds"), checks.seeds(col_seeds, "col_seeds")
        if layers is not None:
            count = int(getattr(self.module, "style_layers", 0))
            if (
                not isinstance(layers, (tuple, list))
                or len(layers) != 2
                or not all(isinstance(v, int) for v in layers)
                or not 0 <= layers[0] < layers[1] <= count
            ):
                raise checks.OptionError(
                    f"layers={layers!r} must be (start, end) with 0 <= start < end <= {count}"
                )
            layers = (int(layers[0]), int(layers[1]))
        return self.module.style_mix(rows, cols, layers)

    def reconstruct(self, images: ImageInput) -> torch.Tensor:
        self._require("reconstruct")
        x, single = self._images(images, fixed_size=True)
        return _unbatch(self.module.reconstruct(x), single)

    def encode(self, images: ImageInput) -> Any:
        """Images -> latents: a VAE's posterior means (B, latent_dim); a VQ-VAE's code maps,
        one (B, H', W') integer tensor per level, bottom first."""
        self._require("encode")
        x, _ = self._images(images, fixed_size=True)
        return cast(Any, self.module).encode(x)

    def decode(self, latents: Any) -> torch.Tensor:
        """What `encode` returns -> images (B, C, H, W)."""
        self._require("decode")
        module = cast(Any, self.module)
        if hasattr(module, "code_shapes"):  # a VQ-VAE: code maps per level
            latents = checks.code_maps(latents, module.code_shapes(), int(module.num_codes))
        else:
            latents = checks.latents(latents, int(module.latent_dim), self.family)
        return module.decode(latents)

    @torch.no_grad()
    def translate(self, images: ImageInput, direction: str | None = None) -> torch.Tensor:
        """Images of one domain, any size -> the other domain's, same size. `direction`: AtoB
        or BtoA (default: the one a Pix2Pix run learned, AtoB for CycleGAN)."""
        self._require("translate")
        directions = tuple(getattr(self.module, "directions", ("AtoB",)))
        direction = direction or directions[0]
        if direction not in directions:
            raise CapabilityError(
                f"direction={direction!r}: this {self.family} translates {' and '.join(directions)}"
            )
        x, single = self._images(images)
        return _unbatch(self.module.translate(x, direction).clamp(0, 1), single)

    @torch.no_grad()
    def upscale(self, images: ImageInput, tile: int | None = None) -> torch.Tensor:
        """Low-resolution images (B, C, h, w), any size -> (B, C, h * scale, w * scale); with
        `tile`, in overlapping tiles of that many pixels (memory bounded, as genzoo-upscale)."""
        self._require("upscale")
        x, single = self._images(images)
        if tile is None:
            return _unbatch(self.module.upscale(x).clamp(0, 1), single)
        from genzoo.utils.tiling import upscale_tiled

        scale = int(self.module.hparams["scale"])
        sr = upscale_tiled(self.module.upscale, x, scale, tile=checks.count(tile, "tile", low=64))
        return _unbatch(sr.clamp(0, 1), single)

    def inpaint(self, images: ImageInput, mask: Any, **options: Any) -> torch.Tensor:
        """Diffusion: the region where `mask` is 1 painted anew (RePaint), the rest kept
        exactly; options: label, seed, resample, harmonize, guidance, steps, sampler,
        eta."""
        self._require("inpaint")
        x, single = self._images(images, fixed_size=False)
        return _unbatch(cast(Any, self.module).inpaint(x, torch.as_tensor(mask), **options), single)

    def outpaint(self, images: ImageInput, **sides_and_options: Any) -> torch.Tensor:
        """Diffusion: the images on a canvas grown by left=, right=, top=, bottom= pixels."""
        self._require("outpaint")
        x, single = self._images(images, fixed_size=False)
        return _unbatch(cast(Any, self.module).outpaint(x, **sides_and_options), single)

    def edit(self, images: ImageInput, strength: float = 0.5, **options: Any) -> torch.Tensor:
        """Diffusion, SDEdit: noised to `strength` in (0, 1], denoised under label= / guidance=."""
        self._require("edit")
        x, single = self._images(images, fixed_size=True)
        return _unbatch(cast(Any, self.module).edit(x, strength=strength, **options), single)

    def project(self, images: ImageInput, **options: Any) -> Any:
        """GAN inversion: the latents that reproduce `images` (genzoo.tasks.projection.project)."""
        self._require("project")
        from genzoo.tasks.projection import project

        x, _ = self._images(images, fixed_size=True, same_channels=True)
        return project(self.module, x, **options)

    def export(self, format: str = "onnx", output: str | Path | None = None) -> list[Path]:
        """Write the deployable part(s) as ONNX or TorchScript (genzoo.cli.export.export_model)."""
        from genzoo.tasks.export import export_model
        from genzoo.utils.options import check_output_folder

        folder = (
            check_output_folder(str(output), "output", holds="the exported files")
            if output is not None
            else Path(self.meta["run_dir"]) / "export"
        )
        return [part.path for part in export_model(self.module, format, folder)]

    def save_pretrained(self, directory: str | Path, dtype: str | None = None) -> Path:
        """A model folder others can read: config.json, model.safetensors (inference weights,
        floating ones as `dtype`: float32, float16, bfloat16; None keeps them) and README.md,
        a card with YAML front matter (library, license, tags, dataset, paper, metrics).
        `genzoo.load(directory)` and every genzoo command (`run=<directory>`) read it back."""
        from genzoo.models.pretrained import write_model_folder
        from genzoo.zoo.cards import card_markdown
        from genzoo.zoo.folder_card import folder_card

        folder = Path(directory).expanduser()
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"save_pretrained({str(directory)!r}): that is a file; name a folder")
        write_model_folder(self.module, self.meta, folder, dtype=dtype)
        card = self.card
        name = str(self.meta.get("shipped") or Path(str(self.meta.get("run_dir", folder))).name)
        text = folder_card(
            name, self.family, sorted(self.capabilities), self.meta, card,
            card_markdown(card) if card else None,
        )  # fmt: skip
        (folder / "README.md").write_text(text)
        return folder

    # ----- helpers -----------------------------------------------------------------------
    def _require(self, capability: str) -> None:
        if capability in self.capabilities:
            return
        can = ", ".join(sorted(self.capabilities)) or "nothing"
        other = SHIPPED_FOR.get(capability)
        hint = f"; genzoo.load({other!r}) can" if other else ""
        raise CapabilityError(
            f"{self.family} ({self.name}) cannot {capability}: it can {can}{hint}"
        )

    def _images(
        self, images: ImageInput, fixed_size: bool = False, same_channels: bool = False
    ) -> tuple[torch.Tensor, bool]:
        """User images -> ((B, C, H, W) float32 in [0, 1] on the model's device, was one
        image). Grey and colour are converted, unless `same_channels` (a projection must match
        the image itself, as genzoo-project says)."""
        channels = int(self.module.hparams.get("image_channels", 3))
        x, single = as_image_batch(images)
        x = checks.finite_images(x)
        if same_channels and x.shape[-3] != channels:
            kind = {1: "grey", 3: "colour"}
            raise ImageInputError(
                f"the images are {kind[x.shape[-3]]}, {self.family} ({self.name}) draws "
                f"{kind[channels]} images: convert them first"
            )
        x = to_channels(x, channels)
        size = self.module.hparams.get("image_size")
        if fixed_size and size and tuple(x.shape[-2:]) != (size, size):
            raise ImageInputError(
                f"{self.family} ({self.name}) takes {size}x{size} images, got "
                f"{x.shape[-2]}x{x.shape[-1]}: resize them first"
            )
        return x.to(self.device), single


def _unbatch(x: torch.Tensor, single: bool) -> torch.Tensor:
    return x[0] if single else x


def _projectable(module: GenerativeModel) -> bool:
    from genzoo.tasks.projection import supports_projection

    return supports_projection(module)


def load(run: str | Path, device: str = "auto", checkpoint: str = "last") -> Model:
    """A trained model in eval mode: `run` is a shipped name (genzoo.list_models()), a run
    directory (its checkpoints/last.ckpt; checkpoint="best" for the best), a .ckpt file or a
    model folder (Model.save_pretrained)."""
    reference = reference_of(run)
    module, meta = load_model(reference, checkpoint, device=pick_device(device))
    return Model(module, meta, str(run))


def shipped_capabilities(name: str) -> frozenset[str]:
    """What shipped model `name` can do, as its Model.capabilities says, read from its
    checkpoint without building the model."""
    from genzoo.tasks.projection import SPACES
    from genzoo.utils.checkpoint import import_target, read_checkpoint

    ckpt = read_checkpoint(zoo.shipped_checkpoint(name))
    cls = import_target(ckpt["genzoo"]["model_target"])
    hparams = ckpt.get("hyper_parameters", {})
    projectable = cls.__name__ in SPACES and not hparams.get("num_classes", 0)
    return frozenset(cls.capabilities) | ({"project"} if projectable else set())
