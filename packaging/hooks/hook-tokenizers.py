# tokenizers (Rust extension): its metadata (transformers checks the version) and data files.
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("tokenizers")
datas = copy_metadata("tokenizers") + collect_data_files("tokenizers", excludes=["**/__pycache__/**"])
