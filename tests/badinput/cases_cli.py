"""Options out of range, outputs that cannot be written, folders that must not be overwritten:
every command refuses them before any work, with the option (or path) and the reason, exit 2."""

from harness import Case, copy_into, shared, small_table, tiny_world


def _table(folder):
    return str(copy_into(shared("table", small_table), folder))


def _world(folder):
    return str(copy_into(shared("world", tiny_world), folder))


def _text(folder):
    (folder / "a.txt").write_text("a red circle", encoding="utf-8")
    return "a.txt"


def table_case(id, command, *options, says, keeps=()):
    """``mmstudio COMMAND table.parquet OPTIONS``."""
    return Case(id, lambda f: [command, _table(f), *options], says=says, keeps=keeps)


def _demo_make_file(folder):
    (folder / "world").write_text("not a folder")
    return ["demo", "make", "world", "--n", "2"]


def _demo_make_not_empty(folder):
    (folder / "world").mkdir()
    (folder / "world" / "notes.txt").write_text("mine")
    return ["demo", "make", "world", "--n", "2"]


def _demo_train_out_file(folder):
    (folder / "model").write_text("not a folder")
    return ["demo", "train", "--out", "model", "--steps", "1"]


def _attend(*out_and_options, media="image"):
    def build(folder):
        world = _world(folder)
        path = f"{world}/scene_00000.png" if media == "image" else f"{world}/scene_00000.wav"
        return ["attend", path, "--text", "a red circle", *out_and_options]
    return build


def _attend_out_folder(folder):
    (folder / "maps.png").mkdir()
    return _attend("--out", "maps.png")(folder)


def _loud_wav(folder):
    """A float WAV of 1e30 samples: finite, but the model's numbers overflow (NaN map)."""
    import numpy as np
    import soundfile as sf

    signs = np.sign(np.sin(np.arange(16000) / 3.0)).astype(np.float32)
    sf.write(folder / "loud.wav", 1e30 * signs, 16000, subtype="FLOAT")
    return ["attend", "loud.wav", "--text", "a beep", "--out", "map.png"]


def _embed_out_folder(folder):
    (folder / "out.parquet").mkdir()
    return ["embed", _text(folder), "--out", "out.parquet"]


READ_ONLY = "/sys/mmstudio-badinput"  # sysfs: no new files, even for root (os.access says yes there)

CASES = [
    # --- values out of range, refused while parsing (item 11)
    Case("demo-make-file", _demo_make_file, says=("world is a file",), keeps=("world",)),
    Case("demo-make-not-empty", _demo_make_not_empty, says=("world is not empty", "--force"),
         keeps=("world/notes.txt", "world/manifest.csv")),
    Case("demo-make-seed-negative", lambda f: ["demo", "make", "w", "--seed", "-1"], says=("--seed", "-1"), keeps=("w",)),
    Case("demo-make-n-zero", lambda f: ["demo", "make", "w", "--n", "0"], says=("--n", "0"), keeps=("w",)),
    Case("demo-make-corrupt-nan", lambda f: ["demo", "make", "w", "--corrupt", "image=nan"], says=("--corrupt",),
         keeps=("w",)),
    Case("demo-train-steps-negative", lambda f: ["demo", "train", "--out", "m", "--steps", "-1"], says=("--steps",),
         keeps=("m",)),
    Case("demo-train-scenes-zero", lambda f: ["demo", "train", "--out", "m", "--scenes", "0"], says=("--scenes",),
         keeps=("m",)),
    Case("demo-train-out-file", _demo_train_out_file, says=("model is a file",), keeps=("model",)),
    Case("embed-workers-negative", lambda f: ["embed", _text(f), "--out", "o.parquet", "--workers", "-1"],
         says=("--workers", "-1"), keeps=("o.parquet",)),
    Case("embed-batch-size-zero", lambda f: ["embed", _text(f), "--out", "o.parquet", "--batch-size", "0"],
         says=("--batch-size",), keeps=("o.parquet",)),
    Case("embed-gpus-per-worker-nan", lambda f: ["embed", _text(f), "--out", "o", "--engine", "ray",
                                                 "--gpus-per-worker", "nan"], says=("--gpus-per-worker",), keeps=("o",)),
    table_case("align-temperature-inf", "align", "--temperature", "inf", says=("--temperature", "inf")),
    table_case("align-temperature-zero", "align", "--temperature", "0", says=("--temperature",)),
    table_case("align-margin-nan", "align", "--margin", "nan", says=("--margin", "nan")),
    table_case("align-seed-negative", "align", "--seed", "-1", says=("--seed",)),
    table_case("fuse-noise-inf", "fuse", "--label", "label", "--noise", "image=inf", says=("--noise", "inf")),
    table_case("fuse-missing-nan", "fuse", "--label", "label", "--missing", "text=nan", says=("--missing", "nan")),
    table_case("fuse-noise-twice", "fuse", "--label", "label", "--noise", "image=0.1,image=0.2",
               says=("--noise", "given twice")),
    table_case("fuse-gate-above-one", "fuse", "--label", "label", "--gate", "2", says=("--gate",)),
    table_case("fuse-dropout-one", "fuse", "--label", "label", "--dropout", "1", says=("--dropout",)),
    table_case("fuse-seed-negative", "fuse", "--label", "label", "--seed", "-1", says=("--seed",)),
    table_case("fuse-modalities-twice", "fuse", "--label", "label", "--modalities", "image,image",
               says=("--modalities image,image", "given twice")),
    Case("embed-model-empty", lambda f: ["embed", _text(f), "--out", "o.parquet", "--model", ""],
         says=("--model", "empty"), keeps=("o.parquet",)),
    Case("attend-word-empty", _attend("--out", "m.png", "--word", ""), says=("--word", "empty"), keeps=("m.png",)),
    Case("screenshot-query-empty", lambda f: ["screenshot", "s.png", "--query", " "], says=("--query", "empty"),
         keeps=("s.png",)),
    Case("principles-epochs-zero", lambda f: ["principles", "dominance", "--epochs", "0"], says=("--epochs",)),
    Case("principles-alpha-nan", lambda f: ["principles", "dominance", "--alpha", "nan"], says=("--alpha", "nan")),
    Case("principles-alpha-negative", lambda f: ["principles", "dominance", "--alpha", "-1"], says=("--alpha",)),
    Case("principles-modalities-same", lambda f: ["principles", "dominance", "--modalities", "image,image"],
         says=("--modalities", "two names of different")),
    Case("principles-modalities-unknown", lambda f: ["principles", "dominance", "--modalities", "image,smell"],
         says=("--modalities", "smell")),
    Case("principles-seed-negative", lambda f: ["principles", "redundancy", "--seed", "-1"], says=("--seed",)),
    Case("principles-means-nan", lambda f: ["principles", "poe-moe", "--means", "nan,1"], says=("--means", "nan")),
    Case("principles-unknown", lambda f: ["principles", "telepathy"], says=("telepathy",)),
    Case("principles-table-unused", lambda f: ["principles", "late-fusion", "--table", _table(f)],
         says=("late-fusion does not use --table",)),
    Case("principles-option-unused", lambda f: ["principles", "poe-moe", "--alpha", "3", "--seed", "2"],
         says=("poe-moe does not use --seed or --alpha",)),
    Case("principles-seed-huge", lambda f: ["principles", "dominance", "--seed", str(2**70)], says=("--seed",)),
    Case("principles-other-missing", lambda f: ["principles", "broken-assumptions", "--part", "procrustes", "--table",
                                                _table(f), "--other", "nope.parquet"], says=("--other", "nope.parquet")),
    Case("principles-other-unused", lambda f: ["principles", "broken-assumptions", "--part", "independence",
                                               "--other", _table(f)],
         says=("broken-assumptions --part independence does not use --other",)),
    Case("principles-other-few-matches", lambda f: ["principles", "broken-assumptions", "--part", "procrustes",
                                                    "--table", _table(f), "--other", _table(f)],
         says=("--other", "only 24 sample ids match", "need at least 50")),
    table_case("project-neighbors-zero", "project", "--out", "o.parquet", "--neighbors", "0",
               says=("--neighbors",), keeps=("o.parquet",)),
    table_case("project-min-dist-nan", "project", "--out", "o.parquet", "--min-dist", "nan",
               says=("--min-dist", "nan"), keeps=("o.parquet",)),
    table_case("project-epochs-negative", "project", "--out", "o.parquet", "--epochs", "-5",
               says=("--epochs",), keeps=("o.parquet",)),
    table_case("project-seed-negative", "project", "--out", "o.parquet", "--seed", "-1",
               says=("--seed",), keeps=("o.parquet",)),
    table_case("project-landmarks-few", "project", "--out", "o.parquet", "--landmarks", "5",
               says=("--landmarks", "10 or more"), keeps=("o.parquet",)),
    table_case("export-tile-zero", "export", "--out", "tb", "--tile", "0", says=("--tile",), keeps=("tb",)),
    Case("screenshot-size-zero", lambda f: ["screenshot", "s.png", "--size", "0x0"], says=("--size", "0x0"),
         keeps=("s.png",)),
    Case("screenshot-size-garbage", lambda f: ["screenshot", "s.png", "--size", "big"], says=("--size",),
         keeps=("s.png",)),
    Case("screenshot-timeout-nan", lambda f: ["screenshot", "s.png", "--timeout", "nan"], says=("--timeout",),
         keeps=("s.png",)),
    Case("attend-opacity-above-one", _attend("--out", "m.png", "--opacity", "5"), says=("--opacity", "5"),
         keeps=("m.png",)),
    Case("attend-opacity-negative", _attend("--out", "m.png", "--opacity", "-1"), says=("--opacity",),
         keeps=("m.png",)),
    Case("attend-opacity-nan", _attend("--out", "m.png", "--opacity", "nan"), says=("--opacity", "nan"),
         keeps=("m.png",)),
    Case("attend-text-empty", lambda f: ["attend", "x.png", "--text", "", "--out", "m.png"], says=("--text", "empty"),
         keeps=("m.png",)),
    Case("attend-text-blank", lambda f: ["attend", "x.png", "--text", "   ", "--out", "m.png"], says=("--text",),
         keeps=("m.png",)),
    Case("attend-layer-negative", _attend("--out", "m.png", "--layer", "-1"), says=("--layer",), keeps=("m.png",)),
    Case("attend-layer-beyond", _attend("--out", "m.png", "--layer", "99"), says=("--layer", "99"), keeps=("m.png",)),
    Case("embed-nothing-to-embed", lambda f: ["embed", "gone.txt", "--out", "o.parquet"], codes=(1,),
         says=("gone.txt", "no such file", "o.parquet not written"), keeps=("o.parquet",)),
    # --- outputs that cannot be written, refused before the work (items 3, 9)
    Case("attend-out-unknown-suffix", _attend("--out", "map.xyz"), says=("map.xyz", ".xyz"), keeps=("map.xyz",)),
    Case("attend-out-no-suffix", _attend("--out", "map"), says=("map", "no extension"), keeps=("map",)),
    Case("attend-out-folder", _attend_out_folder, says=("maps.png is a folder",), keeps=("maps.png",)),
    Case("attend-out-missing-parent", _attend("--out", "nowhere/map.png"), says=("nowhere", "does not exist"),
         keeps=("nowhere",)),
    Case("attend-out-read-only", _attend("--out", f"{READ_ONLY}-map.png"), says=("cannot write in /sys",)),
    Case("attend-wav-1e30", _loud_wav, says=("loud.wav", "not finite"), keeps=("map.png",)),
    Case("embed-out-folder", _embed_out_folder, says=("out.parquet is a folder",), keeps=("out.parquet",)),
    Case("embed-out-read-only", lambda f: ["embed", _text(f), "--out", f"{READ_ONLY}/o.parquet"],
         says=("cannot write in /sys",)),
    Case("embed-out-suffix", lambda f: ["embed", _text(f), "--out", "o.json"], says=("o.json", ".parquet"),
         keeps=("o.json",)),
    table_case("project-out-read-only", "project", "--out", f"{READ_ONLY}/o.parquet", says=("cannot write in /sys",)),
    table_case("export-out-read-only", "export", "--out", f"{READ_ONLY}/tb", says=("cannot write in /sys",)),
    table_case("export-csv-out-folder", "export", "--format", "csv", "--out", ".", says=("is a folder",)),
    Case("demo-make-read-only", lambda f: ["demo", "make", f"{READ_ONLY}/w", "--n", "2"], says=("cannot write in /sys",)),
]
