"""The MaxiMask and MaxiTrack networks in PyTorch, built from the original checkpoints.

Both graphs were read from the ``saved_model.pb`` files of ``maximask==1.4.1``
(see ``docs/maximask.md``):

MaxiMask
    A SegNet-like encoder/decoder on 400x400 patches: ``asinh`` of the input;
    3x3 convolutions (SAME zero padding, ReLU); 2x2 max pools that remember
    where each maximum was (TensorFlow's ``MaxPoolWithArgmax``: ties go to the
    first maximum in row-major order, odd sizes are padded at the end) and
    "unpools" that put values back at those places in zeros of the pre-pool
    shape; additive skips; four side heads taken from the unpooled tensors
    before the skip is added; a final 3x3 convolution over the 70 concatenated
    channels gives 14 class logits.
MaxiTrack
    ``asinh``; five 9x9 convolutions each followed by a PReLU with one slope
    per element and a 2x2 max pool; three dense layers (PReLU after the first
    two); a two-class softmax.

The modules compute logits and scores only; priors and thresholds are applied
by :mod:`astromask.maximask.inference`. Arrays are NCHW.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import NotFoundError, ParameterError

__all__ = ["N_CLASSES", "PATCH", "MaxiMaskNet", "MaxiTrackNet"]

#: Number of MaxiMask classes (13 contaminants and the background).
N_CLASSES = 14
#: Side of the square patches both networks see.
PATCH = 400

# (name, input channels, output channels) of MaxiMask's 28 convolutions, as named in the checkpoint.
MAXIMASK_CONVS = [
    ("conv1", 1, 32), ("conv2", 32, 64), ("conv3_1", 64, 128), ("conv3_2", 128, 128),
    ("conv4_1", 128, 256), ("conv4_2", 256, 256), ("conv5_1", 256, 256), ("conv5_2", 256, 256),
    ("convmid", 256, 256),
    ("upconv5_2", 256, 256), ("upconv5_1", 256, 256), ("upconv4_2", 256, 256), ("upconv4_1", 256, 128),
    ("upconv3_2", 128, 128), ("upconv3_1", 128, 64), ("upconv2", 64, 32), ("upconv1", 32, N_CLASSES),
    ("ucp4_conv4", 256, 128), ("ucp4_conv3", 128, 64), ("ucp4_conv2", 64, 32), ("ucp4_conv1", 32, N_CLASSES),
    ("ucp3_conv3", 128, 64), ("ucp3_conv2", 64, 32), ("ucp3_conv1", 32, N_CLASSES),
    ("ucp2_conv2", 64, 32), ("ucp2_conv1", 32, N_CLASSES),
    ("ucp1_conv1", 32, N_CLASSES),
    ("final_conv", 5 * N_CLASSES, N_CLASSES),
]  # fmt: skip

# MaxiTrack: (name, input channels, output channels, PReLU slope variable, slope shape HWC)
MAXITRACK_CONVS = [
    ("conv1", 1, 16, "variables/2", (400, 400, 16)),
    ("conv2", 16, 32, "variables/5", (200, 200, 32)),
    ("conv3", 32, 64, "variables/8", (100, 100, 64)),
    ("conv4", 64, 128, "variables/11", (50, 50, 128)),
    ("conv5", 128, 128, "variables/14", (25, 25, 128)),
]
# MaxiTrack: (name, inputs, outputs, PReLU slope variable or None)
MAXITRACK_DENSE = [
    ("dense1", 12 * 12 * 128, 64, "variables/17"),
    ("dense2", 64, 64, "variables/20"),
    ("dense3", 64, 2, None),
]


def _value(weights: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    key = f"{name}/.ATTRIBUTES/VARIABLE_VALUE"
    if key not in weights:
        raise NotFoundError(f"checkpoint has no variable {name!r}; is it the right network's checkpoint?")
    value = weights[key]
    if value.shape != shape:
        raise ParameterError(f"checkpoint variable {name!r} has shape {value.shape}, expected {shape}")
    return value


def _load_conv(conv: nn.Conv2d, weights: dict[str, np.ndarray], name: str) -> None:
    """Copy a TensorFlow HWIO kernel and its bias into a PyTorch OIHW convolution."""
    out_ch, in_ch, kh, kw = conv.weight.shape
    kernel = _value(weights, f"{name}/kernel", (kh, kw, in_ch, out_ch))
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
        conv.bias.copy_(torch.from_numpy(_value(weights, f"{name}/bias", (out_ch,))))


def _pool(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """2x2 max pool remembering the argmax; odd sizes padded at the end (TF SAME)."""
    return F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)


def _unpool(x: torch.Tensor, indices: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Scatter ``x`` to the argmax positions into zeros of the pre-pool ``shape``."""
    return F.max_unpool2d(x, indices, 2, 2, output_size=shape[-2:])


def _layout(x: torch.Tensor) -> torch.memory_format:
    """The memory format of a 4-D tensor (channels-last or the default)."""
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class MaxiMaskNet(nn.Module):
    """MaxiMask's segmentation network: ``(B, 1, 400, 400)`` normalised patches to ``(B, 14, 400, 400)`` logits."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict({name: nn.Conv2d(cin, cout, 3, padding=1) for name, cin, cout in MAXIMASK_CONVS})

    @classmethod
    def from_checkpoint(cls, weights: dict[str, np.ndarray]) -> MaxiMaskNet:
        """The network with the variables of MaxiMask's checkpoint (see :func:`read_checkpoint`)."""
        net = cls()
        for name, _, _ in MAXIMASK_CONVS:
            _load_conv(net.convs[name], weights, name)
        return net.eval()

    def _conv(self, name: str, x: torch.Tensor, relu: bool = True) -> torch.Tensor:
        y = self.convs[name](x)
        return F.relu_(y) if relu else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self._conv
        e1 = c("conv1", torch.asinh(x))
        p, i1 = _pool(e1)
        e2 = c("conv2", p)
        p, i2 = _pool(e2)
        e3 = c("conv3_2", c("conv3_1", p))
        p, i3 = _pool(e3)
        e4 = c("conv4_2", c("conv4_1", p))
        p, i4 = _pool(e4)
        e5 = c("conv5_2", c("conv5_1", p))
        p, i5 = _pool(e5)
        d = c("upconv5_1", c("upconv5_2", _unpool(c("convmid", p), i5, e5.shape) + e5))
        u4 = _unpool(d, i4, e4.shape)
        d = c("upconv4_1", c("upconv4_2", u4 + e4))
        u3 = _unpool(d, i3, e3.shape)
        d = c("upconv3_1", c("upconv3_2", u3 + e3))
        u2 = _unpool(d, i2, e2.shape)
        d = c("upconv2", u2 + e2)
        # side heads, from the unpooled tensors before the skips are added, down to 200x200
        g4 = c("ucp4_conv2", _unpool(c("ucp4_conv3", _unpool(c("ucp4_conv4", u4), i3, e3.shape)), i2, e2.shape))
        g3 = c("ucp3_conv2", _unpool(c("ucp3_conv3", u3), i2, e2.shape))
        g2 = c("ucp2_conv2", u2)
        # 400x400: the full-resolution tensors are released as soon as possible and each head is
        # written into the concatenation when computed (this halves the peak memory)
        full = e1.shape
        u1 = _unpool(d, i1, full)
        main = c("upconv1", u1 + e1)
        del p, d, e1, e2, e3, e4, e5, u2, u3, u4
        heads = torch.empty(
            (full[0], 5 * N_CLASSES) + full[2:], dtype=main.dtype, device=main.device, memory_format=_layout(main)
        )
        heads[:, :N_CLASSES] = main
        del main
        heads[:, 4 * N_CLASSES :] = c("ucp1_conv1", u1)
        del u1
        for k, (name, g) in enumerate((("ucp4_conv1", g4), ("ucp3_conv1", g3), ("ucp2_conv1", g2)), start=1):
            heads[:, k * N_CLASSES : (k + 1) * N_CLASSES] = c(name, _unpool(g, i1, full))
        return c("final_conv", heads, relu=False)


class MaxiTrackNet(nn.Module):
    """MaxiTrack's classifier: ``(B, 1, 400, 400)`` normalised blocks to ``(B, 2)`` softmax scores."""

    def __init__(self) -> None:
        super().__init__()
        convs = {name: nn.Conv2d(cin, cout, 9, padding=4) for name, cin, cout, *_ in MAXITRACK_CONVS}
        self.convs = nn.ModuleDict(convs)
        self.dense = nn.ModuleDict({name: nn.Linear(cin, cout) for name, cin, cout, _ in MAXITRACK_DENSE})
        slopes = [(f"conv_{name}", (shape[2], shape[0], shape[1])) for name, _, _, _, shape in MAXITRACK_CONVS]
        slopes += [(f"dense_{name}", (cout,)) for name, _, cout, var in MAXITRACK_DENSE if var]
        self.slopes = nn.ParameterDict({key: nn.Parameter(torch.zeros(shape)) for key, shape in slopes})

    @classmethod
    def from_checkpoint(cls, weights: dict[str, np.ndarray]) -> MaxiTrackNet:
        """The network with the variables of MaxiTrack's checkpoint."""
        net = cls()
        with torch.no_grad():
            for name, _, _, slope, shape in MAXITRACK_CONVS:
                _load_conv(net.convs[name], weights, name)
                alpha = _value(weights, slope, shape).transpose(2, 0, 1)  # HWC -> CHW
                net.slopes[f"conv_{name}"].copy_(torch.from_numpy(np.ascontiguousarray(alpha)))
            for name, cin, cout, slope in MAXITRACK_DENSE:
                kernel = _value(weights, f"{name}/kernel", (cin, cout))
                net.dense[name].weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                net.dense[name].bias.copy_(torch.from_numpy(_value(weights, f"{name}/bias", (cout,))))
                if slope:
                    net.slopes[f"dense_{name}"].copy_(torch.from_numpy(_value(weights, slope, (cout,))))
        return net.eval()

    @staticmethod
    def _prelu(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """Keras PReLU, ``relu(x) - alpha * relu(-x)``: ``x`` where ``x >= 0``, else ``alpha * x``."""
        return torch.where(x >= 0, x, alpha * x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.asinh(x)
        for name, *_ in MAXITRACK_CONVS:
            x = F.max_pool2d(self._prelu(self.convs[name](x), self.slopes[f"conv_{name}"]), 2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # Keras flattens NHWC
        for name, _, _, slope in MAXITRACK_DENSE:
            x = self.dense[name](x)
            if slope:
                x = self._prelu(x, self.slopes[f"dense_{name}"])
        return torch.softmax(x, dim=1)
