# soxr (audio resampling, a compiled extension): its extension module, libraries and metadata.
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules, copy_metadata

hiddenimports = collect_submodules("soxr")
binaries = collect_dynamic_libs("soxr")
datas = copy_metadata("soxr") + collect_data_files("soxr", excludes=["**/__pycache__/**"])
