variable "region" {
  description = "Region of the function, the cluster and the service."
  type        = string
}

variable "zip_path" {
  description = "The release zip, upsert-slr-<version>-<arch>.zip."
  type        = string
}

variable "architecture" {
  description = "arm64 or x86_64, as the zip was built."
  type        = string
  default     = "arm64"
}

variable "owner" {
  description = "Stable id of this configuration in the account (its roles' Owner is owner/key)."
  type        = string
  default     = "examples/terraform-ecs"
}

variable "vpc_id" {
  description = "VPC of the service's tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the service's tasks, in the VPC."
  type        = list(string)
}

variable "assign_public_ip" {
  description = "true in public subnets (to pull the image); false in private subnets with a NAT gateway."
  type        = bool
  default     = true
}

variable "image" {
  description = "Container image, listening on port 80."
  type        = string
  default     = "amazon/amazon-ecs-sample"
}
