"""Pictures of masks: `astromask show`, `show_figure` and the layers under them.

Colours are checked in the saved PNG: each mask pixel's position is mapped to
the picture through the axes' data transform, and the colour found there is
compared with the plane's palette colour blended (opacity 0.6) over the grey
of the image, computed independently (astropy ZScale, skimage block means).
"""

import doctest
import io
import math
import re
import warnings

import matplotlib.image as mpimg
import numpy as np
import pytest
from astropy.io import fits
from astropy.visualization import AsinhStretch, PercentileInterval, ZScaleInterval
from astropy.visualization.wcsaxes import WCSAxes
from astropy.wcs import WCS
from scipy import ndimage as ndi
from skimage.measure import block_reduce

import astromask
import astromask.cli
from astromask import Mask, MaskedImage, get_schema
from astromask.cli import show as show_cli
from astromask.schema import UnknownPlaneError
from astromask.visual import (
    PALETTE,
    as_panels,
    encode_png,
    figure,
    header_parameters,
    layers,
    normalizer,
    panels,
    png,
    pool_any,
    pool_factor,
    pool_mean,
    read_panels,
    select_planes,
    show_figure,
    stretch_image,
)
from conftest import shared_path

ALPHA = 0.6
TOL = 0.02  # 8-bit PNG rounding and blending


def rgb(hexcolour: str) -> np.ndarray:
    return np.array([int(hexcolour[i : i + 2], 16) for i in (1, 3, 5)]) / 255


def cli(monkeypatch, capsys, *argv):
    """Run `astromask show ...` through the real entry point (error handling included)."""
    monkeypatch.setitem(astromask.cli.COMMANDS, "show", show_cli)
    code = astromask.cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def save(fig, path) -> np.ndarray:
    fig.savefig(path)
    return mpimg.imread(path)[..., :3]


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def screen(ax, png_height: int, xs, ys):
    """PNG (row, col) of image pixel coordinates (x, y), through the axes' data transform.

    Also says which points lie clear of the axes' edges (tick marks may cover the outermost screen pixel).
    """
    disp = ax.transData.transform(np.column_stack([xs, ys]).astype(float))
    x0, y0, x1, y1 = ax.get_window_extent().extents
    inner = (disp[:, 0] > x0 + 1.5) & (disp[:, 0] < x1 - 1.5) & (disp[:, 1] > y0 + 1.5) & (disp[:, 1] < y1 - 1.5)
    return np.floor(png_height - disp[:, 1]).astype(int), np.floor(disp[:, 0]).astype(int), inner


def reference_grey(image, factor, stretch="zscale"):
    """Display grey of each block: ZScale (or asinh percentile) limits on the full image, block means."""
    finite = image[np.isfinite(image)]
    if stretch == "zscale":
        vmin, vmax = ZScaleInterval().get_limits(finite)
        curve = np.asarray
    else:
        vmin, vmax = PercentileInterval(99.9).get_limits(finite)
        curve = AsinhStretch(a=0.1)
    means = block_reduce(image.astype(float), factor, np.nanmean, cval=np.nan) if factor > 1 else image
    return curve(np.clip((means - vmin) / (vmax - vmin), 0, 1))


def check_planes(ax, picture, planes: dict, colours: dict, grey, factor, *, far=3, samples=400):
    """Each plane's colour is drawn on the blocks where it is set, and nowhere far from it.

    ``planes``: full-resolution boolean arrays; ``grey``: display grey per block
    (or a number for a mask drawn alone); ``factor``: block size. Where planes
    overlap, the one with the fewest pixels is expected on top.
    """
    rng = np.random.default_rng(1)
    pooled = {n: block_reduce(p, factor, np.max, cval=False) if factor > 1 else p for n, p in planes.items()}
    top = np.full(next(iter(pooled.values())).shape, "", dtype=object)
    for name in sorted(planes, key=lambda n: -planes[n].sum()):  # the sparsest plane is painted last
        top[pooled[name]] = name
    grey = np.broadcast_to(grey, top.shape)
    for name, plane in pooled.items():
        blend = ALPHA * rgb(colours[name])[None] + (1 - ALPHA) * grey[..., None]
        for where, should_match in ((top == name, True), (ndi.distance_transform_edt(~plane) > far, False)):
            by, bx = np.nonzero(where)
            assert by.size, f"{name}: no block to check"
            pick = rng.choice(by.size, min(samples, by.size), replace=False)
            by, bx = by[pick], bx[pick]
            rows, cols, inner = screen(
                ax, picture.shape[0], bx * factor + (factor - 1) / 2, by * factor + (factor - 1) / 2
            )
            close = np.all(np.abs(picture[rows, cols] - blend[by, bx]) < TOL, axis=1)[inner]
            if should_match:
                assert close.all(), f"{name}: colour missing at {np.count_nonzero(~close)} of {close.size} blocks"
            else:
                assert not close.any(), f"{name}: colour found far from the plane at {np.count_nonzero(close)} blocks"


def tiled(shape_tiles, tile, seed=0):
    """An image constant on tile × tile squares (so a pixel's colour does not depend on sub-pixel rounding)."""
    return np.kron(np.random.default_rng(seed).normal(100, 10, size=shape_tiles), np.ones((tile, tile)))


# -- the pieces ---------------------------------------------------------------------------------------


def test_doc_examples_run():
    for module in (png, layers, panels, figure):
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0, module.__name__


@pytest.mark.parametrize("channels", [1, 3, 4], ids=["grey", "rgb", "rgba"])
def test_png_round_trips_through_an_independent_decoder(channels):
    pixels = np.random.default_rng(2).integers(0, 256, size=(17, 23, channels), dtype=np.uint8)
    pixels = pixels[..., 0] if channels == 1 else pixels
    back = mpimg.imread(io.BytesIO(encode_png(pixels)), format="png")
    np.testing.assert_array_equal(np.round(back * 255).astype(np.uint8), pixels)


def test_png_rejects_what_it_cannot_encode():
    with pytest.raises(TypeError, match="uint8"):
        encode_png(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((2, 2, 2), np.uint8))


def test_pooling_matches_skimage_block_reduce():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(37, 50))
    image[rng.random(image.shape) < 0.1] = np.nan
    sparse = rng.random((37, 50)) < 0.01
    np.testing.assert_array_equal(pool_mean(image, 1), image)
    np.testing.assert_array_equal(pool_any(sparse, 1), sparse)
    for factor in (2, 3, 7):  # partial blocks at the ends: skimage pads with NaN / False
        np.testing.assert_array_equal(pool_any(sparse, factor), block_reduce(sparse, factor, np.max, cval=False))
        with warnings.catch_warnings():  # numpy warns on the all-NaN blocks; both give NaN there
            warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
            expected = block_reduce(image, factor, np.nanmean, cval=np.nan)
        np.testing.assert_allclose(pool_mean(image, factor), expected)


def test_pool_mean_of_an_all_nan_block_is_nan():
    image = np.ones((4, 4))
    image[:2, :2] = np.nan
    np.testing.assert_array_equal(pool_mean(image, 2), [[np.nan, 1.0], [1.0, 1.0]])


def test_pool_factor_keeps_the_longer_side_within_max_size():
    assert pool_factor((1000, 1100), 400) == 3 and math.ceil(1100 / 3) <= 400
    assert pool_factor((4096, 4032), 480) == 9
    with pytest.raises(ValueError, match="max_size"):
        pool_factor((10, 10), 0)


@pytest.mark.parametrize("stretch", ["zscale", "asinh"])
def test_stretch_uses_astropy_limits(stretch):
    image = np.random.default_rng(4).normal(100, 5, size=(60, 80))
    image[10, 10] = 1e5  # a hot pixel must not squash the scale
    np.testing.assert_allclose(stretch_image(image, stretch), reference_grey(image, 1, stretch), atol=1e-12)


def test_stretch_of_a_flat_or_empty_image_is_defined():
    assert np.all(stretch_image(np.full((5, 5), 3.0)) == 0.5)
    out = stretch_image(np.full((3, 3), np.nan))
    assert np.isnan(out).all()
    with pytest.raises(ValueError, match="stretch must be one of"):
        normalizer(np.zeros((2, 2)), "log")


def test_select_planes_defaults_to_planes_with_pixels():
    a = Mask((5, 5), get_schema("rubin"))
    a.set("SAT", (1, 1))
    b = Mask.from_bool(np.eye(5, dtype=bool), "STRIPE")
    assert select_planes([a, None, b]) == [["SAT"], [], ["STRIPE"]]
    assert select_planes([a], "CR,SAT") == [["SAT", "CR"]]  # asked for: drawn even when empty, schema order
    assert select_planes([a, b], "STRIPE") == [[], ["STRIPE"]]  # a plane one mask lacks is skipped there
    with pytest.raises(UnknownPlaneError, match="'NOPE'"):
        select_planes([a, b], "NOPE")


def test_header_parameters_of_the_maximask_reference():
    path = shared_path("maximask", "synth_crop_a.mask.fits.fz")
    header = fits.getheader(path, 1)
    params = header_parameters(header)
    assert params["CR prior, threshold"] == f"{header['CR_PR']}, {header['CR_TH']}" == "0.00, 0.43"
    assert params["BBG prior, threshold"] == "0.10, 0.44"
    assert params["THRESH"].startswith("Yes")
    assert "NAXIS" not in params


# -- pictures of generated images ---------------------------------------------------------------------


def test_each_plane_colour_is_drawn_where_the_plane_is_set(tmp_path):
    image = tiled((12, 16), 10)
    mi = MaskedImage(image, schema=get_schema("rubin"))
    mi.mask.set("SAT", np.s_[20:40, 30:60])
    mi.mask.set("CR", np.s_[70:90, 100:130])
    fig = show_figure(mi, dpi=80)
    picture = save(fig, tmp_path / "a.png")
    assert picture.shape[:2] == tuple(np.round(fig.get_size_inches()[::-1] * 80).astype(int))
    ax = image_axes(fig)[0]
    colours = {"SAT": PALETTE[0], "CR": PALETTE[1]}  # palette order = order of the planes in the schema
    planes = {n: mi.mask.get(n) for n in colours}
    check_planes(ax, picture, planes, colours, reference_grey(image, 1), 1, far=2)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels == ["SAT: 600 px (3.12%)", "CR: 600 px (3.12%)"]  # 20*30 of 120*160 pixels


def test_a_single_masked_pixel_stays_visible_in_a_downsampled_picture(tmp_path):
    image = tiled((50, 60), 40, seed=5)  # 2000 x 2400
    mask = Mask.from_bool(np.zeros(image.shape, bool), "CR")
    mask.set("CR", (1234, 567))
    fig = show_figure(image, mask, panel_size=4, dpi=50, max_size=160)  # 2400 px into 160: 15×15 blocks
    picture = save(fig, tmp_path / "b.png")
    assert "shown in 15×15 blocks" in image_axes(fig)[0].get_title()
    check_planes(
        image_axes(fig)[0], picture, {"CR": mask.get("CR")}, {"CR": PALETTE[0]}, reference_grey(image, 15), 15, far=2
    )


def test_a_grid_of_panels_shares_colours_by_plane_name(tmp_path):
    schema = get_schema("rubin")
    images, masks = [], []
    for k in range(3):
        image = tiled((8, 10), 8, seed=k)
        m = Mask(image.shape, schema)
        m.set("EDGE", np.s_[0:8, :])
        if k != 1:
            m.set("CR", np.s_[32:48, 16 * k + 8 : 16 * k + 24])
        images.append(image)
        masks.append(m)
    fig = show_figure(images, masks, titles=["a", "b", "c"], ncols=2, dpi=60)
    picture = save(fig, tmp_path / "grid.png")
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    assert axes[0].get_position().y0 > axes[2].get_position().y1  # two columns: the third panel is below
    colours = {"CR": PALETTE[0], "EDGE": PALETTE[1]}  # rubin order: CR (bit 3) before EDGE (bit 4)
    for ax, image, m in zip(axes, images, masks):
        planes = {n: m.get(n) for n in colours if m.get(n).any()}
        check_planes(ax, picture, planes, colours, reference_grey(image, 1), 1, far=2)


def test_a_mask_alone_is_drawn_on_a_dark_background(tmp_path):
    m = Mask.from_bool(np.kron(np.eye(4, dtype=bool), np.ones((10, 10), bool)), "BAD")
    fig = show_figure(m, dpi=60)
    picture = save(fig, tmp_path / "alone.png")
    check_planes(image_axes(fig)[0], picture, {"BAD": m.get("BAD")}, {"BAD": PALETTE[0]}, 0.12, 1, far=2)


def test_colours_can_be_chosen_per_plane(tmp_path):
    image = tiled((6, 6), 10)
    m = Mask.from_bool(np.zeros((60, 60), bool), "SAT")
    m.set("SAT", np.s_[20:40, 20:40])
    fig = show_figure(image, m, colors={"sat": "#00ff00"}, dpi=60)
    check_planes(
        image_axes(fig)[0],
        save(fig, tmp_path / "c.png"),
        {"SAT": m.get("SAT")},
        {"SAT": "#00ff00"},
        reference_grey(image, 1),
        1,
        far=2,
    )


def test_panels_refuse_mismatched_masks():
    with pytest.raises(ValueError, match=r"mask shape \(4, 4\) differs from image shape \(5, 5\)"):
        as_panels(np.zeros((5, 5)), np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="2 masks for 3 images"):
        as_panels([np.zeros((2, 2))] * 3, [None, None])


# -- pictures of the reference data --------------------------------------------------------------------


def test_maximask_reference_picture(tmp_path):
    image_path = shared_path("maximask", "synth_crop_a.fits.fz")
    mask_path = shared_path("maximask", "synth_crop_a.mask.fits.fz")
    panel = read_panels(str(image_path), masks=str(mask_path))[0]
    fig = show_figure(panel, max_size=400)  # 1100 px into 400: 3×3 blocks
    picture = save(fig, tmp_path / "maximask.png")
    assert picture.shape[:2] == (round(fig.get_figheight() * 100), round(fig.get_figwidth() * 100))
    # the class maps straight from the cube, not through astromask.io
    cube = fits.getdata(mask_path, 1)
    header = fits.getheader(mask_path, 1)
    classes = [
        c
        for c in ("CR", "HCL", "DCL", "HP", "DP", "P", "TRL", "FR", "NEB", "SAT", "SP", "OV", "BBG")
        if cube[int(header[f"{c}_DIM"])].any()
    ]
    planes = {c: cube[int(header[f"{c}_DIM"])] != 0 for c in classes}
    colours = dict(zip(classes, PALETTE))
    check_planes(image_axes(fig)[0], picture, planes, colours, reference_grey(panel.image, 3), 3)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels[0] == f"CR: {planes['CR'].sum():,} px ({100 * planes['CR'].mean():.3g}%)"
    assert len(labels) == len(classes) == 8


def test_decam_cutout_picture_has_sky_axes(tmp_path):
    path = shared_path("decam", "c4d_170316_062107_ooi_z_ls9.N2.fits")
    dq_path = shared_path("decam", "c4d_170316_062107_ood_z_ls9.N2.fits")
    mi = astromask.read(path)
    fig = show_figure(mi, stretch="asinh", titles=["N2"])
    picture = save(fig, tmp_path / "decam.png")
    ax = image_axes(fig)[0]
    assert isinstance(ax, WCSAxes)
    assert {ax.coords[0].get_axislabel(), ax.coords[1].get_axislabel()} == {"Right ascension", "Declination"}
    # the pixel (x, y) sits at the sky position the file's own WCS gives
    wcs = WCS(fits.getheader(path, 1))
    sky = wcs.pixel_to_world(100, 50)
    assert ax.wcs.world_to_pixel(sky) == pytest.approx((100, 50), abs=1e-6)
    planes = {n: mi.mask.get(n) for n, c in mi.mask.counts().items() if c}
    assert planes, "the DQ mask has planes set"
    assert sum(p.sum() for p in planes.values()) <= np.count_nonzero(fits.getdata(dq_path, 1))
    image = fits.getdata(path, 1).astype(float)
    check_planes(ax, picture, planes, dict(zip(planes, PALETTE)), reference_grey(image, 1, "asinh"), 1)


def m13_frame(k: int):
    """An M13 frame with generated planes: DETECTED (> 5 sigma above the median) and BAD (< 5 sigma below)."""
    image = fits.getdata(shared_path("m13", f"M13_blue_000{k}.fits")).astype(float)
    level = np.median(image)
    sigma = 1.4826 * np.median(np.abs(image - level))
    mask = Mask(image.shape, get_schema("rubin"))
    mask.set("DETECTED", image > level + 5 * sigma)
    mask.set("BAD", image < level - 5 * sigma)
    return image, mask


def block_size(ax) -> int:
    """The block size a panel's title announces (1 when it shows every pixel)."""
    found = re.search(r"shown in (\d+)×\1 blocks", ax.get_title())
    return int(found.group(1)) if found else 1


def test_m13_frames_as_a_grid(tmp_path):
    frames = [m13_frame(k) for k in range(1, 6)]
    fig = show_figure(
        [f[0] for f in frames], [f[1] for f in frames], titles=[f"M13 {k}" for k in range(1, 6)], panel_size=4, dpi=60
    )
    picture = save(fig, tmp_path / "m13.png")
    assert picture.shape[:2] == (round(fig.get_figheight() * 60), round(fig.get_figwidth() * 60))
    axes = image_axes(fig)
    assert len(axes) == 5
    colours = {"BAD": PALETTE[0], "DETECTED": PALETTE[1]}
    for ax, (image, mask) in zip(axes, frames):
        factor = block_size(ax)
        width = ax.get_window_extent().width  # the frames are wider than tall: x needs the larger blocks
        assert width / math.ceil(1392 / factor) >= 1  # a screen pixel or more per block...
        assert width / math.ceil(1392 / (factor - 1)) < 1  # ...with the smallest such blocks
        planes = {n: mask.get(n) for n in colours}
        assert all(p.any() for p in planes.values())
        check_planes(ax, picture, planes, colours, reference_grey(image, factor), factor, samples=150)


# -- the command --------------------------------------------------------------------------------------


def test_show_command_draws_a_maximask_cube_over_its_image(monkeypatch, capsys, tmp_path):
    image = shared_path("m13", "M13_blue_0001.fits")
    cube = shared_path("maximask", "M13_blue_0001.mask.fits.fz")
    out = tmp_path / "m13.png"
    code, _, err = cli(monkeypatch, capsys, "-v", "show", image, "--mask", cube, "-o", out, "--dpi", 60)
    assert code == 0, err
    assert f"wrote {out}" in err and "planes set: CR, DP, SP, BBG" in err
    picture = mpimg.imread(out)[..., :3]
    # the same figure laid out again (not drawn) gives the axes positions in the picture
    panel = read_panels(str(image), masks=str(cube))[0]
    fig = show_figure(panel, dpi=60)
    fig.draw_without_rendering()
    assert picture.shape[:2] == (round(fig.get_figheight() * 60), round(fig.get_figwidth() * 60))
    factor = block_size(image_axes(fig)[0])
    assert factor > 1 and image_axes(fig)[0].get_window_extent().width / math.ceil(1392 / factor) >= 1
    planes = {n: panel.mask.get(n) for n, c in panel.mask.counts().items() if c}
    grey = reference_grey(fits.getdata(image).astype(float), factor)
    check_planes(image_axes(fig)[0], picture, planes, dict(zip(planes, PALETTE)), grey, factor, samples=200)
    code, _, err = cli(monkeypatch, capsys, "show", image, "--mask", cube, "-o", out)
    assert code == 1 and "output file exists" in err and err.count("\n") == 1


def make_files(tmp_path):
    """A two-HDU plain FITS mask file and an afw masked image with WCS."""
    rng = np.random.default_rng(6)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    wcs.wcs.cdelt = [-0.01, 0.01]
    wcs.wcs.crpix = [30, 25]
    mi = MaskedImage(tiled((5, 6), 10, seed=6), schema=get_schema("rubin"), wcs=wcs)
    mi.mask.set("SAT", np.s_[10:20, 10:30])
    afw = tmp_path / "mi.fits"
    astromask.write(mi, afw, format="afw")
    two = tmp_path / "two.fits"
    hdus = [fits.PrimaryHDU()] + [
        fits.ImageHDU((rng.random((50, 60)) < 0.02).astype(np.uint8), name=f"CCD{i}") for i in (1, 2)
    ]
    fits.HDUList(hdus).writeto(two)
    return afw, two, mi


def test_show_command_grid_of_hdus_and_files(monkeypatch, capsys, tmp_path):
    afw, two, _ = make_files(tmp_path)
    out = tmp_path / "grid.png"
    code, _, err = cli(monkeypatch, capsys, "show", two, "--hdu", "all", "-o", out, "--dpi", 40)
    assert code == 0, err
    one = mpimg.imread(out).shape
    code, _, err = cli(monkeypatch, capsys, "show", two, "--hdu", "CCD2", "-o", tmp_path / "one.png", "--dpi", 40)
    assert code == 0, err
    assert one[1] > 1.5 * mpimg.imread(tmp_path / "one.png").shape[1]  # two panels side by side
    panels_read = read_panels(str(two), hdus="all")
    assert [p.title for p in panels_read] == ["two.fits[CCD1]", "two.fits[CCD2]"]
    galactic = read_panels(str(afw))[0]
    assert galactic.celestial_wcs is not None and galactic.mask.counts()["SAT"] == 200
    fig = show_figure(galactic)
    labels = {c.get_axislabel() for c in image_axes(fig)[0].coords}
    assert labels == {"Galactic longitude", "Galactic latitude"}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--planes", "NOPE"], "unknown mask plane 'NOPE'"),
        (["--mask", "MASKFILE", "--mask", "MASKFILE"], "2 --mask files for 1 images"),
        (["--mask", "SMALL"], "mask shape (3, 3) differs from the image's (50, 60)"),
        (["--hdu", "7"], "no HDU 7"),
        (["-o", "out.jpg"], "must end in .png, .pdf or .svg"),
        (["--dpi", "0"], "--dpi must be positive"),
    ],
    ids=["unknown-plane", "mask-count", "mask-shape", "missing-hdu", "format", "dpi"],
)
def test_show_command_errors_are_one_line(monkeypatch, capsys, tmp_path, extra, message):
    afw, two, _ = make_files(tmp_path)
    small = tmp_path / "small.fits"
    fits.PrimaryHDU(np.ones((3, 3), np.uint8)).writeto(small)
    extra = [{"MASKFILE": two, "SMALL": small}.get(e, e) for e in extra]
    extra = [tmp_path / e if str(e).startswith("out.") else e for e in extra]
    output = [] if "-o" in extra else ["-o", tmp_path / "x.png"]
    code, _, err = cli(monkeypatch, capsys, "show", afw, *output, *extra)
    assert code == 1
    assert message in err and err.startswith("astromask show: error:") and err.count("\n") == 1


def test_show_command_never_writes_over_its_input(monkeypatch, capsys, tmp_path):
    afw, _, _ = make_files(tmp_path)
    before = afw.read_bytes()
    code, _, err = cli(monkeypatch, capsys, "show", afw, "-o", afw, "--overwrite")
    assert code == 1 and "is the input file" in err
    assert afw.read_bytes() == before


def test_detect_writes_the_picture_show_draws(tmp_path):
    """One picture path: detect's PNG is show's, so max-pooled planes and the same colours (issue: honest pictures)."""
    from astromask.detect.picture import save_png

    image = tiled((35, 35), 40, seed=3)  # 1400 x 1400, drawn in blocks
    mi = MaskedImage(image, schema=get_schema("rubin"))
    rng = np.random.default_rng(4)
    for y, x in zip(rng.integers(0, 1400, 200), rng.integers(0, 1400, 200)):
        mi.mask.set("CR", (int(y), int(x)))  # 200 isolated pixels
    mi.mask.set("NO_DATA", np.s_[:, :150])
    save_png(mi, tmp_path / "detect.png", title="frame")
    show_figure(mi, titles=["frame"]).savefig(tmp_path / "show.png", format="png")
    assert (tmp_path / "detect.png").read_bytes() == (tmp_path / "show.png").read_bytes()
