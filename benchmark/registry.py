"""Open registries of models and datasets: a decorator in each file, entry points, or a dotted path.

Why open: a researcher compares a new method with the zoo by writing one file (or a package of their own),
never by editing a hand-kept list here. Three ways a class becomes reachable by a name:

- ``@register_model("name")`` / ``@register_dataset("name")`` in a module of the ``models`` / ``datamodules``
  package: every module of the package is imported on first use, so the decorator is the whole registration;
- an entry point of an installed distribution, in the group ``i2i_bench.models`` / ``i2i_bench.datasets``
  (``name = "pkg.module:Class"``);
- a dotted path ``pkg.module:Class`` given where a name is expected, with no registration at all.

A leaf of the protocol modules: it imports nothing of the runner, the CLI or the report.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, MutableMapping
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from benchmark.errors import UsageError

T = TypeVar("T", bound=type)


class Registry(MutableMapping[str, Any], Generic[T]):
    """Names to classes, filled by decorators, entry points and (on lookup) dotted paths.

    `package` is imported module by module on first use (skipping `skip` subpackages and private modules);
    `base` is the class every entry must derive from (checked for entry points and dotted paths, whose
    authors this project cannot see).
    """

    def __init__(self, kind: str, option: str, package: str, group: str, base: Callable[[], type],
                 skip: tuple[str, ...] = ()) -> None:
        self.kind, self.option, self.package, self.group = kind, option, package, group
        self._base, self._skip = base, skip
        self._entries: dict[str, T] = {}
        self._loaded = False
        self._loading = False

    # -- registration ----------------------------------------------------------------------------------
    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: `@register_model("unet")`. The class learns its name (`registry_name`)."""

        def decorate(cls: T) -> T:
            known = self._entries.get(name)
            if known is not None and known is not cls:
                raise ValueError(f"{self.kind} name {name!r} is registered twice: "
                                 f"{_path(known)} and {_path(cls)}")
            cls.registry_name = name
            self._entries[name] = cls
            return cls

        return decorate

    def _load(self) -> None:
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            package = importlib.import_module(self.package)
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
                if not info.name.startswith("_") and info.name not in self._skip:
                    importlib.import_module(f"{self.package}.{info.name}")
            for point in entry_points(group=self.group):
                if point.name not in self._entries:
                    cls = self._checked(point.load(), f"entry point {point.name} = {point.value}")
                    self.register(point.name)(cls)
            self._loaded = True
        finally:
            self._loading = False

    # -- lookup ---------------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> T:
        self._load()
        if name in self._entries:
            return self._entries[name]
        if ":" in name:
            return self._dotted(name)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except (KeyError, UsageError):
            return False
        return True

    def __setitem__(self, name: str, cls: T) -> None:
        """Register (or replace) an entry by hand: what a test or a notebook does in place of a decorator."""
        self._load()
        self._entries[name] = cls

    def __delitem__(self, name: str) -> None:
        self._load()
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def resolve(self, name: str) -> T:
        """The class for a registered name or a dotted path; one line listing the valid names otherwise."""
        try:
            return self[name]
        except KeyError:
            raise UsageError(f"{self.option} {name!r} is not one of {', '.join(self)} "
                             f"(or a dotted path pkg.module:Class)") from None

    def name_of(self, cls: type) -> str:
        """The name a class is known by: its registered name, else its dotted path."""
        self._load()
        for name, known in self._entries.items():
            if known is cls:
                return name
        return _path(cls)

    def _dotted(self, spec: str) -> T:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(f"{self.option} {spec!r}: cannot import module {module_name!r} ({exc})") from None
        if not hasattr(module, attr):
            raise UsageError(f"{self.option} {spec!r}: module {module_name!r} has no attribute {attr!r}")
        return self._checked(getattr(module, attr), f"{self.option} {spec!r}")

    def _checked(self, cls: Any, where: str) -> T:
        base = self._base()
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise UsageError(f"{where}: expected a subclass of {_path(base)}, got {cls!r}")
        return cls  # type: ignore[return-value]


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"
