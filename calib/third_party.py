"""Known noise from libraries calib imports, silenced by its exact text and nothing else.

torchao (imported for PyTorch 2 export int8 and float8 training) registers an Enum with
torch.utils._pytree.register_constant at import; torch 2.14 logs a deprecation warning for it on
every import ("<enum 'KernelPreference'> is an Enum subclass and is now natively supported ...").
It says nothing about the user's model or run, and it lands in the middle of calib's progress lines.
A logging filter on that one logger drops only records with that message; any other warning from
the same logger still shows. Cheap: no torch import happens here.
"""

from __future__ import annotations

import logging

_PYTREE_LOGGER = "torch.utils._pytree"
_ENUM_DEPRECATION = "is an Enum subclass and is now natively supported by torch.compile"


class _DropEnumConstantNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _ENUM_DEPRECATION not in str(record.msg)


def quiet_known_noise() -> None:
    """Install the filters once per process (again is harmless: one filter per logger)."""
    logger = logging.getLogger(_PYTREE_LOGGER)
    if not any(isinstance(existing, _DropEnumConstantNotice) for existing in logger.filters):
        logger.addFilter(_DropEnumConstantNotice())
