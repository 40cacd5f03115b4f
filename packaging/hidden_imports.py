"""What the PyInstaller bundle must collect beyond what PyInstaller finds by itself, in one place.

``mmstudio.spec`` and ``hooks/`` read these lists; ``tests/packaging/test_packaging.py`` checks them
against the code (every module imported inside a function, every ``resources/`` file, every
``mmstudio`` module). Plain Python, no PyInstaller import, so the test runs without PyInstaller.

PyInstaller's import scanner sees ``import x`` inside functions too, but not names built at run
time (``importlib.import_module(COMMANDS[name][0])``, the encoder registry's ``"module:Class"``
strings, ``transformers``' lazy ``from transformers import CLIPModel`` and its ``Auto*`` classes
that pick a tokenizer module from a checkpoint's config). So everything lazy is named here.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Third-party modules that mmstudio imports inside functions (found with ast, see the test).
# A dotted name covers its own submodules only through SUBMODULE_PACKAGES below.
LAZY_THIRD_PARTY = [
    "PIL", "PIL.Image",
    "PySide6", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg", "PySide6.QtMultimedia",
    "huggingface_hub", "huggingface_hub.errors",
    "numba", "numba.core.caching", "numba.core.dispatcher",
    "numpy",
    "platformdirs",
    "pyarrow", "pyarrow.parquet", "pyarrow.compute", "pyarrow.dataset",
    "pynndescent",
    "pyqtgraph",
    "safetensors", "safetensors.torch",
    "scipy.optimize", "scipy.sparse", "scipy.spatial", "scipy.stats",
    "sklearn.cluster", "sklearn.linear_model", "sklearn.neural_network",
    "soundfile",
    "soxr",
    "threadpoolctl",
    "torch", "torch.nn", "torch.nn.functional",
    "tqdm",
    "transformers", "transformers.utils", "transformers.utils.logging",
    "umap",
]

# Packages collected whole (collect_submodules): mmstudio itself (its commands and encoder backends
# are imported by name) and the transformers families the encoder registry can load, with the
# tokenizer / processor modules their checkpoints name (CLAP uses RoBERTa's, BLIP uses BERT's, ALIGN
# EfficientNet's image processor, AltCLIP and MetaCLIP 2 XLM-R's tokenizer, SigLIP's T5's or Gemma's):
# mmstudio.encoders.hf.families lists them (Family.packages).
SUBMODULE_PACKAGES = [
    "mmstudio",
    "transformers.models.auto",
    "transformers.models.clip",
    "transformers.models.siglip",
    "transformers.models.siglip2",
    "transformers.models.align",
    "transformers.models.altclip",
    "transformers.models.chinese_clip",
    "transformers.models.metaclip_2",
    "transformers.models.clap",
    "transformers.models.blip",
    "transformers.models.bert",
    "transformers.models.roberta",
    "transformers.models.xlm_roberta",
    "transformers.models.efficientnet",
    "transformers.models.t5",
    "transformers.models.gemma",
    "tokenizers",
    "safetensors",
    "umap",
    "pynndescent",
    "soxr",
]

# Imported by transformers / tokenizers at run time without an import statement PyInstaller sees.
RUNTIME_EXTRAS = [
    "sentencepiece",
    "google.protobuf",
    "transformers.convert_slow_tokenizer",
    "transformers.tokenization_utils_tokenizers",
    "transformers.image_processing_utils",
    "transformers.feature_extraction_utils",
    "transformers.processing_utils",
    "scipy.special.cython_special",
    "sklearn.utils._typedefs",
    "sklearn.neighbors._partition_nodes",
]

HIDDEN_IMPORTS = sorted(set(LAZY_THIRD_PARTY + RUNTIME_EXTRAS))

# Optional modules mmstudio tries and does without; deliberately left out of the desktop bundle.
NOT_BUNDLED = {
    "cuml": "RAPIDS GPU UMAP; the code falls back to umap-learn when it is missing",
    "ray": "the distributed `embed --engine ray`; use a pip install (mmstudio[distributed]) for it",
    "pandas": "EmbeddingTable.to_pandas() for notebooks, not a dependency; the window never calls it",
}

# Kept out of the bundle: development tools, other Qt bindings, Qt modules mmstudio never loads.
EXCLUDES = [
    "tkinter", "_tkinter", "matplotlib", "IPython", "jupyter", "notebook", "pytest", "pytestqt", "ruff",
    "PyQt5", "PyQt6", "PySide2",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick", "PySide6.QtWebChannel",
    "PySide6.Qt3DCore", "PySide6.QtQuick3D", "PySide6.QtDesigner",
    "cuml", "ray", "pandas", "tensorboard", "torchvision", "torchaudio",
]

# Distributions whose metadata (importlib.metadata) must travel: `mmstudio --info` prints their
# versions, transformers checks its dependencies' versions at import.
METADATA = [
    "mmstudio", "torch", "transformers", "tokenizers", "safetensors", "huggingface_hub", "sentencepiece", "protobuf",
    "umap-learn", "pynndescent", "numba", "llvmlite", "scikit-learn", "scipy", "numpy", "pillow", "pyarrow",
    "soundfile", "soxr", "platformdirs", "tqdm", "regex", "requests", "filelock", "packaging", "pyyaml",
    "pyqtgraph", "PySide6_Essentials", "threadpoolctl", "joblib",
]

# Packages whose data files (non-Python files inside the package) must travel. soundfile is a
# single module: its libsndfile (the _soundfile_data package) comes with the contrib hook-soundfile.
DATA_PACKAGES = [
    "transformers", "tokenizers", "safetensors", "torch", "pyqtgraph", "umap", "pynndescent", "numba", "llvmlite",
    "sklearn", "_soundfile_data", "soxr",
]
# Never collected as data: numba's on-disk cache of the build machine (__pycache__/*.nbi, *.nbc,
# compiled for its CPU), C headers and sources, type stubs, test suites.
DATA_EXCLUDES = ["**/__pycache__/**", "**/*.h", "**/*.hpp", "**/*.cuh", "**/*.cpp", "**/*.pyi", "**/tests/**",
                 "**/include/**", "**/*.cmake", "**/*.lib"]

# Collected as .py source as well: numba's on-disk cache (umap / pynndescent functions, see
# mmstudio/analysis/projection/umap_fit.py) locates functions by their source file; transformers and torch
# read their own source (inspect / TorchScript).
SOURCE_PACKAGES = ["umap", "pynndescent", "transformers", "torch"]

# Qt plugins the app needs, relative to PySide6/Qt/plugins: a window on X11 / Wayland and offscreen
# (screenshots), PNG/JPEG/SVG images and icons; SVG and PDF export (qt_export.py) use QtSvg and
# QtGui's QPdfWriter. PyInstaller's PySide6 hooks collect these; the smoke test checks they are there.
QT_PLUGINS = [
    "platforms/libqoffscreen.so",
    "platforms/libqxcb.so",
    "imageformats/libqsvg.so",
    "imageformats/libqjpeg.so",
    "iconengines/libqsvgicon.so",
]
# Other files the bundle must hold (globs under dist/mmstudio/_internal; the smoke test checks them).
BUNDLE_GLOBS = [
    "_soundfile_data/libsndfile*",  # soundfile's libsndfile
    "soxr/soxr_ext*",
    "llvmlite/binding/libllvmlite*",
    "tokenizers/tokenizers*",
    "safetensors/_safetensors_rust*",
    "torch/lib/libtorch_cpu*",
    "transformers-*.dist-info/METADATA",
    "tokenizers-*.dist-info/METADATA",
    "safetensors-*.dist-info/METADATA",
    "torch-*.dist-info/METADATA",
    "umap/umap_.py",  # sources beside the bytecode (SOURCE_PACKAGES)
    "pynndescent/pynndescent_.py",
]
QT_MODULES = ["PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg", "PySide6.QtMultimedia"]


def resource_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """Every file under resources/, as (source, folder in the bundle): mmstudio/resources/…, where
    ``importlib.resources.files("mmstudio.resources")`` finds it (mmstudio/encoders/builtin/encoder.py)."""
    out = []
    root = Path(root)
    for path in sorted((root / "mmstudio" / "resources").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.parent.relative_to(root / "mmstudio" / "resources")
            out.append((str(path), str(Path("mmstudio/resources") / rel)))
    return out


def mmstudio_modules(root: Path = ROOT) -> list[str]:
    """Every module of the mmstudio package, from its files (the spec adds them as hidden imports,
    on top of collect_submodules('mmstudio'))."""
    out = []
    root = Path(root)
    for path in sorted((root / "mmstudio").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out
