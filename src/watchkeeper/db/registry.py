"""Import every domain's tables so ``Base.metadata`` knows them all (for Alembic)."""

from watchkeeper.alerts import models as alerts_models
from watchkeeper.db.base import Base
from watchkeeper.escalation import models as escalation_models
from watchkeeper.identity import models as identity_models
from watchkeeper.incidents import models as incidents_models
from watchkeeper.notify import models as notify_models
from watchkeeper.schedules import models as schedules_models
from watchkeeper.slo import models as slo_models

__all__ = [
    "Base",
    "alerts_models",
    "escalation_models",
    "identity_models",
    "incidents_models",
    "notify_models",
    "schedules_models",
    "slo_models",
]
