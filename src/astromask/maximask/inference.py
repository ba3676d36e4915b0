"""MaxiMask inference: normalise, cut 400x400 patches every 200 pixels, run the network, stitch.

Everything follows ``maximask==1.4.1``:

* patches start every 200 pixels, plus a last row and column flush with the
  bottom and right edges; from each patch only the central 200x200 pixels are
  kept, plus its 100-pixel borders where it touches an image edge; later
  patches overwrite earlier ones (:func:`patch_coords`, :func:`write_back`);
* per patch: ``sigmoid`` of the logits, the selected classes, the prior
  change ``p' = p / (p + f (1 - p))``, the threshold ``p' > t`` (strict) and
  the single-mask sum of ``2**k``, all in float32 in that order.

Unlike the original, a patch that occurs twice in the list (which happens
when an image side is a multiple of 200 but not of 400) is computed once, and
the last partial batch is run once, not after every full batch; neither
changes any output value.

Two choices bring PyTorch's numbers close to TensorFlow's: convolutions run
channels-last (NHWC, TensorFlow's order of accumulation), and the sigmoid is
evaluated in float64 and rounded once to float32.
"""

from __future__ import annotations

import os
from contextlib import nullcontext

import numpy as np

from ..errors import ParameterError, ParameterTypeError
from ..progress import interruptible, progress
from .config import ClassConfig
from .normalise import normalise

__all__ = ["DEFAULT_BATCH", "MIN_SIZE", "PATCH", "STRIDE", "MaxiMask", "patch_coords", "unique_last", "write_back"]

PATCH = 400
STRIDE = PATCH // 2
BORDER = PATCH // 4
#: Images must be larger than this on both axes (strictly), as in the original.
MIN_SIZE = PATCH


def patch_coords(height: int, width: int) -> list[tuple[int, int]]:
    """Upper-left corners ``(x, y)`` of MaxiMask's patches, in the original's order (duplicates kept).

    >>> len(patch_coords(2046, 4094)), len(patch_coords(1059, 1059))
    (200, 25)
    """
    xs = range(0, width - PATCH + 1, STRIDE)
    ys = range(0, height - PATCH + 1, STRIDE)
    coords = [(x, y) for y in ys for x in xs]
    if height % PATCH:
        coords += [(x, height - PATCH) for x in xs]
    if width % PATCH:
        coords += [(width - PATCH, y) for y in ys]
    if height % PATCH and width % PATCH:
        coords.append((width - PATCH, height - PATCH))
    return coords


def unique_last(coords: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``coords`` without the earlier occurrences of repeated patches (same stitched result).

    A repeated patch writes the same values over the same region, so only its
    last occurrence decides the output.

    >>> unique_last([(0, 0), (1, 0), (0, 0)])
    [(1, 0), (0, 0)]
    """
    last = {c: i for i, c in enumerate(coords)}
    return [c for i, c in enumerate(coords) if last[c] == i]


def write_back(out: np.ndarray, result: np.ndarray, x: int, y: int) -> None:
    """Copy the part of a patch result that MaxiMask keeps into ``out`` (last axes ``(H, W)``).

    The central 200x200 pixels, extended to the patch's edge on every side
    where the patch touches the image's edge.
    """
    height, width = out.shape[-2:]
    top = y if y == 0 else y + BORDER
    bottom = y + PATCH if y == height - PATCH else y + PATCH - BORDER
    left = x if x == 0 else x + BORDER
    right = x + PATCH if x == width - PATCH else x + PATCH - BORDER
    out[..., top:bottom, left:right] = result[..., top - y : bottom - y, left - x : right - x]


def _batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an image or cube for MaxiMask/MaxiTrack: real numbers, 2-D or 3-D, both sides > 400."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ParameterError(f"image must be 2-D (H, W) or a cube (C, H, W), got shape {image.shape}")
    if image.dtype.kind not in "iuf":
        raise ParameterTypeError(f"image must hold real numbers, got dtype {image.dtype}")
    if min(image.shape[-2:]) <= MIN_SIZE:
        raise ParameterError(f"image must be larger than {MIN_SIZE}x{MIN_SIZE} pixels, got {image.shape[-2:]}")
    return image


def default_device() -> str:
    """``'cuda'`` when PyTorch sees a GPU, else ``'cpu'``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def exact_numerics(device):
    """Context for float32 convolutions without TF32 on GPUs (TF32 would change the masks)."""
    import torch

    if torch.device(device).type != "cuda":
        return nullcontext()
    return torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False)


#: MaxiMask's default patches per network call: 4 on CPUs (8, the original's default, takes 50 %
#: more memory and is no faster there), 16 on GPUs.
DEFAULT_BATCH = {"cpu": 4, "cuda": 16}


def prepare_net(net, device: str | None, batch_size: int | None, default_batch: dict[str, int]):
    """Check the settings; return the network on its device in channels-last layout, the device and the
    batch size (``default_batch[device type]`` when None).

    Channels-last (NHWC) convolutions follow TensorFlow's accumulation order
    much more closely than NCHW ones (masks identical to the original's).
    """
    import torch

    from . import numerics

    device = torch.device(device or default_device())
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device 'cuda' requested but PyTorch sees no CUDA GPU")
    batch_size = default_batch.get(device.type, 1) if batch_size is None else batch_size
    if batch_size < 1:
        raise ParameterError(f"batch_size must be at least 1, got {batch_size}")
    numerics.ensure(device.type)
    return net.eval().to(device).to(memory_format=torch.channels_last), device, batch_size


class MaxiMask:
    """The MaxiMask network with its trained weights, ready to run on images.

    Parameters
    ----------
    net_dir : str or path, optional
        Model directory in the original layout (``.../maximask/model``);
        found by :func:`~astromask.maximask.weights.find_net_dir` by default.
    device : {'cpu', 'cuda'}, optional
        Default: CUDA when available.
    batch_size : int, optional
        Patches per network call; default :data:`DEFAULT_BATCH` (4 on CPUs,
        16 on GPUs). Each patch in a batch takes about 150 MB.

    Examples
    --------
    >>> mm = MaxiMask()  # doctest: +SKIP
    >>> masks = mm.predict(image)  # (14, H, W) uint8 with the default priors and thresholds  # doctest: +SKIP
    """

    def __init__(
        self, net_dir: str | os.PathLike | None = None, *, device: str | None = None, batch_size: int | None = None
    ) -> None:
        from .checkpoint import read_checkpoint
        from .network import MaxiMaskNet
        from .weights import checkpoint_prefix

        weights = read_checkpoint(checkpoint_prefix("maximask", net_dir))
        self._setup(MaxiMaskNet.from_checkpoint(weights), device, batch_size)

    @classmethod
    def from_net(cls, net, *, device: str | None = None, batch_size: int | None = None) -> MaxiMask:
        """Run another network (any module mapping ``(B, 1, 400, 400)`` to ``(B, 14, 400, 400)`` logits)."""
        self = cls.__new__(cls)
        self._setup(net, device, batch_size)
        return self

    def _setup(self, net, device: str | None, batch_size: int | None) -> None:
        self.net, self.device, self.batch_size = prepare_net(net, device, batch_size, DEFAULT_BATCH)

    # -- one batch --------------------------------------------------------------------------------

    def _run(self, patches: np.ndarray, config: ClassConfig) -> np.ndarray:
        """Post-processed network output for ``(B, 400, 400)`` normalised patches, as a NumPy array
        (Ctrl-C is noticed while the network runs: :func:`~astromask.progress.interruptible`)."""
        return interruptible(self._run_batch, patches, config)

    def _run_batch(self, patches: np.ndarray, config: ClassConfig) -> np.ndarray:
        import torch

        with torch.inference_mode(), exact_numerics(self.device):
            x = torch.from_numpy(patches).to(self.device).unsqueeze(1).contiguous(memory_format=torch.channels_last)
            logits = self.net(x)[:, torch.as_tensor(config.selected, device=self.device)]
            # the sigmoid in float64, rounded once: the closest to TensorFlow's float32 sigmoid
            p = torch.sigmoid(logits.double()).float()
            factors = config.prior_factors()
            if factors is not None:
                f = torch.from_numpy(factors).to(self.device)[:, None, None]
                p = p / (p + f * (1 - p))
            if config.thresholds is None:
                return p.cpu().numpy()
            t = torch.from_numpy(config.thresholds[config.flags]).to(self.device)[:, None, None]
            m = p > t
            if not config.single_mask:
                return m.to(torch.uint8).cpu().numpy()
            powers = torch.from_numpy(config.powers()).to(self.device)[:, None, None]
            return (m.to(torch.float32) * powers).sum(dim=1).to(torch.int16).cpu().numpy()

    # -- images -----------------------------------------------------------------------------------

    def _output(self, shape: tuple[int, int], config: ClassConfig) -> np.ndarray:
        if config.single_mask:
            return np.zeros(shape, dtype=np.int16)
        dtype = np.float32 if config.thresholds is None else np.uint8
        return np.zeros((len(config.selected),) + shape, dtype=dtype)

    def _plane(self, normalised: np.ndarray, config: ClassConfig) -> np.ndarray:
        out = self._output(normalised.shape, config)
        coords = unique_last(patch_coords(*normalised.shape))
        for batch in progress(_batches(coords, self.batch_size)):
            patches = np.stack([normalised[y : y + PATCH, x : x + PATCH] for x, y in batch])
            for (x, y), result in zip(batch, self._run(patches, config)):
                write_back(out, result, x, y)
        return out

    def predict(self, image: np.ndarray, config: ClassConfig | None = None) -> np.ndarray:
        """MaxiMask's output for an image or cube, as the original writes it.

        Parameters
        ----------
        image : numpy.ndarray
            ``(H, W)`` image or ``(C, H, W)`` cube of raw pixel values, both
            sides larger than 400.
        config : ClassConfig, optional
            Classes, priors, thresholds; default :meth:`ClassConfig.default`.

        Returns
        -------
        numpy.ndarray
            ``(n_classes, H, W)`` uint8 0/1 maps (thresholds), or float32
            probabilities (no thresholds), or ``(H, W)`` int16 single mask; a
            cube adds a leading ``C`` axis. An all-zero image gives zeros.
        """
        config = config or ClassConfig.default()
        image = check_image(image)
        planes = image.reshape((-1,) + image.shape[-2:])
        outputs = []
        for plane in planes:
            if not plane.any():
                outputs.append(self._output(plane.shape, config))
            else:
                outputs.append(self._plane(normalise(plane), config))
        return outputs[0] if image.ndim == 2 else np.stack(outputs)

    def probabilities(self, image: np.ndarray, *, classes=None, priors: bool = True) -> np.ndarray:
        """Class probabilities ``(n_classes, H, W)`` float32, moved to the default priors unless ``priors=False``."""
        return self.predict(image, ClassConfig.default(classes=classes, prior_modif=priors, proba_thresh=False))

    def mask(self, image: np.ndarray, config: ClassConfig | None = None):
        """The thresholded classes of a 2-D image as a :class:`~astromask.Mask` (schema ``maximask``).

        Each selected class (BG aside) becomes the plane of the same name; the
        planes of classes not computed stay unnamed.
        """
        config = config or ClassConfig.default()
        if config.thresholds is None:
            raise ParameterError("a mask needs thresholds (proba_thresh); probabilities are not a mask")
        if np.ndim(image) != 2:
            raise ParameterError(f"a Mask is 2-D; got an image of shape {np.shape(image)} (use predict for cubes)")
        joined = ClassConfig(config.flags, config.priors, config.thresholds, single_mask=True)
        return mask_from_single(self.predict(image, joined), config.names)


def mask_from_single(single: np.ndarray, names: list[str]):
    """A :class:`~astromask.Mask` (schema ``maximask``) from a MaxiMask single mask of the classes ``names``."""
    from ..core.mask import Mask
    from ..core.presets import get_schema
    from ..core.schema import MaskSchema
    from ..io.formats.maximask import BACKGROUND

    preset = get_schema("maximask")
    planes = [p if p is not None and p.name in names and p.name != BACKGROUND else None for p in preset.planes]
    return Mask(single.astype(preset.dtype), MaskSchema(planes, dtype=preset.dtype, name="maximask"))
