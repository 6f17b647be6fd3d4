"""LocalStack's own functions wrapped (its patch utility) at most once per process: the engine
patches are installed from LocalStack's start hooks and from plugin loads, which may both run,
and from more than one thread."""

import threading

from localstack.utils.patch import Patch


class Patches:
    """The wrappers of (function, replacement) pairs, applied together on the first `install`."""

    def __init__(self, *replacements):
        self._replacements = replacements
        self._lock = threading.Lock()
        self._applied: list[Patch] = []

    def install(self) -> bool:
        """Whether this call applied them (False: they already were)."""
        with self._lock:
            if self._applied:
                return False
            for target, replacement in self._replacements:
                patch = Patch.function(target, replacement)
                patch.apply()
                self._applied.append(patch)
            return True

    def installed(self) -> bool:
        return bool(self._applied) and all(p.is_applied for p in self._applied)
