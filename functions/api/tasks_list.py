"""GET /api/v1/tasks: the tasks the caller may see, paginated, searched, filtered and ordered
(spec §3.2)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from apigw.app import base_url, create_app, lambda_handler, principal, query
from apigw.docs import answers
from shared import tasks
from shared.schemas import TaskPage

app = create_app()
Text = Annotated[str | None, Query()]


@app.get("/api/v1/tasks", responses=answers(200, TaskPage, "A page of tasks"), tags=["tasks"])
def list_tasks(page: Text = None, page_size: Text = None, search: Text = None, ordering: Text = None,
               id: Text = None, name: Text = None, owner: Text = None, assignee: Text = None,
               mode: Text = None, status: Text = None, project: Text = None,
               project_id: Text = None) -> dict[str, Any]:
    return tasks.list_tasks(principal(app), query(app), base_url(app))


handler = lambda_handler(app)
