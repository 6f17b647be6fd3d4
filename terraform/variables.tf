variable "services" {
  description = "Service-linked roles to upsert, keyed by a name that stays the same for the role's life (a new key is a new owner)."
  type = map(object({
    service                  = string
    suffix                   = optional(string)
    description              = optional(string)
    removal_policy           = optional(string, "Retain")
    propagation_wait_seconds = optional(number)
  }))

  validation {
    condition     = alltrue([for k, s in var.services : can(regex("^[A-Za-z0-9_.:=+@-]{1,50}$", k)) && can(regex("^[A-Za-z0-9_+=,.@-]{1,128}$", s.service))])
    error_message = "services: keys of 1-50 of [A-Za-z0-9_.:=+@-]; service a principal of 1-128 of [A-Za-z0-9_+=,.@-], e.g. ecs.amazonaws.com."
  }

  validation {
    condition     = alltrue([for s in var.services : s.suffix == null || can(regex("^[A-Za-z0-9_+=,.@-]{1,64}$", s.suffix))])
    error_message = "services: suffix is 1-64 of [A-Za-z0-9_+=,.@-] (and only some services accept one)."
  }

  validation {
    condition     = alltrue([for s in var.services : contains(["retain", "delete"], lower(s.removal_policy))])
    error_message = "services: removal_policy is Retain or Delete."
  }

  validation {
    condition     = alltrue([for s in var.services : s.propagation_wait_seconds == null || (coalesce(s.propagation_wait_seconds, 0) >= 0 && coalesce(s.propagation_wait_seconds, 0) <= 900)])
    error_message = "services: propagation_wait_seconds is 0-900 (default 60)."
  }
}

variable "owner" {
  description = "Stable id of this configuration, unique in the account (e.g. its state key): each role's Owner is owner/key. Null: no owner, and no role is ever deleted."
  type        = string
  default     = null

  validation {
    condition     = var.owner == null || can(regex("^[A-Za-z0-9_.:/=+@-]{1,200}$", coalesce(var.owner, "-")))
    error_message = "owner: 1-200 of [A-Za-z0-9_.:/=+@-] (it becomes a tag value)."
  }
}

variable "function_name" {
  description = "Name or ARN of an upsert-slr function deployed elsewhere (modules/function). Null: this module deploys one from zip_path."
  type        = string
  default     = null
}

variable "zip_path" {
  description = "Release zip to deploy when function_name is null."
  type        = string
  default     = null
}

variable "architecture" {
  description = "arm64 or x86_64, as the zip was built."
  type        = string
  default     = "arm64"
}

variable "allowed_services" {
  description = "Services the deployed function may create roles for. Null: those of services."
  type        = list(string)
  default     = null
}

variable "name" {
  description = "Name of the deployed function."
  type        = string
  default     = "upsert-slr"
}

variable "timeout_seconds" {
  description = "Timeout of the deployed function (30-900); above the longest propagation wait."
  type        = number
  default     = 300
}

variable "permissions_boundary" {
  description = "Permissions boundary of the deployed function's role. Null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the deployed function, its role and its log group."
  type        = map(string)
  default     = {}
}
