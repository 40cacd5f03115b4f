"""The built-in model before and after an aligner, compared on samples the aligner never saw, through
the Python API. A notebook as a script: each ``# %%`` is a cell (VS Code, Jupytext and Spyder run them
one by one).

    python examples/compare_two_models.py [OUT_FOLDER]

With OUT_FOLDER, the two tables are written there (before.parquet, after.parquet) with the comparison
as JSON (compare.json): ``mmstudio compare OUT/before.parquet OUT/after.parquet`` prints the same
numbers, and ``mmstudio OUT/after.parquet`` opens the window on the aligned table.
"""

# %% A small demo world (shapes seen, heard and described), embedded with the built-in model
import sys
import tempfile
from pathlib import Path

import mmstudio
from mmstudio.demo.make import make_world

scratch = Path(tempfile.mkdtemp(prefix="mmstudio-example-"))
table = mmstudio.embed(make_world(scratch / "world", n=100, seed=5))
print(f"{len(table)} rows ({', '.join(table.modalities)}), {table.dim}-d, model {table.model}, "
      f"{len(table.errors)} skipped")

# %% An aligner image -> text, trained on half of the samples; the other half is held out
aligner = mmstudio.train_aligner(table, "image", "text", steps=200, test_fraction=0.5, seed=0)
print(aligner)

# %% The two tables on the held-out samples only: numbers on the training samples would say how well
# the head fits them, not whether it aligns images with their captions any better
before = aligner.held_out(table)
after = aligner.held_out(aligner.apply(table))
report = mmstudio.compare(before, after)   # print(report) shows what `mmstudio compare` prints

# %% What changed: every retrieval number with its paired-bootstrap interval of after - before
changed = []
for pair in report["pairs"]:
    for r in pair["retrieval"]:
        for metric in ("R@1", "mAP@10"):
            d = r["difference"][metric]
            flag = "  <- the interval excludes 0" if d["excludes_0"] else ""
            print(f"{r['query']:>5} -> {r['gallery']:<5} {metric:<6} before {r['A'][metric]:.3f}  after "
                  f"{r['B'][metric]:.3f}  after - before {d['value']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]{flag}")
            if d["excludes_0"]:
                changed.append(f"{r['query']} -> {r['gallery']} {metric} {d['value']:+.3f}")
image = next(m for m in report["modalities"] if m["modality"] == "image")
print(f"image space: linear CKA before vs after {image['cka']['value']:.3f} (shuffled: "
      f"{image['cka']['permuted_mean']:.3f}); 10-NN Jaccard {image['neighbours']['mean_jaccard']:.3f}")
held = report["matched"]["samples"]
print(f"changed on {held} held-out samples (95 % interval excluding 0): {', '.join(changed)}" if changed else
      f"no retrieval number changed on {held} held-out samples (every 95 % interval contains 0)")

# %% Keep the tables for the command line and the window (mmstudio.show(after) opens it from here)
if len(sys.argv) > 1:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    before.write(out / "before.parquet")
    after.write(out / "after.parquet")
    (out / "compare.json").write_text(report.to_json(), encoding="utf-8")
    print(f"-> {out / 'before.parquet'}, {out / 'after.parquet'}, {out / 'compare.json'}")
