"""Loading a causal LM: a safe Hugging Face folder loads; custom code and pickles are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from measure.llm.load import check_folder, is_causal_lm_folder, load_from_folder
from paretoscope.cli import main
from paretoscope.core.errors import InputError
from store import Store


def test_a_safetensors_folder_loads_offline(tiny_lm: Path) -> None:
    assert is_causal_lm_folder(tiny_lm)
    model, tokenizer = load_from_folder(tiny_lm)
    assert not model.training
    ids = tokenizer("def f(x): return x", add_special_tokens=False)["input_ids"]
    assert ids and max(ids) < model.config.vocab_size


def _refusal(folder: Path) -> str:
    with pytest.raises(InputError) as info:
        check_folder(folder)
    return str(info.value)


def test_pickled_weights_are_refused(tiny_lm: Path) -> None:
    (tiny_lm / "pytorch_model.bin").write_bytes(b"not even read")
    assert "pickled weights (pytorch_model.bin)" in _refusal(tiny_lm)
    (tiny_lm / "pytorch_model.bin").unlink()
    (tiny_lm / "extra").mkdir()
    (tiny_lm / "extra" / "head.pt").write_bytes(b"x")
    assert "extra/head.pt" in _refusal(tiny_lm)


def test_a_config_naming_custom_code_is_refused(tiny_lm: Path) -> None:
    config = json.loads((tiny_lm / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilLM"}
    (tiny_lm / "config.json").write_text(json.dumps(config))
    msg = _refusal(tiny_lm)
    assert "custom code (auto_map)" in msg and "module:function" in msg


def test_a_folder_without_safetensors_is_refused(tiny_lm: Path) -> None:
    (tiny_lm / "model.safetensors").unlink()
    assert "no *.safetensors weights" in _refusal(tiny_lm)


@pytest.mark.parametrize("spoil", ["bin", "auto_map", "no-safetensors"])
def test_profile_refuses_and_stores_nothing(
    tiny_lm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], spoil: str
) -> None:
    if spoil == "bin":
        (tiny_lm / "pytorch_model.bin").write_bytes(b"x")
    elif spoil == "auto_map":
        config = json.loads((tiny_lm / "config.json").read_text())
        config["auto_map"] = {"AutoModelForCausalLM": "x.Y"}
        (tiny_lm / "config.json").write_text(json.dumps(config))
    else:
        (tiny_lm / "model.safetensors").unlink()
    db = tmp_path / "store.duckdb"
    code = main(["profile", str(tiny_lm), "--task", "causal-lm", "--store", str(db), "--quick"])
    assert code == 2
    assert "paretoscope" in capsys.readouterr().err
    store = Store(db)
    assert store.runs_frame(status=None).empty
    artifacts = store.files_dir / "artifacts"
    assert not artifacts.exists() or not any(artifacts.iterdir())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--prompt-len", "32,128", "--gen-len", "32"],
            "160 is more than the model's 128 positions",
        ),
        (["--prompt-len", "16", "--context", "256"], "use --context 128 or less"),
    ],
)
def test_lengths_past_the_models_positions_are_refused(
    tiny_lm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    # On the H200 a 128-position model asked for 128 + 32 tokens died on a device-side
    # assert; a CPU raised IndexError. Both are bad input, refused before anything runs.
    config = json.loads((tiny_lm / "config.json").read_text())
    config["n_positions"] = 128
    (tiny_lm / "config.json").write_text(json.dumps(config))
    db = tmp_path / "store.duckdb"
    code = main(["profile", str(tiny_lm), "--task", "causal-lm", "--store", str(db), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert says in err, err
    assert Store(db).runs_frame(status=None).empty
