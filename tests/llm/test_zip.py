"""Zipped causal LMs: hostile zips refused with their reason and nothing stored; a good one runs.

Every hostile zip is built here with ``zipfile`` from the real tiny GPT-2
folder (``conftest.build_tiny_gpt2``). Each is refused by the library
(``hfzip``), by ``paretoscope profile MODEL.zip`` (exit 2, the message, an
empty store) and leaves nothing where it was unpacked.
"""

from __future__ import annotations

import json
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from paretoscope.cli import main
from paretoscope.core.errors import InputError
from paretoscope.profiling import hfzip
from store import Store


def zip_folder(folder: Path, out: Path, *, top: str = "tiny-gpt2") -> Path:
    """``folder``'s files in ``out`` under ``top/`` (as ``zip -r`` of the folder would)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{top}/{p.relative_to(folder).as_posix()}" if top else p.name)
    return out


def _add(out: Path, name: str | zipfile.ZipInfo, data: bytes = b"x") -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: that is the point
        with zipfile.ZipFile(out, "a") as zf:
            zf.writestr(name, data)


def _traversal(folder: Path, out: Path) -> None:
    zip_folder(folder, out)
    _add(out, "tiny-gpt2/../../evil.txt")


def _absolute(folder: Path, out: Path) -> None:
    zip_folder(folder, out)
    _add(out, "/tmp/evil.txt")


def _drive(folder: Path, out: Path) -> None:
    zip_folder(folder, out)
    _add(out, "C:/evil.txt")


def _symlink(folder: Path, out: Path) -> None:
    zip_folder(folder, out)
    info = zipfile.ZipInfo("tiny-gpt2/vocab.json")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    _add(out, info, b"/etc/passwd")


def _duplicate(folder: Path, out: Path) -> None:
    zip_folder(folder, out)
    _add(out, "tiny-gpt2/config.json", b"{}")


def _pickle(folder: Path, out: Path) -> None:
    zip_folder(folder, out)
    _add(out, "tiny-gpt2/pytorch_model.bin", b"\x80\x04N.")


def _auto_map(folder: Path, out: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilLM"}
    (folder / "config.json").write_text(json.dumps(config))
    zip_folder(folder, out)


def _no_safetensors(folder: Path, out: Path) -> None:
    (folder / "model.safetensors").unlink()
    zip_folder(folder, out)


def _no_config(folder: Path, out: Path) -> None:
    (folder / "config.json").unlink()
    zip_folder(folder, out)


def _not_a_zip(folder: Path, out: Path) -> None:
    out.write_bytes(b"PK\x03\x04 but nothing after the magic")


HOSTILE: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "traversal": (_traversal, "has a '..' component and would be written outside the folder"),
    "absolute": (_absolute, "is an absolute path"),
    "drive": (_drive, "starts with a drive letter"),
    "symlink": (_symlink, "is a symbolic link"),
    "duplicate": (_duplicate, "appears twice"),
    "pickle": (_pickle, "holds pickled weights (tiny-gpt2/pytorch_model.bin)"),
    "auto_map": (_auto_map, "names custom code (auto_map)"),
    "no-safetensors": (_no_safetensors, "has no *.safetensors weights"),
    "no-config": (_no_config, "no config.json at its top"),
    "not-a-zip": (_not_a_zip, "not a readable zip archive"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_zip_is_refused_and_leaves_nothing(
    case: str, tiny_lm: Path, tmp_path: Path
) -> None:
    build, message = HOSTILE[case]
    bad = tmp_path / "model.zip"
    build(tiny_lm, bad)
    dest = tmp_path / "unpacked"
    with pytest.raises(InputError, match=r"^refused model\.zip") as err:
        hfzip.extract_hf_zip(bad, dest)
    assert message in str(err.value)
    assert not dest.exists()
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
    # The browser's check unpacks beside the upload, in its quarantine folder: nothing stays.
    beside = tmp_path / "quarantine"
    beside.mkdir()
    with pytest.raises(InputError, match=r"^refused my model\.zip"):
        hfzip.describe_lm_zip(bad, name="my model.zip", parent=beside)
    assert list(beside.iterdir()) == []


@pytest.mark.parametrize("case", ["traversal", "symlink", "pickle", "auto_map"])
def test_the_cli_refuses_a_hostile_zip_and_stores_nothing(
    case: str, tiny_lm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build, message = HOSTILE[case]
    bad = tmp_path / "model.zip"
    build(tiny_lm, bad)
    db = tmp_path / "store.duckdb"
    argv = ["profile", str(bad), "--task", "causal-lm", "--quick", "--store", str(db)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "paretoscope profile: refused model.zip" in err and message in err
    store = Store(db)
    assert store.runs_frame(status=None).empty
    assert not any((store.files_dir / "artifacts").glob("*"))
    assert not list(store.files_dir.glob("paretoscope-hfzip-*")), "the unpacked copy is gone"


def test_declared_sizes_over_the_limit_are_refused_before_unpacking(
    tiny_lm: Path, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.zip"
    zip_folder(tiny_lm, bomb)
    # A megabyte of zeros deflates to about a kilobyte: a small zip, a large declared size.
    zeros = zipfile.ZipInfo("tiny-gpt2/zeros.txt")
    zeros.compress_type = zipfile.ZIP_DEFLATED
    _add(bomb, zeros, b"\0" * (1 << 20))
    assert bomb.stat().st_size < 300_000
    dest = tmp_path / "unpacked"
    limits = hfzip.ZipLimits(max_unpacked_bytes=1 << 20)
    with pytest.raises(InputError, match=r"declare 1\.2 MB unpacked, over the limit of 1\.0 MB"):
        hfzip.extract_hf_zip(bomb, dest, limits=limits)
    assert not dest.exists()


def test_unpacking_stops_past_the_limit_whatever_the_sizes_declared(
    tiny_lm: Path, tmp_path: Path
) -> None:
    good = zip_folder(tiny_lm, tmp_path / "model.zip")
    dest = tmp_path / "unpacked"
    with zipfile.ZipFile(good) as zf:
        files = hfzip.check_entries(zf, "model.zip")
        # As if the entries had declared a tenth of what they hold.
        with pytest.raises(InputError, match="the zip's sizes are false"):
            hfzip._unpack(zf, files, dest, "model.zip", hfzip.ZipLimits(max_unpacked_bytes=20_000))


def test_too_many_entries_are_refused(tiny_lm: Path, tmp_path: Path) -> None:
    many = zip_folder(tiny_lm, tmp_path / "many.zip")
    with pytest.raises(InputError, match="it has 5 entries, more than the 4"):
        hfzip.extract_hf_zip(many, tmp_path / "u", limits=hfzip.ZipLimits(max_entries=4))


def test_a_good_zip_is_described_and_its_task_inferred(tiny_lm: Path, tmp_path: Path) -> None:
    from measure.llm.load import load_from_folder

    good = zip_folder(tiny_lm, tmp_path / "tiny.zip")
    assert hfzip.is_causal_lm_zip(good)
    flat = zip_folder(tiny_lm, tmp_path / "flat.zip", top="")  # files at the top also work
    info = hfzip.describe_lm_zip(flat)
    assert (info.architecture, info.model_type) == ("GPT2LMHeadModel", "gpt2")
    assert (info.n_layers, info.width, info.vocab_size) == (2, 32, 300)
    # The count read from the safetensors header is the loaded model's (tied weights once).
    model, _ = load_from_folder(tiny_lm)
    assert info.params == sum(p.numel() for p in model.parameters()) > 0
    assert info.n_files == len([p for p in tiny_lm.iterdir() if p.is_file()])


@pytest.mark.slow
def test_profile_a_zip_stores_the_same_model_as_its_folder(
    tiny_lm: Path, eval_text: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = zip_folder(tiny_lm, tmp_path / "tiny.zip")
    db = tmp_path / "store.duckdb"
    common = ["--data", str(eval_text), "--prompt-len", "4", "--gen-len", "2", "--context", "16"]
    # The task is inferred from the config.json inside the zip.
    assert main(["profile", str(good), *common, "--quick", "--store", str(db)]) == 0
    assert main(["profile", str(tiny_lm), *common, "--quick", "--store", str(db)]) == 0, (
        capsys.readouterr().err
    )
    store = Store(db)
    runs = store.runs_frame(status=None)
    assert list(runs["status"]) == ["ok", "ok"]
    assert not list(store.files_dir.glob("paretoscope-hfzip-*")), "the unpacked copy is gone"
    # The same files: one model (its id is the content hash), whichever door they came in by,
    # named after the zip that brought it first.
    assert runs["model_id"].nunique() == 1 and set(runs["model"]) == {"tiny"}
    assert (runs["perplexity"] > 1).all()
