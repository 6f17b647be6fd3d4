variable "zip_path" {
  description = "Path of the release zip, upsert-slr-<version>-<arch>.zip (its bootstrap must match architecture)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function: arm64 or x86_64, as the zip was built."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "name" {
  description = "Name of the function and its log group, and prefix of its role's name (at most 37 characters)."
  type        = string
  default     = "upsert-slr"
}

variable "allowed_services" {
  description = "Service principals the function may create roles for; * matches any run of characters, [\"*\"] allows any service. Enforced by the role's policy and by the function."
  type        = list(string)
  default     = ["*"]

  validation {
    condition     = length(var.allowed_services) > 0 && alltrue([for s in var.allowed_services : can(regex("^[A-Za-z0-9_+=.@*-]+$", s))])
    error_message = "allowed_services: one or more service principals of [A-Za-z0-9_+=.@*-]."
  }
}

variable "timeout_seconds" {
  description = "Lambda timeout (30-900). It bounds a request: a propagation wait or a deletion poll is cut short before it."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout_seconds >= 30 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 30 and 900."
  }
}

variable "log_retention_in_days" {
  description = "Days the function's log group keeps its events."
  type        = number
  default     = 90
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group (its key policy must let this region's logs service use it). Null: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "permissions_boundary" {
  description = "ARN of a managed policy set as the permissions boundary of the function's role. Null: none."
  type        = string
  default     = null
}

variable "tracing" {
  description = "X-Ray tracing: PassThrough (Lambda's default) or Active, which also grants X-Ray's two write calls."
  type        = string
  # The provider refuses any other mode at plan, naming the two.
  default = "PassThrough"
}

variable "tags" {
  description = "Tags for the function, its role and its log group."
  type        = map(string)
  default     = {}
}
