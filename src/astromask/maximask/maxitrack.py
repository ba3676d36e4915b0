"""MaxiTrack: the probability that an exposure suffers from tracking errors.

As in ``maximask==1.4.1``: the image is normalised as for MaxiMask; the
network scores non-overlapping 400x400 blocks anchored at the bottom-right
corner (the top rows and left columns that do not fill a block are not
seen); each block's score ``r`` (softmax of the "tracking error" class) is
moved to the prior ``p`` by ``r' = r / (r + (1 - p) / p * (1 - r))`` in
float32; the image's score is the mean over its blocks.

The original wrote the last partial batch of blocks at the wrong place
(overwriting earlier scores and leaving the last ones at zero) whenever an
image had more blocks than the batch size and their number was not a
multiple of it; here every block's score is where it belongs.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import ParameterError
from ..progress import interruptible, progress
from .inference import PATCH, check_image, exact_numerics, prepare_net
from .normalise import normalise

__all__ = ["DEFAULT_PRIOR", "MaxiTrack", "block_coords"]

#: The original's default expected proportion of exposures with tracking errors.
DEFAULT_PRIOR = 0.05
#: The original's default blocks per network call.
DEFAULT_BATCH = 16


def block_coords(height: int, width: int) -> list[tuple[int, int]]:
    """Upper-left corners ``(x, y)`` of MaxiTrack's blocks, row by row.

    >>> block_coords(1059, 1059)
    [(259, 259), (659, 259), (259, 659), (659, 659)]
    """
    return [
        (x, y)
        for y in range(height % PATCH, height - PATCH + 1, PATCH)
        for x in range(width % PATCH, width - PATCH + 1, PATCH)
    ]


def prior_adjust(scores: np.ndarray, prior: float) -> np.ndarray:
    """Move float32 scores from balanced training classes to the prior ``prior`` (float32, the original's op order)."""
    if not 0 < prior < 1:
        raise ParameterError(f"prior must be strictly between 0 and 1, got {prior}")
    factor = np.float32((1 - prior) / prior)
    scores = np.asarray(scores, dtype=np.float32)
    return scores / (scores + factor * (np.float32(1) - scores))


class MaxiTrack:
    """The MaxiTrack network with its trained weights.

    Parameters
    ----------
    net_dir : str or path, optional
        Model directory in the original layout (``.../maxitrack/model``).
    device : {'cpu', 'cuda'}, optional
        Default: CUDA when available.
    batch_size : int
        Blocks per network call (default 16, the original's).

    Examples
    --------
    >>> MaxiTrack().score(image)  # doctest: +SKIP
    0.2429...
    """

    def __init__(
        self, net_dir: str | os.PathLike | None = None, *, device: str | None = None, batch_size: int = DEFAULT_BATCH
    ) -> None:
        from .checkpoint import read_checkpoint
        from .network import MaxiTrackNet
        from .weights import checkpoint_prefix

        weights = read_checkpoint(checkpoint_prefix("maxitrack", net_dir))
        self._setup(MaxiTrackNet.from_checkpoint(weights), device, batch_size)

    @classmethod
    def from_net(cls, net, *, device: str | None = None, batch_size: int = DEFAULT_BATCH) -> MaxiTrack:
        """Run another network (any module mapping ``(B, 1, 400, 400)`` blocks to ``(B, 2)`` scores)."""
        self = cls.__new__(cls)
        self._setup(net, device, batch_size)
        return self

    def _setup(self, net, device: str | None, batch_size: int | None) -> None:
        defaults = dict.fromkeys(("cpu", "cuda"), DEFAULT_BATCH)
        self.net, self.device, self.batch_size = prepare_net(net, device, batch_size, defaults)

    def _run(self, blocks: np.ndarray) -> np.ndarray:
        return interruptible(self._run_batch, blocks)  # Ctrl-C noticed while the network runs

    def _run_batch(self, blocks: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode(), exact_numerics(self.device):
            x = torch.from_numpy(blocks).to(self.device).unsqueeze(1).contiguous(memory_format=torch.channels_last)
            return self.net(x)[:, 1].cpu().numpy()

    def block_scores(self, normalised: np.ndarray, prior: float | None = DEFAULT_PRIOR) -> np.ndarray:
        """Scores of the blocks of a normalised 2-D image (float32), prior-adjusted unless ``prior`` is None."""
        coords = block_coords(*normalised.shape)
        scores = np.zeros(len(coords), dtype=np.float32)
        for start in progress(range(0, len(coords), self.batch_size)):
            batch = coords[start : start + self.batch_size]
            blocks = np.stack([normalised[y : y + PATCH, x : x + PATCH] for x, y in batch])
            scores[start : start + len(batch)] = self._run(blocks)
        return scores if prior is None else prior_adjust(scores, prior)

    def score(self, image: np.ndarray, prior: float | None = DEFAULT_PRIOR) -> np.float32 | np.ndarray:
        """Tracking-error probability of an image (mean block score), or one per plane of a cube."""
        image = check_image(image)
        normalised = normalise(image)
        planes = normalised.reshape((-1,) + image.shape[-2:])
        scores = np.array([np.mean(self.block_scores(p, prior)) for p in planes], dtype=np.float32)
        return scores[0] if image.ndim == 2 else scores
