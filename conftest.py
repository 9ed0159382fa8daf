"""Monkey-patch before anything imports sockets or threads: nameko runs on eventlet."""
import warnings

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")

import eventlet  # noqa: E402

eventlet.monkey_patch()
