"""Model-agnostic training: the loop (``trainer``) and the figures of a run (``plots``)."""
