"""The foundation: media, datasets, the embedding table, the cache, jobs, atomic files, projects, the log.

Imports nothing of mmstudio outside ``core``; no Qt, no torch at import.
"""
