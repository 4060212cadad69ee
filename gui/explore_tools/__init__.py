"""The Explore room's tools, each one module behind the interface in tool.py. A new tool is one file here plus
one line below ("module.Class"; a leading dot: a module of this package); the room shows them in this order,
beside the canvas or under it as each says."""
from __future__ import annotations

import importlib

TOOLS = (
    ".projection.ProjectionTool",
    ".meter.MeterTool",
    ".atlas.AtlasTool",
    ".mixing.MixingTool",
    ".modes.ModesTool",
    ".directions.DirectionsTool",
    ".bookmarks.BookmarksTool",
    ".variations.VariationsTool",
)


def create(context) -> list:
    """One instance of every tool, for the room behind `context`."""
    tools = []
    for entry in TOOLS:
        module, name = entry.rsplit(".", 1)
        tools.append(getattr(importlib.import_module(module, __name__), name)(context))
    return tools
