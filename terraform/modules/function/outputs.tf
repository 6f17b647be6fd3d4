output "function_name" {
  description = "Name of the function, for the root module's function_name in other configurations."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function; also a ServiceToken for Custom::ServiceLinkedRole in CloudFormation."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Log group of the function (JSON lines, one per event)."
  value       = aws_cloudwatch_log_group.this.name
}
