"""Encoding speed: mmstudio's batched, overlapped pipeline vs a naive one-file-at-a-time loop.

Same files, same model, one run. Each path runs in a fresh process with the environment its
user would have: the naive loop with Python's defaults, the pipeline as ``mmstudio`` starts
it (``OMP_WAIT_POLICY=PASSIVE``, see ``mmstudio/__main__.py``). The naive loop is what one
writes first with transformers: open, process, ``get_image_features``, per file, under
``torch.inference_mode``. The model is a small CLIP-shaped one (224 px, 32 px patches; width
and depth set by ``--width``/``--layers``) with random weights, built offline.

A second measurement re-opens N cached embeddings against encoding them from scratch.

A third (``--sources N``, 0 to skip) reads the same N images and captions from three sources: the
files, WebDataset tar shards and a Hugging Face Parquet dataset (Image + caption columns) that
hold the same bytes. Decode only (every item decoded one after the other, as one decoding thread
of the pipeline does) and end to end (listing + ``embed_dataset``, no cache), in rounds that
alternate the sources; the best round of each, and the ratio to the files.

    python benchmarks/encode.py [--images 2000] [--width 256 --layers 4] [--cached 10000] [--sources 500]
                                [--device auto|cpu|cuda] [--precision auto|fp32|fp16|bf16]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the offline checkpoint builder


def photo_like(rng, size=(640, 480)):
    """A smooth background, a few shapes and mild noise: compresses and decodes like a photo."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    gy, gx = np.mgrid[0:h, 0:w]
    base = np.stack([(gx / w * 255 * rng.random()) + rng.integers(0, 80),
                     (gy / h * 255 * rng.random()) + rng.integers(0, 80),
                     np.full((h, w), rng.integers(0, 255))], axis=-1).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
        s = int(rng.integers(30, 200))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x, y, x + s, y + s], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1))
    noisy = np.asarray(image).astype(np.int16) + rng.normal(0, 6, (h, w, 3)).astype(np.int16)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def make_images(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img{i:05d}.jpg" for i in range(n)]
    rng = np.random.default_rng(0)
    for path in paths:
        if not path.exists():
            photo_like(rng).save(path, quality=90)
    return paths


def make_texts(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    words = "red green blue small large circle square star ring cross left right top bottom".split()
    rng = np.random.default_rng(1)
    paths = [folder / f"t{i:05d}.txt" for i in range(n)]
    for path in paths:
        if not path.exists():
            path.write_text(" ".join(rng.choice(words, 6)) + f" {path.stem}")
    return paths


def naive(encoder, paths):
    """One file at a time, straight transformers."""
    import torch
    from PIL import Image

    from mmstudio.encoders.device import autocast

    model, processor = encoder.model, encoder.image_processor
    out = []
    for path in paths:
        with Image.open(path) as im:
            image = im.convert("RGB")
        inputs = processor(images=image, return_tensors="pt").to(encoder.device)
        with torch.inference_mode(), autocast(encoder.device, encoder.precision):
            feats = model.get_image_features(**inputs)
        feats = feats if isinstance(feats, torch.Tensor) else feats.pooler_output
        out.append(torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy()[0])
    return np.stack(out)


def run_part(args) -> dict:
    """In a fresh process: load the model, warm up, time one path, save its vectors."""
    from mmstudio.core.sources.inputs import load_paths
    from mmstudio.encoders.embed import embed_dataset
    from mmstudio.encoders.registry import load_encoder

    work = Path(args.work)
    encoder = load_encoder(str(work / args.model_name), device=args.device, precision=args.precision)
    paths = sorted((work / "images").glob("img*.jpg"))[: args.images]
    if args.part == "naive":
        def go(p):
            return naive(encoder, p)
    else:
        def go(p):
            return embed_dataset(load_paths(p), encoder).vectors
    go(paths[:32])  # warm-up: first calls allocate and pick kernels
    if encoder.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    start = time.perf_counter()
    vectors = go(paths)
    elapsed = time.perf_counter() - start
    np.save(work / f"{args.part}.npy", vectors)
    result = {"seconds": elapsed, "device": encoder.device, "precision": encoder.precision}
    if args.part == "pipeline" and args.cached:
        result.update(cached_reopen(encoder, work, args.cached))
    if args.part == "pipeline" and args.sources:
        result.update(compare_sources(encoder, work, args.sources))
    return result


def cached_reopen(encoder, work: Path, n: int) -> dict:
    from mmstudio.core.cache import EmbeddingCache
    from mmstudio.core.sources.inputs import load_paths
    from mmstudio.encoders.embed import embed_dataset

    texts = make_texts(work / "texts", n)
    cache = EmbeddingCache(work / "cache")
    cache.clear()
    start = time.perf_counter()
    first = embed_dataset(load_paths(texts), encoder, cache=cache)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    second = embed_dataset(load_paths(texts), encoder, cache=cache)
    warm = time.perf_counter() - start
    assert len(second) == n and np.array_equal(first.vectors, second.vectors)
    return {"cached_items": n, "encode_cold_s": cold, "reopen_cached_s": warm}


def write_sources(work: Path, n: int) -> dict[str, Path]:
    """The first ``n`` images (and a caption each) as files, as 4 tar shards and as 4 Parquet files."""
    import io
    import json
    import tarfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    root = work / f"sources-{n}"
    paths = {"files": root / "files", "webdataset": root / "wds", "parquet": root / "hf"}
    if (root / "done").exists():
        return paths
    images = make_images(work / "images", n)[:n]
    captions = [f"a photo-like picture number {i} with shapes" for i in range(n)]
    for folder in paths.values():
        folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        (paths["files"] / f"s{i:05d}.jpg").write_bytes(image.read_bytes())
        (paths["files"] / f"s{i:05d}.txt").write_text(captions[i])
    bounds = np.linspace(0, n, 5).astype(int)
    for part in range(4):
        with tarfile.open(paths["webdataset"] / f"shard-{part:06d}.tar", "w") as tar:
            for i in range(bounds[part], bounds[part + 1]):
                for name, data in ((f"s{i:05d}.jpg", images[i].read_bytes()), (f"s{i:05d}.txt", captions[i].encode())):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        rows = range(bounds[part], bounds[part + 1])
        table = pa.table({"image": pa.array([{"bytes": images[i].read_bytes(), "path": images[i].name} for i in rows],
                                            pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
                          "caption": [captions[i] for i in rows]})
        features = {"image": {"_type": "Image"}, "caption": {"dtype": "string", "_type": "Value"}}
        table = table.replace_schema_metadata({b"huggingface": json.dumps({"info": {"features": features}}).encode()})
        (paths["parquet"] / "data").mkdir(exist_ok=True)
        pq.write_table(table, paths["parquet"] / "data" / f"train-{part:05d}-of-00004.parquet", row_group_size=100)
    (root / "done").write_text("")
    return paths


def compare_sources(encoder, work: Path, n: int, rounds: int = 5) -> dict:
    """Decode-only and end-to-end times of the same items from files, tar shards and Parquet: ``rounds``
    rounds, each in a rotated order (a busy machine's slow minutes fall on every source alike)."""
    from mmstudio.core.sources.inputs import load_paths
    from mmstudio.encoders.embed import decode_item, embed_dataset

    paths = write_sources(work, n)
    decode_s = {k: [] for k in paths}
    decode_cpu = {k: [] for k in paths}   # CPU seconds of this process: steadier than wall time on a busy machine
    embed_s = {k: [] for k in paths}
    embed_cpu = {k: [] for k in paths}
    kinds = list(paths)
    for r in range(rounds):
        for kind in kinds[r % 3:] + kinds[:r % 3]:
            path = paths[kind]
            refs = [r for s in load_paths([path]).samples for r in s.items.values()]
            assert len(refs) == 2 * n, (kind, len(refs))
            start, cpu = time.perf_counter(), time.process_time()
            failed = sum(decode_item(ref, encoder)[1] is not None for ref in refs)
            decode_s[kind].append(time.perf_counter() - start)
            decode_cpu[kind].append(time.process_time() - cpu)
            assert failed == 0, kind
            start, cpu = time.perf_counter(), time.process_time()
            table = embed_dataset(load_paths([path]), encoder)
            embed_s[kind].append(time.perf_counter() - start)
            embed_cpu[kind].append(time.process_time() - cpu)
            assert len(table) == 2 * n
    best = {k: (min(decode_s[k]), min(embed_s[k])) for k in paths}
    return {"source_items": 2 * n, "decode_s": {k: round(v[0], 3) for k, v in best.items()},
            "end_to_end_s": {k: round(v[1], 3) for k, v in best.items()},
            "decode_median_s": {k: round(float(np.median(v)), 3) for k, v in decode_s.items()},
            "end_to_end_median_s": {k: round(float(np.median(v)), 3) for k, v in embed_s.items()},
            "decode_cpu_median_s": {k: round(float(np.median(v)), 3) for k, v in decode_cpu.items()},
            "end_to_end_cpu_median_s": {k: round(float(np.median(v)), 3) for k, v in embed_cpu.items()},
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--cached", type=int, default=10000)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / "_work"))
    parser.add_argument("--part", choices=("naive", "pipeline"), help=argparse.SUPPRESS)
    parser.add_argument("--model-name", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        if args.part == "pipeline":
            from mmstudio.__main__ import prefer_passive_threads

            prefer_passive_threads()  # before torch is imported, as the mmstudio command does
        print(json.dumps(run_part(args)))
        return 0

    import tiny_models

    work = Path(args.work)
    name = f"clip-w{args.width}-l{args.layers}"
    tiny_models.build_tiny_clip(work / name, image_size=224, patch_size=32, hidden=args.width, layers=args.layers,
                                heads=max(4, args.width // 64), proj_dim=min(512, args.width))
    make_images(work / "images", args.images)
    common = [sys.executable, __file__, "--images", str(args.images), "--device", args.device,
              "--precision", args.precision, "--work", str(work), "--model-name", name]
    results = {}
    for part in ("naive", "pipeline"):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        cmd = common + ["--part", part, "--cached", str(args.cached if part == "pipeline" else 0),
                        "--sources", str(args.sources if part == "pipeline" else 0)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        results[part] = json.loads(done.stdout.strip().splitlines()[-1])
    n = args.images
    t_naive, t_pipe = results["naive"]["seconds"], results["pipeline"]["seconds"]
    ref, ours = np.load(work / "naive.npy"), np.load(work / "pipeline.npy")
    cosine = float(np.min(np.sum(ref * ours, axis=1)))
    import torch

    from mmstudio.encoders.device import available_devices

    device = results["pipeline"]["device"]
    described = next((d.description for d in available_devices() if d.name == device), device)
    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "device": f"{device} ({described})", "precision": results["pipeline"]["precision"],
        "model": f"CLIP-shaped 224/32, width {args.width}, {args.layers} layers", "images": n,
        "naive_img_per_s": round(n / t_naive, 1), "pipeline_img_per_s": round(n / t_pipe, 1),
        "speedup": round(t_naive / t_pipe, 2), "min_cosine_vs_naive": round(cosine, 5),
    }
    print(f"{summary['machine']}; {summary['device']}, {summary['precision']}; {summary['model']}")
    print(f"encode {n} images: naive {t_naive:.2f} s ({n / t_naive:.0f} img/s), pipeline {t_pipe:.2f} s "
          f"({n / t_pipe:.0f} img/s) -> {t_naive / t_pipe:.2f}x faster; min cosine to the naive vectors {cosine:.5f}")
    pipe = results["pipeline"]
    if "cached_items" in pipe:
        cold, warm = pipe["encode_cold_s"], pipe["reopen_cached_s"]
        summary.update({"cached_items": pipe["cached_items"], "encode_cold_s": round(cold, 2),
                        "reopen_cached_s": round(warm, 3), "reopen_speedup": round(cold / warm, 1)})
        print(f"{pipe['cached_items']} embeddings: encoded {cold:.2f} s, re-opened from the cache {warm:.3f} s "
              f"-> {cold / warm:.1f}x faster")
    if "source_items" in pipe:
        items, dec, e2e = pipe["source_items"], pipe["decode_s"], pipe["end_to_end_s"]
        summary.update({k: pipe[k] for k in ("source_items", "decode_s", "end_to_end_s", "decode_median_s",
                                             "end_to_end_median_s", "decode_cpu_median_s", "end_to_end_cpu_median_s",
                                             "load_average")})
        cpu_dec, cpu_e2e = pipe["decode_cpu_median_s"], pipe["end_to_end_cpu_median_s"]
        for kind in ("webdataset", "parquet"):
            print(f"{items} items ({items // 2} JPEGs + captions) from {kind} vs files, best of 5 rounds: decode only "
                  f"{items / dec[kind]:.0f} vs {items / dec['files']:.0f} items/s ({dec['files'] / dec[kind]:.2f}x), "
                  f"end to end {e2e[kind]:.2f} vs {e2e['files']:.2f} s ({e2e['files'] / e2e[kind]:.2f}x); CPU seconds "
                  f"(median): decode {cpu_dec[kind]:.2f} vs {cpu_dec['files']:.2f} "
                  f"({cpu_dec['files'] / cpu_dec[kind]:.2f}x), end to end {cpu_e2e[kind]:.2f} vs "
                  f"{cpu_e2e['files']:.2f} ({cpu_e2e['files'] / cpu_e2e[kind]:.2f}x)")
        print(f"load average after: {pipe['load_average']}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
