"""Causal language models (issue 15): loading, generation timing, quality on a text, tiny demo models."""
