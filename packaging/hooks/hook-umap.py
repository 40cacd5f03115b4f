# umap-learn (replaces the contrib hook, which only copies the metadata). Sources travel too
# (pyz+py): numba's on-disk cache, which mmstudio switches on for umap's functions
# (mmstudio/analysis/projection/umap_fit.py), locates a function by its source file.
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("umap", filter=lambda name: not name.startswith(("umap.plot", "umap.tests",
                                                                                     "umap.parametric_umap",
                                                                                     "umap.aligned_umap")))
hiddenimports += ["pynndescent"]
datas = copy_metadata("umap-learn") + collect_data_files("umap", excludes=["**/__pycache__/**"])
module_collection_mode = "pyz+py"
excludedimports = ["umap.plot", "umap.parametric_umap", "tensorflow", "bokeh", "datashader", "holoviews"]
