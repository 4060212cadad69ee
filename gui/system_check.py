"""Before the window: does Qt's platform plugin find the system libraries it needs? If not, say which, and the
one install line that brings them, instead of Qt's own abort.

Why: on a fresh Debian without Qt's xcb libraries, Qt aborted with a message naming libxcb-cursor0, which was
installed; the missing ones were libxcb-icccm4 and libxcb-keysyms1. `ldd` on the plugin lists every library it
(and what it links) cannot find, so the check asks it, before any Qt library is loaded into this process.

Must not import PySide6's Qt modules (that loads the very libraries being checked) or the engine.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PLUGINS = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}

# soname -> (Debian and Ubuntu package, Fedora package); other sonames follow Debian's rule (see debian_package)
PACKAGES = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
}


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames `ldd` reports as "not found", each once, in its order."""
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", ldd_output, flags=re.MULTILINE)
    return list(dict.fromkeys(found))


def debian_package(soname: str) -> str:
    """Debian names a library's package after its soname: libxcb-xkb.so.1 -> libxcb-xkb1, libfoo-2.so.0 ->
    libfoo-2-0."""
    if soname in PACKAGES:
        return PACKAGES[soname][0]
    name, _, version = soname.partition(".so.")
    version = version.split(".")[0]
    return f"{name}-{version}" if name[-1:].isdigit() else f"{name}{version}"


def fedora_package(soname: str) -> str:
    """Fedora's xcb sub-libraries all come in libxcb; the rest we know by name, or dnf finds by file."""
    if soname in PACKAGES:
        return PACKAGES[soname][1]
    if soname.startswith("libxcb"):
        return "libxcb"
    return f"'*/{soname}'"  # dnf install accepts a file glob and picks the package that provides it


def install_line(missing: list[str], os_release: str) -> str:
    """The one command that installs what is missing on this system (apt for Debian and Ubuntu, dnf for Fedora)."""
    ids = " ".join(re.findall(r"^(?:ID|ID_LIKE)=\"?([^\"\n]+)", os_release, flags=re.MULTILINE)).split()
    if any(i in ("fedora", "rhel", "centos") for i in ids):
        return "sudo dnf install -y " + " ".join(dict.fromkeys(fedora_package(s) for s in missing))
    return "sudo apt-get install -y " + " ".join(dict.fromkeys(debian_package(s) for s in missing))


def platform_plugin(environ=os.environ) -> str | None:
    """The platform plugin Qt will load: QT_QPA_PLATFORM's first choice, else wayland in a Wayland session,
    else xcb. None where no system library is involved (offscreen, minimal, vnc)."""
    requested = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if not requested:
        requested = "wayland" if environ.get("WAYLAND_DISPLAY") else "xcb"
    return requested if requested in PLUGINS else None


def problem(environ=os.environ) -> str | None:
    """What stops the window from opening, with the line that fixes it; None when nothing does (or we cannot
    tell: not Linux, no ldd, PySide6 not found, which Qt reports well enough itself)."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        return None
    plugin = platform_plugin(environ)
    spec = importlib.util.find_spec("PySide6")
    if plugin is None or spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "Qt" / "plugins" / "platforms" / PLUGINS[plugin]
    if not path.is_file():
        return None
    try:
        ldd = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    missing = missing_libraries(ldd)
    if not missing:
        return None
    try:
        os_release = Path("/etc/os-release").read_text()
    except OSError:
        os_release = ""
    verb = "is" if len(missing) == 1 else "are"
    return (f"Latent Studio cannot open its window: Qt's {plugin} platform needs {', '.join(missing)}, which {verb} "
            f"not installed. Install with:\n  {install_line(missing, os_release)}")
