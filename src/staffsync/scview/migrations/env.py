from staffsync.kit.migrate import run_env
from staffsync.scview.models import Base

run_env(Base.metadata)
