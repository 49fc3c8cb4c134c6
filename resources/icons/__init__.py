"""Status and application icons (SVG), read through importlib.resources by ui.icons."""
