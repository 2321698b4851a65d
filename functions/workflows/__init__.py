"""The Lambda steps of the CreateTask state machine (statemachines/create_task.asl.json)."""
