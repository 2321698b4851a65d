"""Creates the resources of template.yaml in moto and runs the functions in this process.

Used by the local runtime (moto in server mode) and by the integration tests (moto's in-process
mock): both provision through boto3, so both see what a deployment would create.
"""

import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local.template import (
    ROOT,
    Context,
    function_properties,
    load,
    parameter_defaults,
    resolve,
    resources_of,
)

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ... or ANY
    path: str  # /api/v1/tasks/{id}, /{proxy+}
    function: str  # logical id


@dataclass
class FunctionSpec:
    logical_id: str
    physical_name: str
    handler: str
    code_dir: Path
    memory: int
    timeout: int
    environment: dict[str, str]
    routes: list[Route] = field(default_factory=list)
    s3_events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline + self.timeout_seconds - time.monotonic()) * 1000))


class Stack:
    """template.yaml, resolved for one local stack name."""

    def __init__(self, stack_name: str = "cvat-local", template_path: Path | None = None) -> None:
        self.template = load(template_path) if template_path else load()
        self.context = Context(stack_name, parameters=parameter_defaults(self.template))
        self.functions: dict[str, FunctionSpec] = {}
        self._handlers: dict[str, Handler] = {}
        self._import_lock = threading.Lock()
        self._api_lock = threading.Lock()

    # ------------------------------------------------------------ provisioning

    def provision(self) -> None:
        """Creates everything, in dependency order, through boto3 (moto)."""
        self._create_tables()
        self._create_bucket()
        self._create_user_pool()
        self._create_functions()
        self._create_state_machines()
        self._configure_notifications()

    def environment(self) -> dict[str, str]:
        """The Globals environment: identical for every function, so one process can hold it."""
        variables: dict[str, str] = {}
        for spec in self.functions.values():
            for key, value in spec.environment.items():
                if variables.setdefault(key, value) != value:
                    raise ValueError(f"{key} differs between functions; the local runtime shares one environment")
        return variables

    def _create_tables(self) -> None:
        client = boto3.client("dynamodb")
        for name, resource in resources_of(self.template, "AWS::DynamoDB::Table").items():
            props = resolve(resource["Properties"], self.context)
            table_name = f"{self.context.stack_name}-{name}"
            args: dict[str, Any] = {
                "TableName": table_name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if "GlobalSecondaryIndexes" in props:
                args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            client.create_table(**args)
            if "TimeToLiveSpecification" in props:
                client.update_time_to_live(TableName=table_name,
                                           TimeToLiveSpecification=props["TimeToLiveSpecification"])
            self.context.refs[name] = table_name
            self.context.attributes[(name, "Arn")] = (
                f"arn:aws:dynamodb:{self.context.region}:{self.context.account_id}:table/{table_name}"
            )

    def _create_bucket(self) -> None:
        client = boto3.client("s3")
        for name, resource in resources_of(self.template, "AWS::S3::Bucket").items():
            props = resolve(resource["Properties"], self.context)
            bucket = props["BucketName"]
            client.create_bucket(Bucket=bucket)
            if "CorsConfiguration" in props:
                client.put_bucket_cors(Bucket=bucket, CORSConfiguration=_cors_rules(props["CorsConfiguration"]))  # type: ignore[arg-type]
            self.context.refs[name] = bucket
            self.context.attributes[(name, "Arn")] = f"arn:aws:s3:::{bucket}"

    def _create_user_pool(self) -> None:
        client = boto3.client("cognito-idp")
        for name, resource in resources_of(self.template, "AWS::Cognito::UserPool").items():
            props = resolve(resource["Properties"], self.context)
            pool = client.create_user_pool(
                PoolName=f"{self.context.stack_name}-{name}", Schema=props.get("Schema", []),
                AdminCreateUserConfig=props.get("AdminCreateUserConfig", {}),
            )["UserPool"]
            self.context.refs[name] = pool["Id"]
            self.context.attributes[(name, "Arn")] = pool["Arn"]
        for name, resource in resources_of(self.template, "AWS::Cognito::UserPoolClient").items():
            props = resolve(resource["Properties"], self.context)
            app_client = client.create_user_pool_client(
                UserPoolId=props["UserPoolId"], ClientName=name, GenerateSecret=False,
                ExplicitAuthFlows=props.get("ExplicitAuthFlows", []),
            )["UserPoolClient"]
            self.context.refs[name] = app_client["ClientId"]
        for resource in resources_of(self.template, "AWS::Cognito::UserPoolGroup").values():
            props = resolve(resource["Properties"], self.context)
            client.create_group(UserPoolId=props["UserPoolId"], GroupName=props["GroupName"],
                                Description=props.get("Description", ""))
        for name in resources_of(self.template, "AWS::IAM::ManagedPolicy"):
            self.context.refs[name] = f"arn:aws:iam::{self.context.account_id}:policy/{name}"

    def _create_functions(self) -> None:
        iam = boto3.client("iam")
        role = iam.create_role(
            RoleName=f"{self.context.stack_name}-functions",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]
        client = boto3.client("lambda")
        # Functions first named, so environments may refer to any of them.
        kinds = resources_of(self.template, "AWS::Serverless::Function")
        for name in kinds:
            physical = f"{self.context.stack_name}-{name}"
            self.context.refs[name] = physical
            self.context.attributes[(name, "Arn")] = (
                f"arn:aws:lambda:{self.context.region}:{self.context.account_id}:function:{physical}"
            )
        for name in resources_of(self.template, "AWS::Serverless::StateMachine"):
            props = self.template["Resources"][name]["Properties"]
            machine = resolve(props.get("Name", name), self.context)
            self.context.refs[name] = (
                f"arn:aws:states:{self.context.region}:{self.context.account_id}:stateMachine:{machine}"
            )
        for name in kinds:
            self.functions[name] = spec = self._function_spec(name)
            client.create_function(
                FunctionName=spec.physical_name, Runtime="python3.12", Role=role, Handler=spec.handler,
                Code={"ZipFile": _placeholder_zip()}, Timeout=spec.timeout, MemorySize=spec.memory,
                Environment={"Variables": spec.environment},
            )

    def _function_spec(self, name: str) -> FunctionSpec:
        props = function_properties(self.template, name)
        spec = FunctionSpec(
            logical_id=name,
            physical_name=self.context.refs[name],
            handler=props["Handler"],
            code_dir=ROOT / props["CodeUri"],
            memory=int(resolve(props.get("MemorySize", 128), self.context)),
            timeout=int(props.get("Timeout", 3)),
            environment={k: str(v) for k, v in resolve(
                props.get("Environment", {}).get("Variables", {}), self.context).items()},
        )
        for event in props.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                method = event["Properties"].get("Method", "ANY").upper()
                spec.routes.append(Route("ANY" if method == "ANY" else method, event["Properties"]["Path"], name))
            elif event["Type"] == "S3":
                spec.s3_events.append(event["Properties"])
        return spec

    def _create_state_machines(self) -> None:
        client = boto3.client("stepfunctions")
        for name, resource in resources_of(self.template, "AWS::Serverless::StateMachine").items():
            props = resource["Properties"]
            definition = (ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
            for key, value in resolve(props.get("DefinitionSubstitutions", {}), self.context).items():
                definition = definition.replace("${" + key + "}", str(value))
            client.create_state_machine(
                name=self.context.refs[name].rsplit(":", 1)[1], definition=definition,
                roleArn=f"arn:aws:iam::{self.context.account_id}:role/{self.context.stack_name}-states",
                type=props.get("Type", "STANDARD"),
            )

    def _configure_notifications(self) -> None:
        client = boto3.client("s3")
        per_bucket: dict[str, list[dict[str, Any]]] = {}
        for spec in self.functions.values():
            for event in spec.s3_events:
                bucket = resolve(event["Bucket"], self.context)
                events = event["Events"] if isinstance(event["Events"], list) else [event["Events"]]
                config: dict[str, Any] = {
                    "LambdaFunctionArn": self.context.attributes[(spec.logical_id, "Arn")], "Events": events,
                }
                if "Filter" in event:
                    config["Filter"] = {"Key": {"FilterRules": event["Filter"]["S3Key"]["Rules"]}}
                per_bucket.setdefault(bucket, []).append(config)
        for bucket, configs in per_bucket.items():
            client.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configs},  # type: ignore[typeddict-item]
            )

    # ------------------------------------------------------------ running functions

    @property
    def routes(self) -> list[Route]:
        return [route for spec in self.functions.values() for route in spec.routes]

    def handler(self, logical_id: str) -> Handler:
        with self._import_lock:
            if logical_id not in self._handlers:
                spec = self.functions[logical_id]
                if str(spec.code_dir) not in sys.path:
                    sys.path.insert(0, str(spec.code_dir))
                module_path, _, attribute = spec.handler.rpartition(".")
                module = importlib.import_module(module_path.replace("/", "."))
                self._handlers[logical_id] = getattr(module, attribute)
            return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        spec = self.functions[logical_id]
        context = LambdaContext(
            function_name=spec.physical_name, memory_limit_in_mb=spec.memory, timeout_seconds=spec.timeout,
            invoked_function_arn=self.context.attributes[(logical_id, "Arn")],
        )
        if not spec.routes:
            return self.handler(logical_id)(event, context)
        # A Lambda container runs one request at a time, and Powertools' resolvers keep the
        # current request in a class attribute shared by every resolver of the process: in one
        # process, API requests take turns (the workflow steps still run side by side).
        with self._api_lock:
            return self.handler(logical_id)(event, context)

    def by_physical_name(self, name: str) -> str | None:
        for logical_id, spec in self.functions.items():
            if spec.physical_name == name:
                return logical_id
        return None


def _cors_rules(cloudformation: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's CorsConfiguration in the S3 API's words."""
    renamed = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {"CORSRules": [{renamed.get(k, k): v for k, v in rule.items()} for rule in cloudformation["CorsRules"]]}


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# the local runtime runs the real handlers in-process\n")
    return buffer.getvalue()


# ------------------------------------------------------------------ the moto seam

_active_stack: Stack | None = None


def install_lambda_seam(stack: Stack) -> None:
    """Routes moto's Lambda invocations (from Step Functions and S3 notifications) to the
    handlers of `stack` in this process. moto 5.2 invokes every function through
    `LambdaFunction._invoke_lambda`, which would otherwise start Docker."""
    global _active_stack
    from moto.awslambda.models import LambdaFunction

    _active_stack = stack
    serialize_moto_dynamodb()
    if getattr(LambdaFunction._invoke_lambda, "_cvat_local", False):
        return

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        stack_now = _active_stack
        logical_id = stack_now.by_physical_name(self.function_name) if stack_now else None
        if stack_now is None or logical_id is None:
            return json.dumps({"errorMessage": f"{self.function_name} is not a function of the local stack",
                               "errorType": "ResourceNotFound"}), True, ""
        try:
            result = stack_now.invoke(logical_id, event if isinstance(event, dict) else {})
        except Exception as error:
            payload = {"errorMessage": str(error), "errorType": type(error).__name__,
                       "stackTrace": traceback.format_tb(error.__traceback__)}
            return json.dumps(payload), True, traceback.format_exc()
        return json.dumps(result), False, ""

    _invoke_lambda._cvat_local = True  # type: ignore[attr-defined]
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]


def serialize_moto_dynamodb() -> None:
    """moto's DynamoDB backend is not thread-safe (a query iterates a dict that a concurrent
    write changes), while DynamoDB itself is: one request at a time keeps moto honest. Only
    DynamoDB: its requests never call other services, so the lock cannot be taken twice."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_cvat_serialized", False):
        return
    original = DynamoHandler.call_action
    lock = threading.Lock()

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    call_action._cvat_serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def apply_environment(stack: Stack, endpoint: str | None) -> None:
    """Sets this process's environment as Lambda would see it (plus the moto endpoint)."""
    os.environ.update(stack.environment())
    os.environ.setdefault("AWS_DEFAULT_REGION", stack.context.region)
    os.environ.setdefault("AWS_REGION", stack.context.region)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
