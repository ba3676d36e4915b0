"""The stack pipeline on Dask: every scheduler writes the same bytes as the plain local run."""

import filecmp
import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

import astromask
import astromask.cli
from astromask import MaskedImage, get_schema
from astromask.cli import stack as stack_cli
from astromask.errors import AstromaskError
from astromask.stack import StackConfig, run_stack
from astromask.stack import scheduler as scheduler_module
from astromask.stack.scheduler import Runner

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

CONFIG = StackConfig(
    flag_keys=["BAD", "EDGE"], repeated_flag_keys=["CR"], mask_num_images=2, mask_grow=2, mask_threshold=3.0
)


@pytest.fixture(scope="module")
def stack_files(tmp_path_factory):
    """Eleven afw exposures (more than one reduction fan-in) with random BAD, EDGE and CR; one is dropped."""
    directory = tmp_path_factory.mktemp("stack_in")
    rng = np.random.default_rng(42)
    names = []
    for i in range(11):
        mi = MaskedImage(rng.normal(size=(40, 48)).astype(np.float32), schema=get_schema("rubin"))
        mi.mask.set("BAD", rng.random((40, 48)) < 0.005)
        mi.mask.set("EDGE", np.s_[:, :1])
        mi.mask.set("CR", rng.random((40, 48)) < 0.01)
        if i == 5:
            mi.mask.set("BAD", np.s_[:30])
        names.append(str(directory / f"exp{i:02d}.fits"))
        astromask.write(mi, names[-1], format="afw")
    reference = run_stack(names, directory / "reference", CONFIG)
    return names, reference


def assert_same_run(result, reference):
    for column in reference.table.colnames:
        if column != "output":
            assert result.table[column].tolist() == reference.table[column].tolist(), column
    np.testing.assert_array_equal(result.counts, reference.counts)
    for ours, theirs in zip(result.table["output"], reference.table["output"]):
        assert bool(ours) == bool(theirs)  # dropped images are not written
        assert not ours or filecmp.cmp(ours, theirs, shallow=False), ours
    assert filecmp.cmp(result.paths["global"], reference.paths["global"], shallow=False)


def test_reference_run_has_a_global_mask(stack_files):
    _, reference = stack_files
    counts = reference.counts
    assert counts.max() >= 2 and 0 < reference.global_mask.sum() < 50
    np.testing.assert_array_equal(reference.global_mask, counts >= 2)
    assert reference.table["dropped"].tolist() == [i == 5 for i in range(11)]


@pytest.mark.parametrize(
    "scheduler", ["synchronous", "threads", pytest.param("processes", marks=pytest.mark.slow)]
)  # starts interpreters
def test_local_schedulers_give_identical_outputs(tmp_path, stack_files, scheduler):
    names, reference = stack_files
    assert_same_run(run_stack(names, tmp_path, CONFIG, scheduler=scheduler), reference)


def test_local_cluster_on_loopback(tmp_path, stack_files, monkeypatch, capsys):
    names, reference = stack_files
    monkeypatch.setitem(astromask.cli.COMMANDS, "stack", stack_cli)
    # Worker threads in this process (no start-up of new interpreters), talking real TCP on loopback;
    # dashboard_address ":0" puts the scheduler's HTTP server on any free port (8787 may be taken).
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        assert_same_run(run_stack(names, tmp_path / "api", CONFIG, scheduler=address), reference)
        code = astromask.cli.main(
            [
                "stack",
                *names,
                "--outdir",
                str(tmp_path / "cli"),
                "--scheduler",
                address,
                "--flag-keys",
                "BAD,EDGE",
                "--repeated-flag-keys",
                "CR",
                "--mask-num-images",
                "2",
                "--mask-grow",
                "2",
                "--mask-threshold",
                "3",
            ]
        )
        assert code == 0, capsys.readouterr().err
    table = Table.read(tmp_path / "cli" / "stack_summary.ecsv")
    assert table["n_masked"].tolist() == reference.table["n_masked"].tolist()


def test_errors_in_workers_reach_the_caller(tmp_path, stack_files):
    names, _ = stack_files
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"SIMPLE  = not a fits file")
    with pytest.raises(Exception, match="broken.fits"):
        run_stack([*names[:2], str(broken)], tmp_path / "out", CONFIG, scheduler="threads")


def test_unreachable_scheduler_is_one_clear_error(tmp_path, stack_files, monkeypatch):
    names, _ = stack_files
    monkeypatch.setattr(scheduler_module, "CONNECT_TIMEOUT", "0.5s")
    with pytest.raises(AstromaskError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_stack(names, tmp_path, CONFIG, scheduler="tcp://127.0.0.1:9")


@pytest.mark.parametrize("scheduler", [None, "synchronous", "threads"])
def test_runner_reduce_and_map(scheduler):
    items = list(range(1, 20))  # 19 leaves: a reduction tree of three levels with FAN_IN 8
    with Runner(scheduler) as runner:
        assert runner.reduce(np.square, items, sum) == sum(i * i for i in items)
        assert runner.map(np.multiply, items, 3) == [3 * i for i in items]
    with pytest.raises(ValueError, match="scheduler must be one of"):
        Runner("fastest")


def test_nights_and_whole_images_give_identical_outputs_on_dask(tmp_path):
    """Grouped votes (``group_by = 'night'``) and ``write_images``: the same bytes on every scheduler."""
    rng = np.random.default_rng(7)
    names = []
    for i in range(9):
        mi = MaskedImage(
            rng.normal(size=(30, 36)).astype(np.float32),
            schema=get_schema("rubin"),
            metadata=fits.Header({"MJD-OBS": 60500.1 + i // 3 + 0.01 * i}),  # three nights of three
        )
        mi.mask.set("CR", rng.random((30, 36)) < 0.05)
        names.append(str(tmp_path / f"exp{i}.fits"))
        astromask.write(mi, names[-1], format="afw")
    config = StackConfig(repeated_flag_keys=["CR"], mask_grow=1, group_by="night")
    reference = run_stack(names, tmp_path / "reference", config, write_images=True)
    assert reference.counts.max() <= 3 and reference.global_mask.any()
    for scheduler in ("synchronous", "threads"):
        result = run_stack(names, tmp_path / scheduler, config, scheduler=scheduler, write_images=True)
        assert_same_run(result, reference)
        assert sorted(os.listdir(tmp_path / scheduler)) == sorted(os.listdir(tmp_path / "reference"))
