"""Import every domain's tables so ``Base.metadata`` knows them all (for Alembic)."""

from watchkeeper.alerts import models as alerts_models
from watchkeeper.db.base import Base
from watchkeeper.identity import models as identity_models
from watchkeeper.schedules import models as schedules_models

__all__ = ["Base", "alerts_models", "identity_models", "schedules_models"]
