"""Causal language models (issue 15): loading, generation timing, quality, tiny demo models."""
