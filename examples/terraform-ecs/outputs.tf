output "ecs_service_linked_role_arn" {
  value = module.service_linked_roles.role_arns["ecs"]
}

output "ecs_service_linked_role_created" {
  description = "true when this configuration created the role, false when it adopted it."
  value       = module.service_linked_roles.roles["ecs"].created
}

output "cluster_name" {
  value = aws_ecs_cluster.this.name
}
