//! The IAM calls, with IAM's answers turned into plain types. This is the only module that
//! knows IAM's error codes and texts.

use super::api_error::ApiError;
use aws_sdk_iam::Client;
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{DeletionTaskStatusType, Tag};
use aws_smithy_types::DateTime;
use std::time::{Duration, SystemTime};

const IAM: &str = "iam";

fn sdk_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().map(String::from);
    let message = |fallback: String| err.message().map_or(fallback, String::from);
    match &err {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            // An answer IAM did not word (a proxy, an outage page): its status says enough,
            // the SDK's debug rendering of it would fill the Reason.
            let text = message(format!("unexpected HTTP {status} answer from IAM"));
            ApiError::answered(IAM, operation, status, code, text)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ApiError::unanswered(
                IAM,
                operation,
                message(DisplayErrorContext(&err).to_string()),
            )
        }
        _ => ApiError {
            code,
            ..ApiError::local(
                IAM,
                operation,
                message(DisplayErrorContext(&err).to_string()),
            )
        },
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub path: String,
    pub tags: Vec<(String, String)>,
    /// When the role came into being, whoever created it: IAM's CreateDate, read as the latest
    /// moment it can mean (see `latest_creation`).
    pub created_at: Option<SystemTime>,
}

impl Role {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with(SERVICE_ROLES_PATH)
    }

    /// The service principal whose path the role is under, for a service-linked role.
    pub fn service(&self) -> Option<&str> {
        self.path
            .strip_prefix(SERVICE_ROLES_PATH)?
            .strip_suffix('/')
            .filter(|s| !s.is_empty() && !s.contains('/'))
    }

    fn from_sdk(role: &aws_sdk_iam::types::Role) -> Self {
        Role {
            name: role.role_name().to_string(),
            arn: role.arn().to_string(),
            path: role.path().to_string(),
            tags: role
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            created_at: latest_creation(role.create_date()),
        }
    }
}

/// IAM writes CreateDate in whole seconds: a role stamped 12:00:00 may have been created at
/// 12:00:00.999. Waits measured from the creation must not come up short, so such a date means
/// the end of its second.
fn latest_creation(create_date: &DateTime) -> Option<SystemTime> {
    let stamped = SystemTime::try_from(*create_date).ok()?;
    Some(if create_date.subsec_nanos() == 0 {
        stamped + Duration::from_secs(1)
    } else {
        stamped
    })
}

/// What `CreateServiceLinkedRole` said.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(Role),
    /// The role already exists ("has been taken"). IAM names it in the message; `None` if
    /// the name cannot be read from it.
    Taken {
        name: Option<String>,
    },
    /// `InvalidInput` in other words: a refused suffix, say, or the role existing all the same
    /// under a message IAM has reworded. Only a look at the account tells which.
    Refused(ApiError),
}

const TAKEN_PREFIX: &str = "Service role name ";
const TAKEN_MARK: &str = " has been taken";

pub async fn create_service_linked_role(
    iam: &Client,
    service: &str,
    suffix: Option<&str>,
    description: Option<&str>,
) -> Result<CreateOutcome, ApiError> {
    let sent = iam
        .create_service_linked_role()
        .aws_service_name(service)
        .set_custom_suffix(suffix.map(String::from))
        .set_description(description.map(String::from))
        .send()
        .await;
    match sent {
        Ok(out) => match out.role() {
            Some(role) => Ok(CreateOutcome::Created(Role::from_sdk(role))),
            None => Err(ApiError::local(
                IAM,
                "CreateServiceLinkedRole",
                "IAM answered without the role".into(),
            )),
        },
        Err(err) => {
            let err = sdk_error("CreateServiceLinkedRole", err);
            if !err.is("InvalidInput") {
                Err(err)
            } else if err.message.contains(TAKEN_MARK) {
                Ok(CreateOutcome::Taken {
                    name: taken_role_name(&err.message),
                })
            } else {
                Ok(CreateOutcome::Refused(err))
            }
        }
    }
}

fn taken_role_name(message: &str) -> Option<String> {
    let start = message.find(TAKEN_PREFIX)? + TAKEN_PREFIX.len();
    let end = start + message[start..].find(TAKEN_MARK)?;
    let name = &message[start..end];
    is_role_name(name).then(|| name.to_string())
}

/// IAM's character set for role names, service principals and suffixes: `[\w+=,.@-]`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// IAM's role name pattern: 1-64 of `is_name_char`. A FAILED Create's marker (with ':') is
/// not one, so this is also how a physical id is told apart from that marker.
pub fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(is_name_char)
}

/// Where IAM keeps a service's linked roles.
pub fn service_role_path(service: &str) -> String {
    format!("/aws-service-role/{service}/")
}

/// The role, or `None` when IAM says it does not exist.
pub async fn get_role(iam: &Client, name: &str) -> Result<Option<Role>, ApiError> {
    match iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().map(Role::from_sdk)),
        Err(err) => {
            let err = sdk_error("GetRole", err);
            if err.is("NoSuchEntity") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Where IAM keeps every service-linked role.
pub const SERVICE_ROLES_PATH: &str = "/aws-service-role/";

/// A role as ListRoles shows it: no tags (ListRoles does not return them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub arn: String,
    pub path: String,
}

/// The roles whose path starts with `path_prefix`: one service's (`service_role_path`), or
/// every service-linked role (`SERVICE_ROLES_PATH`). Unlike GetRole, the answer does not depend
/// on whether a role exists, so it tells a missing role from a refused read.
pub async fn list_roles_under(iam: &Client, path_prefix: &str) -> Result<Vec<Listed>, ApiError> {
    let mut roles = Vec::new();
    let mut marker = None;
    loop {
        let out = iam
            .list_roles()
            .path_prefix(path_prefix)
            // IAM's largest page: an account's service-linked roles fit in one.
            .max_items(1000)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| sdk_error("ListRoles", e))?;
        roles.extend(out.roles().iter().map(|r| Listed {
            name: r.role_name().to_string(),
            arn: r.arn().to_string(),
            path: r.path().to_string(),
        }));
        marker = out.marker().map(String::from);
        if !out.is_truncated() || marker.is_none() {
            return Ok(roles);
        }
    }
}

pub async fn tag_role(iam: &Client, name: &str, tags: &[(&str, &str)]) -> Result<(), ApiError> {
    let tags = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::local(IAM, "TagRole", e.to_string()))?;
    iam.tag_role()
        .role_name(name)
        .set_tags(Some(tags))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("TagRole", e))
}

pub async fn update_role_description(
    iam: &Client,
    name: &str,
    description: &str,
) -> Result<(), ApiError> {
    iam.update_role_description()
        .role_name(name)
        .description(description)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("UpdateRoleDescription", e))
}

/// Starts the deletion and returns its task id; `None` when the role is already gone.
pub async fn delete_service_linked_role(
    iam: &Client,
    name: &str,
) -> Result<Option<String>, ApiError> {
    match iam
        .delete_service_linked_role()
        .role_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.deletion_task_id().to_string())),
        Err(err) => {
            let err = sdk_error("DeleteServiceLinkedRole", err);
            if err.is("NoSuchEntity") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum DeletionStatus {
    /// NOT_STARTED or IN_PROGRESS.
    Running,
    Succeeded,
    /// The role is still in use: IAM's reason and, per region, the resources using it.
    Failed {
        reason: Option<String>,
        usage: Vec<(String, Vec<String>)>,
    },
    /// The task is unknown to IAM (it can vanish after finishing).
    NotFound,
}

pub async fn deletion_status(iam: &Client, task_id: &str) -> Result<DeletionStatus, ApiError> {
    let sent = iam
        .get_service_linked_role_deletion_status()
        .deletion_task_id(task_id)
        .send()
        .await;
    let out = match sent {
        Ok(out) => out,
        Err(err) => {
            let err = sdk_error("GetServiceLinkedRoleDeletionStatus", err);
            return if err.is("NoSuchEntity") {
                Ok(DeletionStatus::NotFound)
            } else {
                Err(err)
            };
        }
    };
    Ok(match out.status() {
        DeletionTaskStatusType::Succeeded => DeletionStatus::Succeeded,
        DeletionTaskStatusType::Failed => {
            let failure = out.reason();
            DeletionStatus::Failed {
                reason: failure.and_then(|r| r.reason()).map(String::from),
                usage: failure
                    .map(|r| r.role_usage_list())
                    .unwrap_or_default()
                    .iter()
                    .map(|u| {
                        (
                            u.region().unwrap_or("unknown region").to_string(),
                            u.resources().to_vec(),
                        )
                    })
                    .collect(),
            }
        }
        _ => DeletionStatus::Running,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_message_names_the_role() {
        assert_eq!(
            taken_role_name(
                "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix."
            ),
            Some("AWSServiceRoleForECS".into())
        );
        assert_eq!(
            taken_role_name(
                "Service role name AWSServiceRoleForAutoScaling_team-a has been taken in this account, please try a different suffix."
            ),
            Some("AWSServiceRoleForAutoScaling_team-a".into())
        );
        assert_eq!(taken_role_name("The role has been taken"), None);
        assert_eq!(
            taken_role_name("Service role name not/a/name has been taken"),
            None
        );
    }

    #[test]
    fn role_names_follow_iam_pattern() {
        assert!(is_role_name("AWSServiceRoleForECS"));
        assert!(is_role_name("a+=,.@_-"));
        assert!(!is_role_name(""));
        assert!(!is_role_name("upsert-slr:create-failed:Slr"));
        assert!(!is_role_name(&"a".repeat(65)));
    }

    #[test]
    fn whole_second_create_dates_mean_the_end_of_their_second() {
        let at = |secs: i64, nanos: u32| {
            latest_creation(&DateTime::from_secs_and_nanos(secs, nanos))
                .unwrap()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
        };
        assert_eq!(at(1_795_000_000, 0), Duration::from_secs(1_795_000_001));
        assert_eq!(
            at(1_795_000_000, 419_517_000),
            Duration::new(1_795_000_000, 419_517_000)
        );
    }
}
