from staffsync.fis.models import Base
from staffsync.kit.migrate import run_env

run_env(Base.metadata)
