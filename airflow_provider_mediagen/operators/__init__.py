"""Generation operators, one per documented generation kind, all made by one mechanism from the
catalog (see :mod:`.factory`): ``<Service><Kind>Operator``, one per job kind of every service...

``OPERATORS`` maps ``(service, kind)`` to its class.
"""

from __future__ import annotations

from .. import naming
from ..catalog import SERVICES
from .base import MediaGenerationOperator
from .factory import build_operator

OPERATORS = {
    (service, kind): build_operator(service, kind)
    for service, entry in SERVICES.items()
    for kind in entry.kinds
}
globals().update({cls.__name__: cls for cls in OPERATORS.values()})

__all__ = ["OPERATORS", "MediaGenerationOperator", *(cls.__name__ for cls in OPERATORS.values())]

del naming
