//! The handler called in-process, as the Lambda runtime calls it, with IAM and CloudFormation
//! played by one wiremock server (their exact wire answers: `iam_wire`) and a second one standing
//! in for the presigned ResponseURL. Shared by the replay, trust and hook suites.

use super::cfn::{self, ECS, ECS_ROLE, FUNCTION_ARN, STACK};
use super::iam_wire::*;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use upsert_slr::KnownNames;
use upsert_slr::{Deps, handle};
use wiremock::matchers::body_string_contains;
use wiremock::{MockServer, ResponseTemplate};

/// The Lambda request id of every invocation the harness makes.
pub const LAMBDA_REQUEST_ID: &str = "5f1e0b7a-lambda-request";

pub struct Harness {
    pub iam: MockServer,
    pub s3: MockServer,
    pub settings: Vec<(&'static str, String)>,
    pub deadline: Duration,
    /// One per harness, as in one warm function process.
    pub known_names: KnownNames,
}

impl Harness {
    pub async fn new() -> Self {
        let s3 = MockServer::start().await;
        cfn::mount_response_url(&s3, vec![]).await;
        Harness {
            iam: MockServer::start().await,
            s3,
            settings: Vec::new(),
            deadline: Duration::from_secs(30),
            known_names: KnownNames::default(),
        }
    }

    /// A harness whose function runs with `settings` (name, value) as its environment.
    pub async fn with_settings(settings: &[(&'static str, &str)]) -> Self {
        let mut h = Harness::new().await;
        h.settings
            .extend(settings.iter().map(|(k, v)| (*k, v.to_string())));
        h
    }

    pub fn deps(&self) -> Deps {
        let mut vars = vec![(
            "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES",
            format!("{}/", self.s3.uri()),
        )];
        vars.extend(self.settings.iter().cloned());
        wire_deps(&self.iam.uri(), vars, self.known_names.clone())
    }

    pub fn response_url(&self) -> String {
        cfn::response_url(&self.s3.uri())
    }

    /// The request for `EcsRole`; anything but a Create names the ECS role as its physical id.
    pub fn event(&self, request_type: &str, properties: Value) -> Value {
        cfn::request(request_type, &self.response_url(), properties)
    }

    /// Invokes a Create with `properties`; its answer is read from the ResponseURL.
    pub async fn create(&self, properties: Value) {
        self.invoke(self.event("Create", properties)).await.unwrap();
    }

    pub async fn invoke(&self, event: Value) -> Result<Value, Diagnostic> {
        let mut ctx = Context::default();
        ctx.invoked_function_arn = FUNCTION_ARN.into();
        ctx.request_id = LAMBDA_REQUEST_ID.into();
        ctx.deadline = (SystemTime::now() + self.deadline)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        handle(self.deps(), LambdaEvent::new(event, ctx)).await
    }

    /// The result of an invocation that must not end in a function error, as a hook's never does.
    pub async fn result_of(&self, event: Value) -> Value {
        self.invoke(event)
            .await
            .expect("a hook is always answered with a result, never a function error")
    }

    /// isComplete's answer to onEvent's result for `request`.
    pub async fn is_complete(&self, request: &Value, on_event: &Value) -> Value {
        self.invoke(is_complete_event(request, on_event))
            .await
            .unwrap()
    }

    /// The bodies PUT to the ResponseURL, checking the headers each PUT must carry.
    pub async fn answers(&self) -> Vec<Value> {
        let mut answers = Vec::new();
        for req in self.s3.received_requests().await.unwrap() {
            assert_eq!(req.method.as_str(), "PUT");
            let content_type = req.headers.get("content-type").expect("Content-Type sent");
            assert_eq!(content_type.as_bytes(), b"", "Content-Type must be empty");
            let length: usize = req.headers["content-length"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(length, req.body.len());
            assert!(req.body.len() <= 4096, "{} bytes", req.body.len());
            answers.push(serde_json::from_slice(&req.body).unwrap());
        }
        answers
    }

    /// The one answer CloudFormation would read.
    pub async fn answer(&self) -> Value {
        let answers = self.answers().await;
        assert_eq!(answers.len(), 1, "exactly one answer expected: {answers:?}");
        answers.into_iter().next().unwrap()
    }

    pub async fn iam_actions(&self) -> Vec<String> {
        let calls = bodies(&self.iam).await;
        calls
            .iter()
            .filter_map(|b| action_of(b).map(String::from))
            .collect()
    }

    /// Whether IAM was never asked to create a role.
    pub async fn created_nothing(&self) -> bool {
        !self
            .iam_actions()
            .await
            .contains(&"CreateServiceLinkedRole".to_string())
    }
}

pub fn owned_tags() -> Vec<(&'static str, &'static str)> {
    vec![
        ("upsert-slr:stack-id", STACK),
        ("upsert-slr:logical-id", "EcsRole"),
        ("upsert-slr:request-id", "an-earlier-request"),
    ]
}

/// The isComplete event: the request merged with onEvent's result, as the framework builds it.
pub fn is_complete_event(request: &Value, on_event: &Value) -> Value {
    let mut event = request.clone();
    for (k, v) in on_event.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

// The IAM and CloudFormation answers the replay suites mount most.

/// CloudFormation deleting the stack: what confirms a Delete.
pub async fn mount_stack_deleting(h: &Harness) {
    mount(
        &h.iam,
        "DescribeStacks",
        stack_in(STACK, "DELETE_IN_PROGRESS"),
    )
    .await;
}

/// IAM holding this resource's role, deleting it as task `task_id`, and answering the status
/// polls with `statuses` in turn (the last one from then on), in a stack being deleted.
pub async fn mount_owned_role_deletion(h: &Harness, task_id: &str, statuses: &[ResponseTemplate]) {
    mount_stack_deleting(h).await;
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags())),
    )
    .await;
    action("DeleteServiceLinkedRole")
        .respond_with(ok(
            "DeleteServiceLinkedRole",
            &format!("<DeletionTaskId>{task_id}</DeletionTaskId>"),
        ))
        .expect(1)
        .mount(&h.iam)
        .await;
    for (i, status) in statuses.iter().enumerate() {
        let mock = action("GetServiceLinkedRoleDeletionStatus").respond_with(status.clone());
        let mock = if i + 1 < statuses.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(&h.iam).await;
    }
}

pub fn delete_event(h: &Harness, policy: &str) -> Value {
    h.event(
        "Delete",
        json!({"AWSServiceName": ECS, "RemovalPolicy": policy}),
    )
}

pub const FRAMEWORK_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:app-ProviderframeworkonEvent-1X";

/// A Harness behind CDK's Provider with this function as isComplete handler too.
pub async fn behind_is_complete() -> Harness {
    let mut h = Harness::new().await;
    h.settings.push(("UPSERT_SLR_WAIT", "is-complete".into()));
    h
}

/// IAM creates the ECS role.
pub async fn mount_ecs_created(iam: &MockServer) {
    let role = role_xml(ECS, ECS_ROLE, &[]);
    mount(
        iam,
        "CreateServiceLinkedRole",
        ok("CreateServiceLinkedRole", &role),
    )
    .await;
}

/// IAM saying the ECS role "has been taken", and GetRole showing it as `role` (its XML).
pub async fn mount_taken(h: &Harness, role: &str) {
    mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    action("GetRole")
        .and(body_string_contains("RoleName=AWSServiceRoleForECS"))
        .respond_with(ok("GetRole", role))
        .mount(&h.iam)
        .await;
}

/// IAM no longer knows the deletion task; GetRole then shows the role as `after`.
pub async fn mount_vanished_deletion_task(h: &Harness, after: ResponseTemplate) {
    mount_stack_deleting(h).await;
    action("GetRole")
        .respond_with(ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags())))
        .up_to_n_times(1)
        .mount(&h.iam)
        .await;
    action("GetRole").respond_with(after).mount(&h.iam).await;
    action("DeleteServiceLinkedRole")
        .respond_with(ok(
            "DeleteServiceLinkedRole",
            "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/77aa</DeletionTaskId>",
        ))
        .mount(&h.iam)
        .await;
    action("GetServiceLinkedRoleDeletionStatus")
        .respond_with(error(
            404,
            "NoSuchEntity",
            "Deletion task task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/77aa not found.",
        ))
        .mount(&h.iam)
        .await;
}

pub fn created_by_this_resource() -> ResponseTemplate {
    ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags()))
}

pub fn reason(answer: &Value) -> &str {
    answer["Reason"].as_str().unwrap()
}

pub async fn bodies_of(h: &Harness, action: &str) -> Vec<String> {
    bodies(&h.iam)
        .await
        .into_iter()
        .filter(|b| action_of(b) == Some(action))
        .collect()
}

/// IAM deleting the ECS role as a task ending in `task`, and that task SUCCEEDED when asked.
pub async fn mount_deletion_succeeds(h: &Harness, task: &str) {
    let id = format!(
        "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/{task}</DeletionTaskId>"
    );
    mount(
        &h.iam,
        "DeleteServiceLinkedRole",
        ok("DeleteServiceLinkedRole", &id),
    )
    .await;
    mount_deletion_finished(&h.iam).await;
}

impl Harness {
    /// The ECS role's Create, answered within the harness's deadline: the answer.
    pub async fn create_within_the_deadline(&self) -> Value {
        let started = std::time::Instant::now();
        self.create(cfn::ecs_props()).await;
        assert!(
            started.elapsed() < self.deadline,
            "answered after the deadline"
        );
        self.answer().await
    }

    /// An Update of the ECS role's resource changing only its Description, old words to new.
    pub fn description_update(&self) -> Value {
        let mut event = self.event(
            "Update",
            json!({"AWSServiceName": ECS, "Description": "new words"}),
        );
        event["OldResourceProperties"] = json!({"AWSServiceName": ECS, "Description": "old words"});
        event
    }
}
