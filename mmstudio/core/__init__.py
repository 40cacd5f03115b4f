"""Media readers, samples and datasets, the embedding table, cache and jobs. No Qt, no torch at import."""
