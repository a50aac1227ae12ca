"""Benchmark: train the demo's tiny language models and score them, with the time each takes.

Trains the byte-level BPE tokenizer on the built-in text's training part
(``measure.llm.text``), then each model of ``measure.llm.tiny.TINY_LMS``
with the default ``TinyTrainConfig`` (a few hundred AdamW steps on 2
threads, stopped by its time budget if that comes first), and scores the
untrained and the trained model on the held-out part
(``measure.llm.quality.score_text``, context 128). Reported per model:
steps taken, training seconds, why training stopped, the held-out
perplexity before and after, next-token accuracy and scoring seconds,
with the machine's load average before and after.

Goal (issue 15): the smallest model trains in at most 20 s on 2 cores.

Run from the repository root:

    PYTHONPATH=. python benchmarks/tiny_lms.py [--threads 2] [--budget-s 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=20.0)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from measure.llm.quality import score_text, tokenize_text
    from measure.llm.text import builtin_split
    from measure.llm.tiny import (
        TINY_LMS,
        TinyTrainConfig,
        build_model,
        build_tiny_lm,
        train_tokenizer,
    )

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    train, heldout = builtin_split()
    config = replace(TinyTrainConfig(), threads=args.threads, budget_s=args.budget_s)
    start = time.perf_counter()
    tokenizer = train_tokenizer(train.text, config.vocab_size)
    tokenizer_s = time.perf_counter() - start
    train_ids = tokenize_text(tokenizer, train.text)
    heldout_ids = tokenize_text(tokenizer, heldout.text)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in TINY_LMS:
            untrained = build_model(spec, len(tokenizer), config.context, config.seed)
            before = score_text(untrained, heldout_ids, args.context)
            report = build_tiny_lm(spec, Path(tmp) / spec.name, tokenizer, train_ids, config)
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(
                Path(tmp) / spec.name, local_files_only=True
            )
            t0 = time.perf_counter()
            after = score_text(model, heldout_ids, args.context)
            rows.append(
                {
                    "model": spec.name,
                    "params": sum(p.numel() for p in model.parameters()),
                    "steps": report.steps,
                    "train_s": round(report.seconds, 1),
                    "stopped": report.stopped,
                    "ppl_untrained": round(before.perplexity, 1),
                    "ppl_trained": round(after.perplexity, 1),
                    "next_token_accuracy": round(after.next_token_accuracy, 3),
                    "score_s": round(time.perf_counter() - t0, 2),
                }
            )
            print(rows[-1], flush=True)
    result = {
        "threads": args.threads,
        "budget_s": args.budget_s,
        "tokenizer_s": round(tokenizer_s, 2),
        "train_tokens": len(train_ids),
        "heldout_tokens": len(heldout_ids),
        "heldout_dataset_id": heldout.dataset_id,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "models": rows,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "models"}))
    header = ["model", "params", "steps", "train s", "stopped", "ppl untrained"]
    header += ["ppl trained", "next-token acc", "score s"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for r in rows:
        print("| " + " | ".join(str(v) for v in r.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
