"""kill -9 in the middle of a SCIM write load (concurrent POSTs, PATCHes of
several operations, group member changes), of identity_service or of the
facade, on SQLite and PostgreSQL: after the restart every acknowledged write
is there, none is half applied, and the change log matches the data. Writes
in flight at the kill may or may not be there, but whole."""

import pytest

from identity_service.store.engine import Database
from tests.faults import audit
from tests.faults.load import Load
from tests.faults.support import Facade, Identity
from tests.helpers import new_tenant
from tests.processes import Processes

pytestmark = pytest.mark.timeout(240)
WORKERS = 4
DEADLINE_SECONDS = 3.0
# Fully acknowledged steps per worker before the kill and after the restart.
STEPS = 3
STEP_SECONDS = 90.0


def _served(processes: Processes, database_url: str) -> tuple[Identity, Facade]:
    identity = Identity(processes, database_url)
    identity.start()
    facade = Facade(processes, identity.target, DEADLINE_SECONDS)
    facade.start()
    return identity, facade


@pytest.mark.parametrize("victim", ["identity_service", "scim_facade"])
def test_after_kill_9_under_write_load_every_acknowledged_write_is_there_and_whole(
    db: Database, database_url: str, processes: Processes, victim: str
) -> None:
    """A commit is durable before its answer leaves identity_service, and a
    write with its change record is one transaction: a crash loses only
    unacknowledged writes, and whole ones (RFC 7644 §3.5.2: a PATCH is
    atomic)."""
    tenant = new_tenant(db)
    identity, facade = _served(processes, database_url)
    killed = identity if victim == "identity_service" else facade
    load = Load(facade.url, tenant.secret, WORKERS)
    load.wait_for_steps(STEPS, STEP_SECONDS)
    killed.kill()
    killed.start()
    load.wait_for_steps(STEPS, STEP_SECONDS)
    acknowledged = load.stop()

    assert any(done.failures for done in acknowledged), "no request saw the kill"
    audit.check(db, tenant.slug, acknowledged)
