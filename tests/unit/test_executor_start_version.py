"""The order version at start-up is read once: the runner reads ``GET /version`` before anything
else and starts the executor with it, so ``Executor.start(version)`` does not read it again; the
re-read after ``order_version_mismatch`` stays."""

from pmbot.errors import RejectedError
from pmbot.model import Create, OrderAccepted
from tests.unit.test_executor import harness, order, signer  # noqa: F401  (fixtures)


def _counting_versions(h, versions):
    reads: list[int] = []

    def order_version():
        reads.append(versions[len(reads)])
        return reads[-1]

    h.rest.order_version = order_version
    h.ex.creates.signing.rest = h.rest
    return reads


def test_start_with_the_version_read_at_start_up_does_not_read_it_again(harness):  # noqa: F811
    h = harness()
    reads = _counting_versions(h, [2])
    h.ex.start(2)
    h.started = True
    assert reads == [] and h.ex.alive()


def test_start_without_a_version_reads_it_once(harness):  # noqa: F811
    h = harness()
    reads = _counting_versions(h, [2])
    h.ex.start()
    h.started = True
    assert reads == [2] and h.ex.alive()


def test_an_order_version_mismatch_still_rereads_it_after_such_a_start(harness):  # noqa: F811
    h = harness()
    reads = _counting_versions(h, [2])
    h.ex.start(2)
    h.started = True
    mismatch = RejectedError("HTTP 400: order_version_mismatch", status=400)
    mismatch.version_mismatch = True
    h.rest.post_script = [mismatch, None]
    [report] = h.run(Create((order(1),)), expect=1)
    assert isinstance(report, OrderAccepted)
    assert reads == [2]  # the one read was the re-read after the refusal
