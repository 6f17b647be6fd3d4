module "function" {
  source = "./modules/function"
  count  = var.function_name == null ? 1 : 0

  zip_path             = var.zip_path
  architecture         = var.architecture
  name                 = var.name
  allowed_services     = coalesce(var.allowed_services, distinct([for s in values(var.services) : s.service]))
  timeout_seconds      = var.timeout_seconds
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

locals {
  # From the module's output, so that every invocation comes after the function and its
  # grants, and a destroy's deletes before them.
  function_name = var.function_name != null ? var.function_name : module.function[0].function_name
}

# One role per entry. CRUD: the function is invoked on create, update and destroy, with the
# provider's "tf" key ({action, prev_input}) added to the input.
resource "aws_lambda_invocation" "role" {
  for_each = var.services

  function_name   = local.function_name
  lifecycle_scope = "CRUD"

  # The custom resource's property names; absent rather than null when not given.
  input = jsonencode({ for k, v in {
    AWSServiceName         = each.value.service
    CustomSuffix           = each.value.suffix
    Description            = each.value.description
    RemovalPolicy          = each.value.removal_policy
    PropagationWaitSeconds = each.value.propagation_wait_seconds
    Owner                  = var.owner == null ? null : "${var.owner}/${each.key}"
  } : k => v if v != null })

  # Another service or suffix is another role: replaced, so its own destroy runs (first) for
  # the old role and a create for the new one, as CloudFormation's replacement does. Case is
  # ignored, as IAM ignores it in names.
  triggers = {
    role = lower(join("/", compact([each.value.service, each.value.suffix])))
  }

  lifecycle {
    precondition {
      condition     = var.function_name != null || var.zip_path != null
      error_message = "Give function_name (a deployed upsert-slr function) or zip_path (the release zip to deploy)."
    }
    precondition {
      condition     = var.owner != null || lower(each.value.removal_policy) != "delete"
      error_message = "removal_policy Delete needs owner: without an Owner the function never deletes a role."
    }
  }
}

locals {
  results = { for k, r in aws_lambda_invocation.role : k => jsondecode(r.result) }
}
