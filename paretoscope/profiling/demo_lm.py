"""The demo's language models (issue 15): plan, train and store the family, and their run specs.

The family (``measure.llm.family``: tiny GPT-2s trained here on Python's
topic documentation with a tokenizer trained here) is measured on the CPU as
causal-LM runs of the same worker path as any profile: each member at fp32
and as its int8 variant (torch.ao dynamic quantization of the linear layers,
applied when the run loads the folder: its own model, the fp32 member its
parent), batch 1, at each of ``LM_PROMPT_LENS`` with ``LM_GEN_LEN`` new
tokens. Every run scores the held-out part of the text itself (perplexity
and next-token accuracy, ``LM_CONTEXT``-token windows): an int8 perplexity
is measured, never copied.

Each trained folder goes into the store's artifact folder
(``artifacts/<sha>.hf``); a member this store already holds (by its recipe
id) is not trained again. Imports neither torch nor transformers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paretoscope.core.progress import run_kind
from paretoscope.core.records import ArtifactRef, DatasetRef, ModelRef, RunSpec, TimingBudget
from paretoscope.core.records import new_run_id as _new_run_id
from paretoscope.profiling.lm_plan import LM_TASK, LM_TRANSFORMATIONS

if TYPE_CHECKING:
    from measure.llm.family import FamilyMember
    from store import Store

__all__ = [
    "LM_BUDGET",
    "LM_CONTEXT",
    "LM_GEN_LEN",
    "LM_PRECISIONS",
    "LM_PROMPT_LENS",
    "LMKey",
    "LMRun",
    "lm_measured_keys",
    "lm_plan",
    "lm_prepare_kinds",
    "lm_run_spec",
    "lm_todo",
    "prepare_lms",
]

LM_PROMPT_LENS: tuple[int, ...] = (16, 64)
LM_GEN_LEN = 16
LM_CONTEXT = 128
LM_PRECISIONS: tuple[str, ...] = ("fp32", "int8")
# A timed call generates LM_GEN_LEN tokens (about 1-2 ms each on a CPU core): the
# window's calls give a hundred or more decode steps, and TPOT's median is over all.
LM_BUDGET = TimingBudget(
    warmup_iters=2, min_iters=5, min_time_s=0.1, max_time_s=0.25, target_ci_rel=0.02
)
LM_RUN_TIMEOUT_S = 120.0

LMKey = tuple[str, str, int, int]  # (model_id, precision, prompt_len, gen_len)


@dataclass(frozen=True)
class LMRun:
    """One planned causal-LM run of the demo (CPU, batch 1, one thread)."""

    member: FamilyMember
    model_id: str  # the fp32 member's id, or its int8 variant's
    precision: str
    prompt_len: int
    gen_len: int = LM_GEN_LEN

    @property
    def key(self) -> LMKey:
        return (self.model_id, self.precision, self.prompt_len, self.gen_len)

    @property
    def kind(self) -> str:
        """The progress kind: LM runs cost more than a classifier's, so they are priced apart."""
        return run_kind("lm", self.precision, 1) + f":p{self.prompt_len}"

    @property
    def label(self) -> str:
        return f"{self.member.name} {self.precision} prompt {self.prompt_len}+{self.gen_len}"


def _text_ids() -> tuple[str, str]:
    """The built-in training text's id and the held-out text's id."""
    from measure.llm.text import builtin_split

    train, heldout = builtin_split()
    return train.dataset_id, heldout.dataset_id


def variant_id(parent_id: str, precision: str) -> str:
    return parent_id if precision == "fp32" else f"{parent_id}-{precision}"


def lm_plan(members: Sequence[FamilyMember]) -> list[LMRun]:
    """Every LM run of the demo, by recipe-derived model id (known without training)."""
    from measure.llm.family import member_id

    if not members:
        return []
    train_id, _ = _text_ids()
    plan = []
    for m in members:
        parent = member_id(m, train_id)
        for precision in LM_PRECISIONS:
            for prompt_len in LM_PROMPT_LENS:
                plan.append(LMRun(m, variant_id(parent, precision), precision, prompt_len))
    return plan


def lm_todo(
    store: Store,
    members: Sequence[FamilyMember],
    budget: TimingBudget,
    threads: int,
    *,
    force: bool = False,
) -> tuple[list[LMRun], list[LMRun]]:
    """Every planned LM run, and those this host has yet to measure (all with ``force``)."""
    from measure.devices import host_info

    runs = lm_plan(members)
    if force or not runs:
        return runs, list(runs)
    done = lm_measured_keys(store, host_info().host_id, budget, threads)
    return runs, [r for r in runs if r.key not in done]


def lm_prepare_kinds(members: Sequence[FamilyMember]) -> list[str]:
    """The preparation steps: the tokenizer, then training each member."""
    return ["tokenizer:lm", *("train:lm" for _ in members)] if members else []


def lm_measured_keys(store: Store, host_id: str, budget: TimingBudget, threads: int) -> set[LMKey]:
    """LM runs this host has measured ``ok`` for the demo, at least ``budget``, ``threads``."""
    frame = store.runs_frame(status="ok")
    if frame.empty:
        return set()
    mine = frame[
        (frame["host_id"] == host_id)
        & (frame["model_source"] == "demo")
        & (frame["threads"] == threads)
        & (frame["device"] == "cpu")
    ]
    keys: set[LMKey] = set()
    for rec in store.records(mine["run_id"].tolist()):
        s = rec.spec
        if s.model.task != LM_TASK:
            continue
        if s.budget.max_time_s * max(s.repeats, 1) >= budget.max_time_s * (1 - 1e-9):
            dims = s.dims
            keys.add((s.model.model_id, s.precision, int(dims["prompt_len"]), int(dims["gen_len"])))
    return keys


@dataclass(frozen=True)
class PreparedLM:
    """A trained member in the store: its fp32 model, its folder, its int8 variant."""

    parent: ModelRef
    artifact: ArtifactRef
    int8: ModelRef


def _stored_folder(store: Store, model_id: str) -> ArtifactRef | None:
    """The folder of ``model_id`` this store already holds (from an earlier run), if any."""
    frame = store.runs_frame(status=None)
    if frame.empty or "model_id" not in frame.columns:
        return None
    ids = frame[frame["model_id"] == model_id]["run_id"].tolist()[:1]
    for rec in store.records(ids):
        art = rec.spec.artifact
        if art.format == "hf-causal-lm" and Path(art.path).is_dir():
            return art
    return None


def _refs(member: FamilyMember, parent_id: str, params: int | None) -> tuple[ModelRef, ModelRef]:
    parent = ModelRef(
        model_id=parent_id,
        name=member.name,
        family="tiny-lm",
        task=LM_TASK,
        params=params,
        source="demo",
        description=member.describe(),
    )
    int8 = ModelRef(
        model_id=variant_id(parent_id, "int8"),
        name=f"{member.name}-int8",
        family="tiny-lm",
        task=LM_TASK,
        parent_model_id=parent_id,
        transformation=LM_TRANSFORMATIONS["int8"],
        params=params,
        source="demo",
        description=f"{member.name} with torch.ao int8 dynamic quantization of every linear "
        "layer, applied when the run loads the folder",
    )
    return parent, int8


def _params(folder: Path) -> int | None:
    """Parameters of a stored member, from the ``training.json`` written beside it."""
    import json

    try:
        facts = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    params = facts.get("params") if isinstance(facts, dict) else None
    return params if isinstance(params, int) else None


def prepare_lms(
    store: Store,
    members: Sequence[FamilyMember],
    workdir: Path,
    on_step: Callable[[str], None],
) -> tuple[DatasetRef | None, dict[str, PreparedLM]]:
    """Store the held-out text and each member's folder (trained here unless stored); by name.

    ``on_step`` is called after the tokenizer and after each member, whether
    trained now or found in the store, so the demo's step count stays true.
    """
    from measure.llm.family import member_id, train_family
    from measure.llm.text import builtin_split
    from paretoscope.profiling.lm_plan import _folder_sha256, _store_folder

    if not members:
        return None, {}
    train, heldout = builtin_split()
    text_file = workdir / "lm-heldout.txt"
    text_file.write_text(heldout.text, encoding="utf-8")
    sha, stored = store.put_file(text_file, "datasets", ".txt")
    dataset = DatasetRef(
        dataset_id=heldout.dataset_id,
        name=heldout.name,
        split="text",
        path=str(stored),
        n_samples=len(heldout.text),
        sha256=sha,
        source="builtin (Python's pydoc_data.topics, held-out part; n_samples counts characters)",
    )
    ids = {m.name: member_id(m, train.dataset_id) for m in members}
    found = {m.name: _stored_folder(store, ids[m.name]) for m in members}
    missing = tuple(m for m in members if found[m.name] is None)
    started = time.monotonic()
    if not missing:
        on_step("tokenizer: every language model is already in the store")
    trained = {m.name: folder for m, folder, _ in train_family(workdir / "lm", missing, on_step)}
    out: dict[str, PreparedLM] = {}
    for m in members:
        art = found[m.name]
        if art is None:
            folder_sha, size, files = _folder_sha256(trained[m.name])
            path = _store_folder(store, trained[m.name], folder_sha, files)
            art = ArtifactRef(folder_sha, "hf-causal-lm", str(path), size)
        else:
            on_step(f"{m.name}: already in the store ({time.monotonic() - started:.1f} s)")
        parent, int8 = _refs(m, ids[m.name], _params(Path(art.path)))
        out[m.name] = PreparedLM(parent, art, int8)
    return dataset, out


def lm_run_spec(
    run: LMRun,
    prepared: dict[str, PreparedLM],
    dataset: DatasetRef | None,
    budget: TimingBudget,
    threads: int,
    new_run_id: Callable[[], str] = _new_run_id,
) -> RunSpec:
    """The spec of one planned LM run on its prepared member."""
    p = prepared[run.member.name]
    return RunSpec(
        run_id=new_run_id(),
        model=p.parent if run.precision == "fp32" else p.int8,
        artifact=p.artifact,
        runtime="torch",
        device="cpu",
        precision=run.precision,
        batch_size=1,
        threads=threads,
        dataset=dataset,
        budget=budget,
        dims={"prompt_len": run.prompt_len, "gen_len": run.gen_len, "context": LM_CONTEXT},
        timeout_s=LM_RUN_TIMEOUT_S,
    )
