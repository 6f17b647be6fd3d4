output "roles" {
  description = "Per key: the role's name, ARN, and whether this entry created it (false: adopted)."
  value = { for k, r in local.results : k => {
    name    = r.RoleName
    arn     = r.Arn
    created = tostring(r.Created) == "true"
  } }
}

output "role_arns" {
  description = "Per key: the role's ARN."
  value       = { for k, r in local.results : k => r.Arn }
}

output "role_names" {
  description = "Per key: the role's name (e.g. AWSServiceRoleForECS)."
  value       = { for k, r in local.results : k => r.RoleName }
}

output "function_name" {
  description = "The function that upserts the roles (given, or deployed by this module)."
  value       = local.function_name
}
