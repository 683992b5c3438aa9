"""Every table, imported in one place for Alembic and the drift check."""

from app.audit import models as _audit  # noqa: F401
from app.core.db import metadata
from app.eventstore import models as _eventstore  # noqa: F401
from app.identity import devices as _devices  # noqa: F401
from app.identity import models as _identity  # noqa: F401
from app.labelling import models as _labelling  # noqa: F401
from app.manifests import models as _manifests  # noqa: F401
from app.parties import models as _parties  # noqa: F401
from app.projections import alerts as _alerts  # noqa: F401
from app.projections import base as _projection_base  # noqa: F401
from app.projections import declarations as _declarations  # noqa: F401
from app.projections import lots as _lots  # noqa: F401
from app.projections import manifests as _manifest_projection  # noqa: F401
from app.projections import scorecard as _scorecard_projection  # noqa: F401
from app.projections import zones as _zones  # noqa: F401

__all__ = ["metadata"]
