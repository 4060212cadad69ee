"""Latent Studio's headless engine: ingestion, models, training, sampling, latent tools, files and the CLI.

The engine never imports Qt; the GUI, the CLI and the tests all call it through `engine.api`.
"""
