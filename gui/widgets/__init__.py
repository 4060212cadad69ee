"""Reusable widgets that show plain data (arrays, numbers, lists): they never call the engine themselves."""
