#!/usr/bin/env python
"""Publish the seed table of ``rlcore pipeline --seeds``: the lessons read it, the results page shows it.

    rlcore pipeline --profile tiny --seeds 0,1,2 --out runs/seeds     # about 10 minutes a seed on 2 CPU cores
    python scripts/publish_seeds.py runs/seeds --host "2-core AMD EPYC, 24 GiB"

copies ``runs/seeds/seeds.json`` to ``rlcore/assets/seeds/<profile>.json`` (what ``rlcore.readings.seed_spread``
reads, so a lesson can say whether a difference it prints lies within the seed spread) and writes
``course/results.md`` from it: the date and host of the runs, the table of every figure as mean +- sd with the
value of each seed, and the head-to-head comparisons read by ``rlcore.readings``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from rlcore.pipeline import seed_table_md  # noqa: E402
from rlcore.readings import SPREAD_SDS, SEED_TABLES, percent  # noqa: E402

KEY_FIGURES = ("win_rate.rlhf_vs_sft", "win_rate.rlaif_vs_sft", "win_rate.rlaif_vs_rlhf", "win_rate.hybrid_vs_sft",
               "win_rate.dpo_vs_sft", "win_rate.dpo_vs_rlhf", "win_rate.grpo_vs_sft", "win_rate.grpo_vs_rlhf",
               "win_rate.rlvr_vs_sft", "win_rate.rlvr_vs_grpo")


def results_page(table: dict, host: str) -> str:
    figures = table["figures"]
    lines = ["# Results: the pipeline on several seeds", "",
             f"Measured on {table['date']}, on {host}, with the default profile `{table['profile']}` "
             f"(`rlcore pipeline --profile {table['profile']} --seeds {','.join(map(str, table['seeds']))}`): the whole "
             "table of runs once per seed (the seed draws the data, the samples and the training order, and the held-out "
             "prompts), every figure judged by the world's gold judge.",
             "", "A single run of a noisy world is a claim about its seed. The lessons print one run (seed 0) and read "
             f"each difference they print against this table: a difference within {SPREAD_SDS:g} standard deviations "
             "of the same figure across seeds lies *within the seed spread*.", "",
             "## The head-to-head comparisons", "", "| comparison | mean ± sd | per seed |", "| --- | --- | --- |"]
    for name in KEY_FIGURES:
        if name in figures:
            f = figures[name]
            a, b = name.removeprefix("win_rate.").split("_vs_")
            lines.append(f"| {a.upper()} vs {b.upper()} | {percent(f['mean'])} ± {percent(f['sd'])} | "
                         + ", ".join(percent(v) for v in f["values"]) + " |")
    lines += ["", "## Every figure", "", seed_table_md(table).split("\n", 4)[4]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="the --out folder of `rlcore pipeline --seeds`")
    parser.add_argument("--host", required=True, help="the machine the runs were measured on, in words")
    args = parser.parse_args(argv)
    with open(os.path.join(args.folder, "seeds.json")) as f:
        table = json.load(f)
    table["host"] = args.host
    os.makedirs(SEED_TABLES, exist_ok=True)
    with open(os.path.join(SEED_TABLES, f"{table['profile']}.json"), "w") as f:
        json.dump(table, f, indent=1)
    with open(os.path.join(ROOT, "course", "results.md"), "w") as f:
        f.write(results_page(table, args.host))
    print(f"published {len(table['figures'])} figures over seeds {table['seeds']}: "
          f"rlcore/assets/seeds/{table['profile']}.json and course/results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
