data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  any_slr   = "arn:${local.partition}:iam::${local.account}:role/aws-service-role/*"

  # Where what creates, tags, changes or deletes a role may act: every service-linked role
  # when "*" is allowed (it matches any service), otherwise each allowed service's path. Unlike template.yaml, which cannot map
  # a list parameter, the ARNs name this partition and account.
  allowed_slrs = contains(var.allowed_services, "*") ? [local.any_slr] : [
    for s in var.allowed_services : "arn:${local.partition}:iam::${local.account}:role/aws-service-role/${s}/*"
  ]

  # The owners a role's upsert-slr:stack-id tag may name, as in template.yaml: a CloudFormation
  # stack of this account, or "terraform" for a role that an aws_lambda_invocation created (the
  # handler then puts the resource's Owner in upsert-slr:logical-id; no stack id is that word).
  owner_tags = [
    "arn:${local.partition}:cloudformation:*:${local.account}:stack/*",
    "terraform",
  ]
  tag_keys = ["upsert-slr:stack-id", "upsert-slr:logical-id", "upsert-slr:request-id", "upsert-slr:removal-policy"]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "this" {
  # IAM names are global and the function is regional: a prefix lets each region have one.
  name_prefix          = "${var.name}-"
  description          = "upsert-slr function role"
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags

  assume_role_policy = data.aws_iam_policy_document.lambda_assumes.json
}

data "aws_iam_policy_document" "lambda_assumes" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# What the runtime itself needs: writing the function's own log streams (written out rather
# than a managed basic-execution policy, whose logging grant applies to every log group), and
# with active tracing X-Ray's two write calls (which take no resource).
data "aws_iam_policy_document" "runtime" {
  statement {
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # The provider's arn has no ":*" (CloudFormation's has): streams need it to match.
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.tracing == "Active" ? ["xray"] : []
    content {
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

# template.yaml's seven statements (docs/configuration.md): create the allowed services'
# roles, mark a role just created as this tool's, change or delete only roles so marked, and
# read what those decisions need. Whoever may invoke the function can do this and no more.
resource "aws_iam_role_policy" "service_linked_roles" {
  name = "service-linked-roles"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CreateAllowedServiceLinkedRoles"
        Effect    = "Allow"
        Action    = "iam:CreateServiceLinkedRole"
        Resource  = local.allowed_slrs
        Condition = { StringLike = { "iam:AWSServiceName" = var.allowed_services } }
      },
      {
        # Any service's role, allowed or not: OpenSearch adopts Elasticsearch's legacy role,
        # and a deletion is followed through its status.
        Sid      = "ReadServiceLinkedRoles"
        Effect   = "Allow"
        Action   = ["iam:GetRole", "iam:GetServiceLinkedRoleDeletionStatus"]
        Resource = local.any_slr
      },
      {
        # CreateServiceLinkedRole takes no tags: the role is marked right after, with this
        # tool's keys only, and never once it carries them.
        Sid      = "MarkCreatedServiceLinkedRoles"
        Effect   = "Allow"
        Action   = "iam:TagRole"
        Resource = local.allowed_slrs
        Condition = {
          "ForAllValues:StringEquals" = { "aws:TagKeys" = local.tag_keys }
          "Null"                      = { "aws:ResourceTag/upsert-slr:stack-id" = "true" }
        }
      },
      {
        Sid       = "ChangeOwnServiceLinkedRoles"
        Effect    = "Allow"
        Action    = ["iam:UpdateRoleDescription", "iam:DeleteServiceLinkedRole"]
        Resource  = local.allowed_slrs
        Condition = { StringLike = { "aws:ResourceTag/upsert-slr:stack-id" = local.owner_tags } }
      },
      {
        # An owner's update rewrites this one tag when its removal policy changes.
        Sid      = "RecordRemovalPolicyOfOwnServiceLinkedRoles"
        Effect   = "Allow"
        Action   = "iam:TagRole"
        Resource = local.allowed_slrs
        Condition = {
          "ForAllValues:StringEquals" = { "aws:TagKeys" = ["upsert-slr:removal-policy"] }
          StringLike                  = { "aws:ResourceTag/upsert-slr:stack-id" = local.owner_tags }
        }
      },
      {
        # IAM judges a name that matches no role against an ARN without the service's path,
        # which the read statement does not reach: ListRoles tells missing from refused, and
        # cannot be limited to a path.
        Sid      = "FindExistingServiceLinkedRole"
        Effect   = "Allow"
        Action   = "iam:ListRoles"
        Resource = "*"
      },
      {
        # Before a CloudFormation resource's role is deleted, whether CloudFormation itself is
        # deleting it. Reads only, of this account's stacks; Terraform's deletes ask nothing.
        Sid      = "ReadOwnStacks"
        Effect   = "Allow"
        Action   = ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"]
        Resource = "arn:${local.partition}:cloudformation:*:${local.account}:stack/*/*"
      },
    ]
  })
}

resource "aws_lambda_function" "this" {
  function_name    = var.name
  description      = "Custom::ServiceLinkedRole - creates or adopts IAM service-linked roles"
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = [var.architecture]
  memory_size      = 128
  timeout          = var.timeout_seconds
  role             = aws_iam_role.this.arn
  tags             = var.tags

  tracing_config {
    mode = var.tracing
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  environment {
    variables = {
      UPSERT_SLR_ALLOWED_SERVICES = join(",", var.allowed_services)
      # Lambda does not tell a function its timeout.
      UPSERT_SLR_FUNCTION_TIMEOUT = tostring(var.timeout_seconds)
    }
  }

  # The invocations that use the function depend on it: so the grants exist before the
  # first one and outlive the last, a destroy's deletes included.
  depends_on = [aws_iam_role_policy.runtime, aws_iam_role_policy.service_linked_roles]
}
