"""Adapters for models of other libraries (optional extras: hf, open_clip, cn_clip)."""
