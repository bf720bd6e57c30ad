"""The web app and the production worker meet on the same Temporal server and task queue."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from supplychain.temporal import connect
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory


def test_portal_health_sees_temporal_and_the_worker_polls_its_queue(
    portal_client: ClientFactory, portal_worker: WorkerThread
) -> None:
    response = portal_client().get("/healthz")
    assert response.json() == {"database": "ok", "temporal": "ok"}

    async def pollers() -> int:
        client: Client = await connect(portal_worker.address)
        for _ in range(50):
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=portal_worker.task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
                )
            )
            if described.pollers:
                return len(described.pollers)
            await asyncio.sleep(0.2)
        return 0

    assert asyncio.run(pollers()) >= 1
