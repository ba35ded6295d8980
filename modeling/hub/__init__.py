"""Sharing on the Hub: the model card built from a checkpoint's config and results."""
