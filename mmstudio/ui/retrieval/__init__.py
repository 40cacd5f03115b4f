"""The retrieval browser: an item or a typed text as the query, the most similar items of every other
modality with their cosine and rank, where the query's true partner ranks, and its sample side by side
with the way to the attention map. Draws what ``analysis.alignment.browse`` computes."""
