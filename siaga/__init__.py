"""Operator-facing tools: run the whole system, the demo, topology declaration, health checks."""
import warnings

# eventlet announces its deprecation on import; the design note in README.md says why we keep it.
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
