"""Administration of a deployed stack from a workstation with AWS credentials:

    python -m local.admin --stack cvat create-user alice 'Passw0rd!' --group user

Users live in the stack's Cognito user pool; their integer ids come from its counters table,
so create them here (or through the API) rather than in the Cognito console alone."""

import argparse
import os
import sys

import boto3

from shared.users import ROLES


def _point_at(stack: str) -> None:
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in boto3.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    }
    os.environ.update({
        "TASKS_TABLE": resources["TasksTable"],
        "JOBS_TABLE": resources["JobsTable"],
        "ANNOTATIONS_TABLE": resources["AnnotationsTable"],
        "COUNTERS_TABLE": resources["CountersTable"],
        "SESSIONS_TABLE": resources["SessionsTable"],
        "IDEMPOTENCY_TABLE": resources["IdempotencyTable"],
        "MEDIA_BUCKET": resources["MediaBucket"],
        "USER_POOL_ID": resources["UserPool"],
        "USER_POOL_CLIENT_ID": resources["UserPoolClient"],
        "CREATE_TASK_STATE_MACHINE_ARN": resources["CreateTaskStateMachine"],
        "APPLY_ANNOTATIONS_STATE_MACHINE_ARN": resources["ApplyAnnotationsStateMachine"],
        "EXPORT_STATE_MACHINE_ARN": resources["ExportStateMachine"],
        "IMPORT_STATE_MACHINE_ARN": resources["ImportStateMachine"],
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="the CloudFormation stack name")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="a user with a password and role groups")
    create.add_argument("username")
    create.add_argument("password")
    create.add_argument("--email", default="")
    create.add_argument("--group", action="append", choices=ROLES, default=[])
    args = parser.parse_args(argv)
    _point_at(args.stack)
    from shared import users

    user = users.create_user(args.username, args.password, email=args.email, groups=tuple(args.group))
    print(f"created {user.username} (id {user.id}, groups: {', '.join(user.groups) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
