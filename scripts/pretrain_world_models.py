#!/usr/bin/env python
"""Build the shipped tiny models: a BPE tokenizer and two GPT-Neo models pretrained on the world corpus.

    python scripts/pretrain_world_models.py                  # writes rlcore/assets/{tiny,tiny-labeler}
    python scripts/pretrain_world_models.py --out /tmp/assets --tiny-steps 50 --labeler-steps 50

Both models are pretrained on the world's web text (``rlcore.world.corpus``), then the labeler is
tuned into a judge on ``--judgements`` comparisons of train prompts with gold's verdict (the loss on the
verdict token only: ``rlcore.sft.train_sft`` with the labeler text as prompt and "1" / "2" as response),
as RLAIF's labelers are instruction-tuned LLMs; ``tiny`` stays a plain pretrained model.

Deterministic under --seed on CPU (same torch build, same thread count). Prints the CPU time of each
model. The models are saved as float16 safetensors (upcast to float32 on load) to keep the wheel small.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from rlcore.builders import train_bpe_tokenizer
from rlcore.pretrain import ARCHS, SHIPPED_LR, pretrain, save_shipped
from rlcore.config import SFTConfig
from rlcore.sft import train_sft
from rlcore.world import corpus


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "rlcore", "assets"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--documents", type=int, default=60000)
    parser.add_argument("--vocab-size", type=int, default=2048)
    parser.add_argument("--tiny-steps", type=int, default=2000)
    parser.add_argument("--labeler-steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (fixed for determinism)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: per model)")
    parser.add_argument("--only", choices=sorted(ARCHS), nargs="*", default=["tiny", "tiny-labeler"])
    parser.add_argument("--judgements", type=int, default=12000, help="the labeler's tuning comparisons")
    parser.add_argument("--judge-lr", type=float, default=3e-4, help="the labeler's tuning learning rate")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    start = time.time()
    docs = corpus.corpus(args.documents, seed=args.seed)
    tokenizer = train_bpe_tokenizer(docs, vocab_size=args.vocab_size)
    print(f"corpus: {len(docs)} documents, tokenizer: {len(tokenizer)} tokens ({time.time() - start:.1f}s)")
    steps = {"tiny": args.tiny_steps, "tiny-labeler": args.labeler_steps}
    for arch in args.only:
        lr = args.lr or SHIPPED_LR.get(arch, 1e-3)
        model, info = pretrain(tokenizer, docs, arch=arch, steps=steps[arch], batch_size=args.batch_size,
                               lr=lr, seed=args.seed)
        info["lr"] = lr
        info.update(arch=arch, seed=args.seed, documents=args.documents, steps=steps[arch], batch_size=args.batch_size,
                    torch=torch.__version__, threads=args.threads)
        if arch == "tiny-labeler":
            t = time.process_time()
            texts, verdicts = corpus.judgements(args.judgements, seed=args.seed)
            losses = train_sft(model, tokenizer, texts, verdicts,
                               SFTConfig(batch_size=args.batch_size, lr=args.judge_lr), seed=args.seed)
            info["judge_tuning"] = {"comparisons": args.judgements, "lr": args.judge_lr, "final_loss": losses[-1],
                                    "cpu_seconds": round(time.process_time() - t, 1)}
        save_shipped(model, tokenizer, os.path.join(args.out, arch), info)
        print(f"{arch}: {info['parameters']:,} parameters, final loss {info['loss'][-1][1]}, "
              f"CPU time {info['cpu_seconds']}s")
        print(json.dumps(info["loss"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
