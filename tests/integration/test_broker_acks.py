"""A worker whose Redis goes away while a task runs survives it: the task's message can be
neither acknowledged nor given back, and kombu's Redis channel now says so with the
connection error Celery handles (``portal.celery``), instead of an ``AttributeError`` that
stopped the worker ("Unrecoverable error") and, in CI, left beat's jobs unrun after Redis
came back.

Real kombu against a Redis of the test's own, stopped under it; the channel is left as the
worker leaves it once it has begun closing the lost connection (no pool, and a transport
that no longer knows its connection)."""

import logging

import pytest
import redis
from kombu import Connection, Queue
from kombu.asynchronous import Hub
from kombu.common import ignore_errors

import portal.celery  # noqa: F401 - installs the guard, as every worker does

pytestmark = pytest.mark.redis


@pytest.fixture
def message_in_flight(own_redis):
    """A message taken from a queue and not acknowledged, its Redis then stopped and its
    channel torn down; gives ``(connection, channel, message)``."""
    connection = Connection(own_redis.url)
    channel = connection.channel()
    queue = Queue("acks", channel=channel)
    queue.declare()
    connection.Producer().publish({"job": "audit-seal"}, routing_key="acks")
    message = queue.get(no_ack=False)
    assert message.payload == {"job": "audit-seal"}
    own_redis.stop()
    channel._disconnect_pools()
    channel.connection.client = None
    return connection, channel, message


def test_an_acknowledgement_on_a_lost_connection_leaves_the_event_loop_working(
    message_in_flight, caplog
):
    connection, _, message = message_in_flight
    hub = Hub()
    ran = []
    logger = logging.getLogger("celery.worker.consumer")
    # As the worker does: the acknowledgement waits in the loop beside other pending work.
    hub.call_soon(message.ack_log_error, logger, connection.connection_errors)
    hub.call_soon(ran.append, "other work")
    with caplog.at_level(logging.CRITICAL, logger="celery.worker.consumer"):
        hub.reset()

    assert ran == ["other work"]
    assert hub.poller is not None
    assert "Couldn't ack" in caplog.text
    assert "The connection to Redis was closed." in caplog.text
    assert not message.acknowledged  # Redis hands it out again after the visibility timeout
    hub.close()
    # Closed as the worker closes it, so nothing is left to give back at interpreter exit.
    ignore_errors(connection, connection.release)


def test_closing_the_lost_connection_with_a_message_unacknowledged_is_a_connection_error(
    message_in_flight,
):
    connection, channel, _ = message_in_flight

    # The worker closes its lost connection through ``ignore_errors``, which lets only
    # connection errors pass: the message cannot be given back, and that is one of them.
    with pytest.raises(redis.exceptions.ConnectionError, match="connection to Redis was closed"):
        channel.qos.restore_unacked()
    ignore_errors(connection, channel.close)

    assert channel.closed
