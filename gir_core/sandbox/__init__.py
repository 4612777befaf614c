"""Run untrusted models in a confined child process (SPEC §6).

:class:`SandboxedModel` is the only way GIR Bench executes a submitted model: a separate process
that drops root, has no network, can read only the Python runtime, can write nothing, lives under
memory/CPU/time/process limits, and sees nothing but the degraded inputs we send it.
"""

from gir_core.sandbox.parent import SandboxedModel, SandboxLimits

__all__ = ["SandboxLimits", "SandboxedModel"]
